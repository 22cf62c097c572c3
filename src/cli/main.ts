import { HighrateError } from '../errors/catalogue.js';
import { config } from './config.js';
import { plugin } from './plugin.js';
import { proxy } from './proxy.js';
import { token } from './token.js';
import { up } from './up.js';
import { user } from './user.js';

const HELP = `
Usage: highrate COMMAND [options]

The analysis facility in a box: notebooks, Dask clusters and executors for high-rate analysis.

Commands:
  up          start the platform (hub, proxy, embedded login) on this machine
  token       issue an API token for a user (\`highrate token issue USER\`)
  user        manage accounts of the embedded identity provider
  config      check a config file, print the config reference
  proxy       run the proxy alone (configurable-http-proxy compatible)
  plugin      serve an executor as an interLink plugin (\`highrate plugin serve\`)

Run \`highrate COMMAND --help\` for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { up, token, user, config, proxy, plugin };

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP.trimStart());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    const { packageVersion } = await import('../hub/app.js');
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`Unknown command: ${cmd}\n${HELP}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof HighrateError || (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`highrate ${cmd}: ${(err as Error).message}\n`);
      return (err as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS') ? 2 : 1;
    }
    throw err;
  }
}
