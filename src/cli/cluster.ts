import { parseArgs } from 'node:util';
import { fail } from '../errors/catalogue.js';
import { formatCores, formatMemory, formatState } from '../contracts/format.js';
import { resolveClusterName } from './cluster-name.js';
import { usage } from './common.js';
import { callHub, HUB_CLIENT_OPTIONS, hubContext } from './hub-client.js';

const HELP = `
Usage: highrate cluster COMMAND [options]

Dask clusters on a running platform, through its REST API (what the portal's Clusters page and
dask-gateway clients use).

Commands:
  list                     your active clusters (--all: every status; admins --everyone)
  create                   a new cluster; prints its name as the last line
      --worker-cores N  --worker-memory SIZE  --worker-executor NAME  --max-workers N  --image IMAGE
      --workers N          start with N workers
      --wait               wait until it runs (start progress on stderr)
  show NAME                one cluster (JSON), with its scheduler address
  scale NAME N             N workers (switches adaptive off)
  adapt NAME --min N --max M
                           adaptive scaling between N and M workers (--off: back to a fixed count)
  stop NAME                shut it down

NAME is a cluster's full name or any unique prefix of it (at least 4 characters), such as the
12 characters a narrow table shows.

Options:
${HUB_CLIENT_OPTIONS}
`;


function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw fail('BAD_REQUEST', `${what} must be a non-negative integer, got ${JSON.stringify(v)}.`);
  return n;
}

function workersText(c: any): string {
  if (c.status === 'STOPPED' || c.status === 'FAILED') return 'no workers';
  const w = c.workers;
  const want = c.adaptive ? `adaptive ${c.adaptive.minimum}-${c.adaptive.maximum}` : `${w.requested} wanted`;
  return `${w.running} running, ${w.starting} starting (${want})`;
}

/** `highrate cluster …`: list, create, show, scale, adapt, stop. */
export async function cluster(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      all: { type: 'boolean' }, everyone: { type: 'boolean' }, wait: { type: 'boolean' }, off: { type: 'boolean' },
      'worker-cores': { type: 'string' }, 'worker-memory': { type: 'string' }, 'worker-executor': { type: 'string' },
      'max-workers': { type: 'string' }, image: { type: 'string' }, workers: { type: 'string' },
      min: { type: 'string' }, max: { type: 'string' },
    },
  });
  const [cmd, ...args] = positionals;
  if (values.help || !cmd) {
    usage(HELP);
    return values.help ? 0 : 2;
  }
  const ctx = hubContext(values);
  const out = (line: string) => process.stdout.write(line + '\n');
  /** The full name of the cluster args[0] names, whole or by a unique prefix. */
  const needName = async () => {
    const typed = args[0];
    if (!typed) throw fail('BAD_REQUEST', `highrate cluster ${cmd} needs a cluster name.`);
    const { clusters } = await callHub(ctx, 'GET', '/hub/api/clusters?all=1');
    return encodeURIComponent(resolveClusterName(typed, clusters));
  };

  switch (cmd) {
    case 'list': {
      const status = values.all ? '' : '&status=PENDING,RUNNING,STOPPING';
      const data = await callHub(ctx, 'GET', `/hub/api/clusters?all=${values.everyone ? 1 : 0}${status}`);
      if (ctx.json) return out(JSON.stringify(data, null, 2)), 0;
      if (data.clusters.length === 0) return out('No clusters.'), 0;
      for (const c of data.clusters) out(`${c.name}  ${formatState(c.status).padEnd(8)}  ${c.user}  ${workersText(c)}  ${formatCores(c.worker_cores)} × ${formatMemory(c.worker_memory)} on ${c.worker_executor}`);
      return 0;
    }
    case 'create': {
      const options: Record<string, unknown> = {};
      if (values['worker-cores'] !== undefined) options.worker_cores = int(values['worker-cores'], '--worker-cores');
      if (values['worker-memory'] !== undefined) options.worker_memory = values['worker-memory'];
      if (values['worker-executor'] !== undefined) options.worker_executor = values['worker-executor'];
      if (values['max-workers'] !== undefined) options.max_workers = int(values['max-workers'], '--max-workers');
      if (values.image !== undefined) options.image = values.image;
      const workers = int(values.workers, '--workers') ?? 0;
      let c = await callHub(ctx, 'POST', '/hub/api/clusters', { cluster_options: options, workers });
      if (!ctx.json) for (const w of c.warnings ?? []) process.stderr.write(`Warning: ${w}\n`);
      if (values.wait) {
        let last = '';
        while (c.status === 'PENDING') {
          await new Promise((r) => setTimeout(r, 300));
          c = await callHub(ctx, 'GET', `/hub/api/clusters/${c.name}`);
          const line = `${formatState(c.status)}: ${workersText(c)}`;
          if (line !== last) process.stderr.write(line + '\n');
          last = line;
        }
        if (c.status !== 'RUNNING') throw fail('BAD_REQUEST', `Cluster ${c.name} ${c.status.toLowerCase()}: ${c.failure ?? 'no reason given'}`);
        // The same link dask-gateway's client shows: the scheduler's dashboard, or the portal's.
        if (!ctx.json) process.stderr.write(`Dashboard: ${ctx.url}/clusters/${c.name}/status\n`);
      }
      if (ctx.json) out(JSON.stringify(c, null, 2));
      else out(c.name);
      return 0;
    }
    case 'show': {
      const c = await callHub(ctx, 'GET', `/hub/api/clusters/${await needName()}`);
      out(JSON.stringify(c, null, 2));
      return 0;
    }
    case 'scale': {
      const n = int(args[1], 'the worker count');
      if (n === undefined) throw fail('BAD_REQUEST', 'highrate cluster scale NAME N');
      const r = await callHub(ctx, 'POST', `/hub/api/clusters/${await needName()}/scale`, { count: n });
      out(ctx.json ? JSON.stringify(r) : (r.msg ?? `Scaling to ${n} worker${n === 1 ? '' : 's'}.`));
      if (!ctx.json) for (const w of r.warnings ?? []) process.stderr.write(`Warning: ${w}\n`);
      return 0;
    }
    case 'adapt': {
      const name = await needName();
      const body = values.off ? { active: false } : { minimum: int(values.min, '--min') ?? 0, maximum: int(values.max, '--max') ?? null, active: true };
      const r = await callHub(ctx, 'POST', `/hub/api/clusters/${name}/adapt`, body);
      out(ctx.json ? JSON.stringify(r) : (r.msg ?? (values.off ? 'Adaptive scaling off.' : `Adaptive between ${body.minimum} and ${body.maximum ?? 'the cluster maximum'} workers.`)));
      return 0;
    }
    case 'stop': {
      const name = await needName();
      await callHub(ctx, 'DELETE', `/hub/api/clusters/${name}`);
      out(`Stopped ${decodeURIComponent(name)}.`);
      return 0;
    }
    default:
      process.stderr.write(`Unknown cluster command: ${cmd}\n${HELP}`);
      return 2;
  }
}
