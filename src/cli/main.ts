import { HighrateError } from '../errors/catalogue.js';


const HELP = `
Usage: highrate COMMAND [options]

The analysis facility in a box: notebooks, Dask clusters and executors for high-rate analysis.

Commands:
  up          start the platform (hub, proxy, embedded login) on this machine
  down        stop the platform: clusters, servers, proxy, storage element, hub (\`highrate down --help\`)
  cluster     create, list, scale, adapt and stop Dask clusters (\`highrate cluster --help\`)
  data        search Rucio, see replicas, make data available here (\`highrate data --help\`)
  token       issue an API token for a user (\`highrate token issue USER\`)
  user        manage accounts of the embedded identity provider
  config      check a config file, print the config reference
  proxy       run the proxy alone (configurable-http-proxy compatible)
  plugin      serve an executor as an interLink plugin (\`highrate plugin serve\`)
  workloads   list the pods the hub runs for you (servers, cluster pods)
  logs        print a workload's log (\`highrate logs UID --follow\`)
  backup      write the platform's state (store, keys, secrets, config) into one archive
  restore     restore such an archive into a new data directory

Run \`highrate COMMAND --help\` for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;

/** Commands load on demand: a CLI call pays only for its own command, not for the whole hub. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => (await import('./up-bundle.js')).loadUp(),
  down: async () => (await import('./down.js')).down,
  token: async () => (await import('./token.js')).token,
  user: async () => (await import('./user.js')).user,
  config: async () => (await import('./config.js')).config,
  proxy: async () => (await import('./proxy.js')).proxy,
  plugin: async () => (await import('./plugin.js')).plugin,
  workloads: async () => (await import('./workloads.js')).workloads,
  logs: async () => (await import('./logs.js')).logs,
  cluster: async () => (await import('./cluster.js')).cluster,
  data: async () => (await import('./data.js')).data,
  backup: async () => (await import('./backup.js')).backup,
  restore: async () => (await import('./restore.js')).restore,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP.trimStart());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    const { packageVersion } = await import('../platform/start.js');
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const load = COMMANDS[cmd];
  if (!load) {
    process.stderr.write(`Unknown command: ${cmd}\n${HELP}`);
    return 2;
  }
  try {
    const run = await load();
    return await run(rest);
  } catch (err) {
    // By name too: the bundled `highrate up` (up-bundle.ts) has its own copy of the class.
    if (err instanceof HighrateError || (err as Error)?.name === 'HighrateError' || (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`highrate ${cmd}: ${(err as Error).message}\n`);
      return (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS') ? 2 : 1;
    }
    throw err;
  }
}
