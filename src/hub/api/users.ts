import { listScopes, needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { userModel, type ModelViewer } from '../models.js';
import { checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';
import type { ServerRow, UserRow } from '../../store/types.js';
import { holdsEverything } from '../../auth/index.js';
import { sessionIdOf, type Identity } from '../../auth/identity.js';
import { acceptsPagination, pageOf, paginated } from './pagination.js';

const LIST_USERS = needsScope('list:users');
const ADMIN_USERS = needsScope('admin:users');
/** Any of these on the user reads some of its model (JupyterHub's `GET /users/{name}`). */
const READ_USER_ANY = ['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles'].map(needsScope);

/** The user model as `viewer` may see it, `admin` and `roles` from the role book (assigned roles included). */
function modelOf(ctx: RequestContext, user: UserRow, servers: readonly ServerRow[], viewer: ModelViewer | null): Record<string, unknown> {
  return userModel(user, servers, viewer, { includeStopped: includeStopped(ctx), roles: ctx.hub.rbac.userRoles(user) });
}

/** JupyterHub's `include_stopped_servers`: present and not "0" or "false". */
function includeStopped(ctx: RequestContext): boolean {
  const v = ctx.url.searchParams.get('include_stopped_servers');
  return v !== null && !['0', 'false'].includes(v.toLowerCase());
}

/**
 * JupyterHub's `session_id`: the browser session a token was issued in (OAuth tokens), or for a
 * session cookie that session's own id; null for API tokens and services.
 */
function sessionIdOfCaller(who: Identity): string | null {
  if (who.session) return sessionIdOf(who.session);
  return who.token?.sessionId ?? null;
}

/**
 * `GET /hub/api/user`: the credential's owner, with the scopes it holds. As JupyterHub, every
 * credential may read its owner's name and groups here, whatever its scopes; the rest of the model
 * follows the scopes like any other read.
 */
async function whoami(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  const identity = { session_id: sessionIdOfCaller(who), scopes: listScopes(who.effectiveScopes()) };
  if (who.kind === 'service') {
    // JupyterHub's service model for a service's own token.
    return sendJson(ctx.res, 200, { kind: 'service', name: who.service, roles: ctx.hub.rbac.roles.rolesOf({ kind: 'service', name: who.service! }), ...identity });
  }
  const identify: ModelViewer = {
    can: (scope, target) => ((scope === 'read:users:name' || scope === 'read:users:groups') && target?.user === who.name) || who.can(scope, target),
  };
  const model = modelOf(ctx, who.user, await ctx.hub.store.listServers(who.name), identify);
  Object.assign(model, identity);
  if (who.token) model.token_id = who.token.id;
  sendJson(ctx.res, 200, model);
}

/**
 * `GET /hub/api/users`: JupyterHub's listing with `offset`, `limit`, `state` and `name_filter`;
 * with `Accept: application/jupyterhub-pagination+json` the answer is `{items, _pagination}`.
 */
async function listUsers(ctx: RequestContext): Promise<void> {
  // Held under a filter (`list:users!group=physics`), the listing is filtered row by row.
  const who = await ctx.caller();
  if (!who.holdsAny(LIST_USERS)) throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${LIST_USERS}]`);
  const page = pageOf(ctx);
  const stateRaw = ctx.url.searchParams.get('state');
  if (stateRaw !== null && !['active', 'ready', 'inactive'].includes(stateRaw)) {
    throw fail('BAD_REQUEST', `Unrecognized state filter: ${stateRaw.slice(0, 40)}. Use active, ready or inactive.`);
  }
  const state = (stateRaw ?? undefined) as 'active' | 'ready' | 'inactive' | undefined;
  const nameFilter = ctx.url.searchParams.get('name_filter') ?? undefined;
  const { users, total } = await ctx.hub.store.listUsers({ offset: page.offset, limit: page.limit, state, nameContains: nameFilter });
  const readable = users.filter((u) => who.can(LIST_USERS, { user: u.name, groups: u.groups }));
  const servers = await ctx.hub.store.listServersOf(readable.map((u) => u.name));
  // Each model has the fields the caller's scopes allow on that user (list:users alone: the name).
  const items = readable.map((u) => modelOf(ctx, u, servers.get(u.name) ?? [], who)).filter((m) => Object.keys(m).length > 0);
  if (acceptsPagination(ctx.req)) return sendJson(ctx.res, 200, paginated(ctx, items, page, total));
  sendJson(ctx.res, 200, items);
}

/** `POST /hub/api/users` `{usernames: [...], admin?}` → 201 with the new users; 409 if any exists. */
async function createUsers(ctx: RequestContext): Promise<void> {
  await ctx.require(ADMIN_USERS);
  const body = await ctx.jsonObject();
  const names = body?.usernames;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
    throw fail('BAD_REQUEST', 'Body must be {"usernames": ["name", ...]}.');
  }
  if (names.length > 10_000) throw fail('BAD_REQUEST', 'At most 10,000 users per request.');
  if (body!.admin !== undefined && typeof body!.admin !== 'boolean') throw fail('BAD_REQUEST', 'admin must be true or false.');
  const unique = [...new Set(names as string[])];
  unique.forEach(checkUsername);
  if (body!.admin === true) await requireAdminGrant(ctx);
  const created = await ctx.hub.store.createUsers(unique, { admin: body!.admin === true });
  await ctx.audit({ action: 'user.create', target: unique.length === 1 ? unique[0]! : `${unique.length} users`, targetUser: unique.length === 1 ? unique[0]! : null, detail: { users: unique.slice(0, 100), admin: body!.admin === true } });
  sendJson(ctx.res, 201, created.map((u) => modelOf(ctx, u, [], null)));
}

/** `GET /hub/api/users/{name}`: the fields the caller's scopes on this user allow (see USER_MODEL_FIELDS). */
async function getUser(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const user = await ctx.hub.store.getUser(name);
  const who = await ctx.caller();
  const target = { user: name, groups: user?.groups };
  if (!READ_USER_ANY.some((scope) => who.can(scope, target))) {
    throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${READ_USER_ANY.join(', ')}]`);
  }
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  sendJson(ctx.res, 200, modelOf(ctx, user, await ctx.hub.store.listServers(name), who));
}

/**
 * Granting or removing admin: only a caller who holds every scope on every object (an admin, with
 * a credential not narrowed) may, so that a narrower role holding `admin:users` or `admin:roles`
 * cannot mint an admin, itself included.
 */
async function requireAdminGrant(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  if (!holdsEverything(who)) throw fail('MISSING_SCOPE', 'Only an administrator (holding every scope) can grant or remove admin rights.');
}

/** `POST /hub/api/users/{name}` `{admin?}` → 201; 409 if the user exists. */
async function createUser(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  await ctx.require(ADMIN_USERS);
  const body = await ctx.jsonObject();
  const unknown = Object.keys(body ?? {}).filter((k) => k !== 'admin');
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}`);
  if (body?.admin !== undefined && typeof body.admin !== 'boolean') throw fail('BAD_REQUEST', 'admin must be true or false.');
  if (body?.admin === true) await requireAdminGrant(ctx);
  const [user] = await ctx.hub.store.createUsers([name], { admin: body?.admin === true });
  await ctx.audit({ action: 'user.create', target: name, targetUser: name, detail: { admin: body?.admin === true } });
  sendJson(ctx.res, 201, modelOf(ctx, user!, [], null));
}

/**
 * `PATCH /hub/api/users/{name}` `{admin?, blocked?}`: renaming is not supported.
 * - `admin` also sets the API's assignment of the `admin` role, which later logins keep (an admin
 *   from an admin group or the config stays one; remove them there);
 * - `blocked: true` ends the user's sessions; their tokens stop working at once (and at the
 *   proxy once its cached answer expires, within 60 s).
 * Nobody can remove their own admin rights or block themselves (no lock-out by mistake).
 */
async function patchUser(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const target = await ctx.hub.store.getUser(name);
  const who = await ctx.require(ADMIN_USERS, { user: name, groups: target?.groups });
  const body = await ctx.jsonObject();
  if (!body) throw fail('BAD_REQUEST', 'Body must be a JSON object.');
  const unknown = Object.keys(body).filter((k) => k !== 'admin' && k !== 'name' && k !== 'blocked');
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}`);
  if (body.name !== undefined && body.name !== name) throw fail('BAD_REQUEST', 'Renaming users is not supported.');
  if (body.admin !== undefined && typeof body.admin !== 'boolean') throw fail('BAD_REQUEST', 'admin must be true or false.');
  if (body.blocked !== undefined && typeof body.blocked !== 'boolean') throw fail('BAD_REQUEST', 'blocked must be true or false.');
  if (!target) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  if (body.admin !== undefined) await requireAdminGrant(ctx);
  if (who.name === name && (body.admin === false || body.blocked === true)) throw fail('BAD_REQUEST', 'You cannot remove your own admin rights or block yourself.');
  const fields: { admin?: boolean; blocked?: boolean } = {};
  if (body.admin !== undefined) fields.admin = body.admin as boolean;
  if (body.blocked !== undefined) fields.blocked = body.blocked as boolean;
  const user = await ctx.hub.store.upsertUser(name, fields);
  if (body.admin !== undefined) {
    const rbac = ctx.hub.rbac;
    const others = rbac.roles.assignmentsOf('admin', 'api').filter((a) => a.kind === 'user' && a.principal !== name).map((a) => ({ kind: 'user' as const, principal: a.principal }));
    await ctx.hub.store.setRoleAssignments('admin', 'api', ['user'], body.admin ? [...others, { kind: 'user', principal: name }] : others);
    await rbac.roles.reload();
  }
  if (body.blocked === true) await ctx.hub.store.deleteSessionsOf(name);
  await ctx.audit({ action: 'user.update', target: name, targetUser: name, detail: { ...fields, before: { admin: target.admin, blocked: target.blocked } } });
  sendJson(ctx.res, 200, modelOf(ctx, user, await ctx.hub.store.listServers(name), null));
}

/** `DELETE /hub/api/users/{name}`: stops the user's servers, then deletes them with their tokens. */
async function deleteUser(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const who = await ctx.require(ADMIN_USERS);
  if (who.name === name) throw fail('BAD_REQUEST', 'You cannot delete yourself.');
  if (!(await ctx.hub.store.getUser(name))) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  for (const row of await ctx.hub.store.listServers(name)) await ctx.hub.servers.stopNow(row, 'user deleted');
  await ctx.hub.store.deleteUser(name);
  await ctx.hub.rbac.roles.reload();
  await ctx.audit({ action: 'user.delete', target: name, targetUser: name });
  sendEmpty(ctx.res, 204);
}

export function registerUserRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/user', whoami);
  r.add('GET', '/hub/api/users', listUsers);
  r.add('POST', '/hub/api/users', createUsers);
  r.add('GET', '/hub/api/users/:name', getUser);
  r.add('POST', '/hub/api/users/:name', createUser);
  r.add('PATCH', '/hub/api/users/:name', patchUser);
  r.add('DELETE', '/hub/api/users/:name', deleteUser);
}
