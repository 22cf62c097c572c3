import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { serverWarnings } from '../servers/capacity.js';
import { serverModel } from '../models.js';
import { checkServerName, checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';

const START = needsScope('start:servers');
const DELETE = needsScope('delete:servers');
const READ = needsScope('read:servers');

function target(params: Record<string, string>) {
  return { user: checkUsername(params.name!), server: checkServerName(params.server ?? '') };
}

/**
 * `POST /hub/api/users/{name}/server` and `/servers/{server}`: 201 when ready, 202 while starting
 * (JupyterHub answers the same). The body is the user options, or `{user_options: {...}}`.
 * `/servers/` with an empty name is the default server, as JupyterHub's routes allow.
 */
async function startServer(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const t = target(params);
  const user = await ctx.hub.store.getUser(t.user);
  await ctx.require(START, { ...t, groups: user?.groups });
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${t.user}`);
  if (user.blocked) throw fail('FORBIDDEN', `${t.user} is blocked.`);
  const body = await ctx.jsonObject();
  const state = await ctx.hub.servers.start(user, t.server, body);
  const row = await ctx.hub.store.getServer(t.user, t.server);
  await ctx.audit({ action: 'server.start', target: `${t.user}/${t.server}`, targetUser: t.user, detail: { state, options: row?.userOptions ?? {} } });
  // More cores or memory than the executor reports: said (only then), never refused.
  const warnings = row ? await serverWarnings(ctx.hub.executors, row.executor, row.userOptions ?? {}) : [];
  sendJson(ctx.res, state === 'running' ? 201 : 202, { ...(row ? serverModel(row) : {}), ...(warnings.length ? { warnings } : {}) });
}

/**
 * `DELETE …/server` and `…/servers/{server}`: 204 when stopped, 202 while stopping; `{remove: true}`
 * deletes a named server, and is 400 for the default server (which always exists), before anything stops.
 */
async function stopServer(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const t = target(params);
  const user = await ctx.hub.store.getUser(t.user);
  await ctx.require(DELETE, { ...t, groups: user?.groups });
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${t.user}`);
  const body = await ctx.jsonObject();
  if (body?.remove !== undefined && typeof body.remove !== 'boolean') throw fail('BAD_REQUEST', 'remove must be true or false.');
  if (body?.remove === true && t.server === '') throw fail('BAD_REQUEST', 'Cannot delete the default server; stop it without "remove".');
  const state = await ctx.hub.servers.stop(t.user, t.server);
  await ctx.audit({ action: 'server.stop', target: `${t.user}/${t.server}`, targetUser: t.user, detail: { state, remove: body?.remove === true } });
  if (body?.remove === true) {
    if (state !== 'stopped') throw fail('SERVER_PENDING', 'The server is still stopping; remove it once it has stopped.');
    await ctx.hub.store.deleteServer(t.user, t.server);
  }
  sendEmpty(ctx.res, state === 'stopped' ? 204 : 202);
}

/** `GET …/servers/{server}`: one server's model (JupyterHub 5+). */
async function getServer(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const t = target(params);
  const user = await ctx.hub.store.getUser(t.user);
  const who = await ctx.require(READ, { ...t, groups: user?.groups });
  const row = user ? await ctx.hub.store.getServer(t.user, t.server) : null;
  if (!row) throw fail('SERVER_NOT_FOUND', `${t.user} has no server named '${t.server}'.`);
  sendJson(ctx.res, 200, serverModel(row, { withState: who.can('admin:server_state', t) }));
}

export function registerServerRoutes(r: Router<RequestContext>): void {
  r.add('POST', '/hub/api/users/:name/server', startServer);
  r.add('DELETE', '/hub/api/users/:name/server', stopServer);
  // An empty server name (`…/servers/`) is the default server: JupyterHub's pattern is `servers/([^/]*)`.
  r.add('GET', '/hub/api/users/:name/servers/', getServer);
  r.add('POST', '/hub/api/users/:name/servers/', startServer);
  r.add('DELETE', '/hub/api/users/:name/servers/', stopServer);
  r.add('GET', '/hub/api/users/:name/servers/:server', getServer);
  r.add('POST', '/hub/api/users/:name/servers/:server', startServer);
  r.add('DELETE', '/hub/api/users/:name/servers/:server', stopServer);
}
