import { parseArgs } from 'node:util';
import { fail } from '../errors/catalogue.js';
import { usage } from './common.js';
import { apiGet, clientTarget, CLIENT_FLAGS } from './workloads.js';

const HELP = `
Usage: highrate logs UID [options]

Prints a workload's log (see \`highrate workloads\` for UIDs): its first container's, or
--container's. Reading logs needs access to the workload (owner or admin).

Options:
  -f, --follow         keep printing as the container writes, until it ends (Ctrl-C stops)
  --tail N             only the last N lines
  -c, --container C    the container (default: the workload's first)
  --url URL            where the platform is (default $HIGHRATE_URL, else http://127.0.0.1:8000)
  --token TOKEN        an API token (default $HIGHRATE_TOKEN)
  -h, --help           this help
`;

/** `highrate logs UID`. */
export async function logs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { ...CLIENT_FLAGS, follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' }, container: { type: 'string', short: 'c' } },
  });
  if (values.help) return usage(HELP);
  if (positionals.length !== 1) {
    usage(HELP);
    return 2;
  }
  const { base, token } = clientTarget(values);
  const q = new URLSearchParams();
  if (values.tail !== undefined) {
    if (!/^\d+$/.test(values.tail)) throw fail('BAD_REQUEST', '--tail must be a number of lines.');
    q.set('tail', values.tail);
  }
  if (values.follow) q.set('follow', '1');
  if (values.container) q.set('container', values.container);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await apiGet(base, token, `/hub/api/workloads/${encodeURIComponent(positionals[0]!)}/logs${q.size ? `?${q}` : ''}`, ac.signal);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
    }
    return 0;
  } catch (err) {
    // Ctrl-C while following is how following ends.
    if (ac.signal.aborted) return 0;
    throw err;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
