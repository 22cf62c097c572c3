import { parseArgs } from 'node:util';
import { formatState } from '../contracts/format.js';
import { fail } from '../errors/catalogue.js';
import { usage } from './common.js';

const HELP = `
Usage: highrate workloads [options]

Lists the pods the hub tracks that you may see (admins: all): servers and cluster pods, with
owner, role, executor, state and containers. The UID is what \`highrate logs\` takes.

Options:
  --url URL       where the platform is (default $HIGHRATE_URL, else http://127.0.0.1:8000)
  --token TOKEN   an API token (default $HIGHRATE_TOKEN; \`highrate token issue USER\` makes one)
  --json          print the API's JSON instead of a table
  -h, --help      this help
`;

/** Flags of the commands that call the hub API as a client. */
export const CLIENT_FLAGS = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The hub's base URL and the token, from flags or the environment. */
export function clientTarget(v: { url?: string; token?: string }): { base: string; token: string } {
  const base = (v.url ?? process.env.HIGHRATE_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
  const token = v.token ?? process.env.HIGHRATE_TOKEN;
  if (!token) throw fail('UNAUTHENTICATED', 'An API token is needed: --token TOKEN or HIGHRATE_TOKEN (make one with `highrate token issue USER`).');
  try {
    new URL(base);
  } catch {
    throw fail('BAD_REQUEST', `--url ${base} is not a URL.`);
  }
  return { base, token };
}

/** A GET to the hub API; a non-200 answer becomes an error with the API's message. */
export async function apiGet(base: string, token: string, path: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(base + path, { headers: { authorization: `token ${token}`, accept: 'application/json' }, signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw fail('UPSTREAM_UNAVAILABLE', `The hub at ${base} is not reachable: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}.`);
  }
  if (res.status !== 200) {
    const text = await res.text();
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch { /* not JSON */ }
    throw fail('BAD_REQUEST', `${message} (HTTP ${res.status})`);
  }
  return res;
}

interface Workload {
  uid: string; owner: string; role: string; name: string; executor: string; state: string;
  containers: { name: string; init: boolean; state: string; reason?: string; exitCode?: number }[];
  statusError?: string;
}

function containersText(w: Workload): string {
  if (!w.containers.length) return w.statusError ? `? (${w.statusError})` : '-';
  return w.containers.map((c) => `${c.init ? 'init:' : ''}${c.name}=${c.state}${c.state === 'terminated' ? `(${c.exitCode})` : c.reason ? `(${c.reason})` : ''}`).join(' ');
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** `highrate workloads`. */
export async function workloads(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: { ...CLIENT_FLAGS, json: { type: 'boolean' } } });
  if (values.help) return usage(HELP);
  const { base, token } = clientTarget(values);
  const body = (await (await apiGet(base, token, '/hub/api/workloads')).json()) as { workloads: Workload[] };
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n');
    return 0;
  }
  if (!body.workloads.length) {
    process.stdout.write('No workloads.\n');
    return 0;
  }
  const rows = [['UID', 'OWNER', 'ROLE', 'NAME', 'EXECUTOR', 'STATE', 'CONTAINERS']];
  for (const w of body.workloads) rows.push([w.uid, w.owner, w.role, w.name || '(default)', w.executor, formatState(w.state), containersText(w)]);
  process.stdout.write(table(rows));
  return 0;
}
