import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { GroupRow } from '../../store/types.js';
import { checkUsername } from '../names.js';
import { checkGroupName } from '../../auth/index.js';
import type { RequestContext } from '../request.js';
import { acceptsPagination, pageOf, paginated } from './pagination.js';

const LIST = needsScope('list:groups');
const READ = needsScope('read:groups');
const WRITE = needsScope('groups');
const ADMIN = needsScope('admin:groups');
const MAX_MEMBERS_PER_CALL = 10_000;
const MAX_PROPERTIES_BYTES = 64 * 1024;

/** JupyterHub's group model, plus where the group comes from and its member count. */
function groupModel(ctx: RequestContext, g: GroupRow, withUsers: boolean) {
  const model: Record<string, unknown> = {
    kind: 'group',
    name: g.name,
    properties: g.properties,
    roles: ctx.hub.rbac.roles.rolesOfGroup(g.name),
    source: g.source,
    member_count: g.memberCount,
  };
  if (withUsers) model.users = g.members;
  return model;
}

function usersFromBody(body: Record<string, unknown> | undefined): string[] {
  const users = body?.users;
  if (!Array.isArray(users) || users.length === 0 || !users.every((u) => typeof u === 'string')) throw fail('BAD_REQUEST', 'Body must be {"users": ["name", ...]}.');
  if (users.length > MAX_MEMBERS_PER_CALL) throw fail('BAD_REQUEST', `At most ${MAX_MEMBERS_PER_CALL} users per request.`);
  const extra = Object.keys(body!).filter((k) => k !== 'users');
  if (extra.length) throw fail('BAD_REQUEST', `Unknown field(s): ${extra.join(', ').slice(0, 200)}`);
  return (users as string[]).map(checkUsername);
}

function propertiesFrom(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail('BAD_REQUEST', 'properties must be a JSON object.');
  if (JSON.stringify(value).length > MAX_PROPERTIES_BYTES) throw fail('BAD_REQUEST', `properties must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON.`);
  return value as Record<string, unknown>;
}

async function existing(ctx: RequestContext, name: string): Promise<GroupRow> {
  const g = await ctx.hub.store.getGroup(name);
  if (!g) throw fail('GROUP_NOT_FOUND', `No such group: ${name}`);
  return g;
}

/**
 * `GET /hub/api/groups`: offset/limit/name_filter; held under `!group=` filters, only those groups.
 * With read:groups an item is the whole group model, members (`users`) included, as JupyterHub's.
 */
async function listGroups(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  if (!who.holdsAny(LIST)) throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${LIST}]`);
  const page = pageOf(ctx);
  const nameFilter = ctx.url.searchParams.get('name_filter') ?? undefined;
  if (nameFilter !== undefined && nameFilter.length > 255) throw fail('BAD_REQUEST', 'name_filter is longer than 255 characters.');
  const { groups, total } = await ctx.hub.store.listGroups({ offset: page.offset, limit: page.limit, nameContains: nameFilter });
  const items: Record<string, unknown>[] = [];
  for (const g of groups) {
    if (!who.can(LIST, { groups: [g.name] })) continue;
    if (!who.can(READ, { groups: [g.name] })) {
      items.push({ kind: 'group', name: g.name });
      continue;
    }
    // The listing has no members; a page is at most 200 groups, each read with its members.
    items.push(groupModel(ctx, (await ctx.hub.store.getGroup(g.name)) ?? { ...g, members: [] }, true));
  }
  if (acceptsPagination(ctx.req)) return sendJson(ctx.res, 200, paginated(ctx, items, page, total));
  sendJson(ctx.res, 200, items);
}

async function getGroup(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(READ, { groups: [name] });
  sendJson(ctx.res, 200, groupModel(ctx, await existing(ctx, name), true));
}

/** `POST /hub/api/groups/{name}` `{properties?, users?}` → 201; a group made here is managed here (logins leave its members alone). */
async function createGroup(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(ADMIN);
  const body = (await ctx.jsonObject()) ?? {};
  const extra = Object.keys(body).filter((k) => k !== 'properties' && k !== 'users');
  if (extra.length) throw fail('BAD_REQUEST', `Unknown field(s): ${extra.join(', ').slice(0, 200)}`);
  const properties = body.properties === undefined ? {} : propertiesFrom(body.properties);
  const users = body.users === undefined ? [] : usersFromBody({ users: body.users });
  await ctx.hub.store.createGroup(name, { properties, source: 'api' });
  if (users.length) await ctx.hub.store.addGroupMembers(name, users);
  await ctx.audit({ action: 'group.create', target: name, detail: { users: users.slice(0, 100) } });
  sendJson(ctx.res, 201, groupModel(ctx, await existing(ctx, name), true));
}

/** `POST /hub/api/groups` `{groups: [...]}`: JupyterHub's bulk creation, all or none. */
async function createGroups(ctx: RequestContext): Promise<void> {
  await ctx.require(ADMIN);
  const body = await ctx.jsonObject();
  const names = body?.groups;
  if (!Array.isArray(names) || names.length === 0 || names.length > 1000 || !names.every((n) => typeof n === 'string')) {
    throw fail('BAD_REQUEST', 'Body must be {"groups": ["name", ...]} with 1 to 1000 names.');
  }
  const unique = [...new Set(names as string[])].map(checkGroupName);
  for (const n of unique) if (await ctx.hub.store.getGroup(n)) throw fail('CONFLICT', `Group ${n} already exists.`);
  const out = [];
  for (const n of unique) out.push(groupModel(ctx, await ctx.hub.store.createGroup(n, { source: 'api' }), true));
  await ctx.audit({ action: 'group.create', target: unique.length === 1 ? unique[0]! : `${unique.length} groups`, detail: { groups: unique.slice(0, 100) } });
  sendJson(ctx.res, 201, out);
}

async function deleteGroup(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(ADMIN);
  if (!(await ctx.hub.store.deleteGroup(name))) throw fail('GROUP_NOT_FOUND', `No such group: ${name}`);
  await ctx.hub.rbac.roles.reload();
  await ctx.audit({ action: 'group.delete', target: name });
  sendEmpty(ctx.res, 204);
}

/** `POST /hub/api/groups/{name}/users` `{users}`: adds members (existing users only). */
async function addMembers(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(WRITE, { groups: [name] });
  const users = usersFromBody(await ctx.jsonObject());
  await ctx.hub.store.addGroupMembers(name, users);
  await ctx.audit({ action: 'group.members.add', target: name, targetUser: users.length === 1 ? users[0]! : null, detail: { users: users.slice(0, 100) } });
  sendJson(ctx.res, 200, groupModel(ctx, await existing(ctx, name), true));
}

/** `DELETE /hub/api/groups/{name}/users` `{users}`. An identity-provider group gets its members back at their next login. */
async function removeMembers(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(WRITE, { groups: [name] });
  const users = usersFromBody(await ctx.jsonObject());
  await ctx.hub.store.removeGroupMembers(name, users);
  await ctx.audit({ action: 'group.members.remove', target: name, targetUser: users.length === 1 ? users[0]! : null, detail: { users: users.slice(0, 100) } });
  sendJson(ctx.res, 200, groupModel(ctx, await existing(ctx, name), true));
}

/** `PUT /hub/api/groups/{name}/properties`: replaces the properties object. */
async function putProperties(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkGroupName(params.name!);
  await ctx.require(WRITE, { groups: [name] });
  const properties = propertiesFrom((await ctx.jsonObject()) ?? null);
  await ctx.hub.store.setGroupProperties(name, properties);
  await ctx.audit({ action: 'group.properties', target: name });
  sendJson(ctx.res, 200, groupModel(ctx, await existing(ctx, name), true));
}

export function registerGroupRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/groups', listGroups);
  r.add('POST', '/hub/api/groups', createGroups);
  r.add('GET', '/hub/api/groups/:name', getGroup);
  r.add('POST', '/hub/api/groups/:name', createGroup);
  r.add('DELETE', '/hub/api/groups/:name', deleteGroup);
  r.add('POST', '/hub/api/groups/:name/users', addMembers);
  r.add('DELETE', '/hub/api/groups/:name/users', removeMembers);
  r.add('PUT', '/hub/api/groups/:name/properties', putProperties);
}
