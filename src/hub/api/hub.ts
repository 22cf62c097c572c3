import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { RequestContext } from '../request.js';
import { JUPYTERHUB_API_VERSION } from './misc.js';

const READ_HUB = needsScope('read:hub');
const SHUTDOWN = needsScope('shutdown');

/**
 * `GET /hub/api/info`: JupyterHub's keys with highrate's equivalents. The runtime is Node.js, not
 * Python: `python` names it (a string, as the key's clients expect), `sys_executable` is node's path.
 * The "spawner" is the executor servers start on by default; the authenticator, the login kind.
 */
async function info(ctx: RequestContext): Promise<void> {
  await ctx.require(READ_HUB);
  const { config, version } = ctx.hub;
  const executors = config.executors.map((e) => ({ name: e.name, kind: e.kind }));
  const defaultProfile = config.profiles.find((p) => p.default) ?? config.profiles[0];
  const spawnerKind = executors.find((e) => e.name === defaultProfile?.executor)?.kind ?? executors[0]?.kind ?? 'none';
  sendJson(ctx.res, 200, {
    version: JUPYTERHUB_API_VERSION,
    python: `Node.js ${process.version} (${process.platform}-${process.arch})`,
    sys_executable: process.execPath,
    spawner: { class: `highrate.executors.${spawnerKind}`, version },
    authenticator: { class: `highrate.auth.${config.auth.kind}`, version },
    highrate: { version, node: process.version, executors, auth: config.auth.kind },
  });
}

/**
 * `POST /hub/api/shutdown` `{proxy?, servers?}` → 202, then the hub stops. Unlike JupyterHub (whose
 * defaults, cleanup_proxy and cleanup_servers, are true), both default to false: highrate's proxy
 * and servers outlive the hub by design, and `highrate up` re-attaches to them.
 */
async function shutdown(ctx: RequestContext): Promise<void> {
  await ctx.require(SHUTDOWN);
  const body = await ctx.jsonObject();
  const unknown = Object.keys(body ?? {}).filter((k) => k !== 'proxy' && k !== 'servers');
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}. Only proxy and servers are read.`);
  const opts = { proxy: false, servers: false };
  for (const key of ['proxy', 'servers'] as const) {
    const value = body?.[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw fail('BAD_REQUEST', `${key} must be true or false, got ${String(JSON.stringify(value)).slice(0, 40)}.`);
    opts[key] = value;
  }
  const stop = ctx.hub.shutdown;
  if (!stop) throw fail('NOT_SUPPORTED', 'This hub cannot be shut down through the API; stop the `highrate up` process (SIGTERM) instead.');
  await ctx.audit({ action: 'hub.shutdown', target: 'hub', detail: opts });
  // The answer goes out first: the shutdown closes this very connection.
  ctx.res.once('finish', () => setImmediate(() => stop(opts)));
  sendJson(ctx.res, 202, { message: 'Shutting down Hub' });
}

export function registerHubRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/info', info);
  r.add('POST', '/hub/api/shutdown', shutdown);
}
