import { covers, expandScopes, needsScope, validateScopes } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { PrincipalKind } from '../../store/types.js';
import { checkUsername } from '../names.js';
import { BUILTIN_ROLE_NAMES, checkGroupName, checkRoleName, holdsEverything } from '../../auth/index.js';
import type { RequestContext } from '../request.js';

const READ = needsScope('read:roles');
const ADMIN = needsScope('admin:roles');
const FIELDS = ['name', 'description', 'scopes', 'users', 'groups', 'services'];
const MAX_HOLDERS = 10_000;

/**
 * Roles through the API (a highrate extension; JupyterHub declares roles only in its config).
 * Three kinds: built-in (`user`, `admin`, `idle-culler`: scopes fixed, holders editable),
 * config (declared in the config file: read-only here, the file is their truth), and API roles
 * (everything editable). A role can never grant more than its author holds.
 */
function roleOr404(ctx: RequestContext, name: string) {
  const model = ctx.hub.rbac.roles.model(name);
  if (!model) throw fail('ROLE_NOT_FOUND', `No such role: ${name}`);
  return model;
}

function stringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw fail('BAD_REQUEST', `${field} must be a list of strings.`);
  if (v.length > MAX_HOLDERS) throw fail('BAD_REQUEST', `${field} may list at most ${MAX_HOLDERS} names.`);
  return [...new Set(v as string[])];
}

interface RoleInput {
  description?: string;
  scopes?: string[];
  holders: Partial<Record<PrincipalKind, string[]>>;
}

function readInput(ctx: RequestContext, name: string, body: Record<string, unknown> | undefined): RoleInput {
  if (!body) throw fail('BAD_REQUEST', 'Body must be a JSON object.');
  const unknown = Object.keys(body).filter((k) => !FIELDS.includes(k));
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}`);
  if (body.name !== undefined && body.name !== name) throw fail('BAD_REQUEST', 'Renaming roles is not supported.');
  if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 1000)) throw fail('BAD_REQUEST', 'description must be a string of at most 1000 characters.');
  let scopes: string[] | undefined;
  if (body.scopes !== undefined) {
    scopes = [...new Set(validateScopes(body.scopes))];
    if (scopes.some((s) => s.split('!')[0] === 'inherit')) throw fail('INVALID_SCOPE', 'inherit is for tokens, not roles.');
    if (scopes.length > 200) throw fail('BAD_REQUEST', 'A role may hold at most 200 scopes.');
  }
  const users = stringList(body, 'users')?.map(checkUsername);
  const groups = stringList(body, 'groups')?.map(checkGroupName);
  const services = stringList(body, 'services')?.map((s) => checkRoleName(s, 'service'));
  for (const s of services ?? []) if (!ctx.hub.rbac.services.has(s)) throw fail('SERVICE_NOT_FOUND', `No service named ${s} is declared in the config.`);
  return { description: body.description as string | undefined, scopes, holders: { user: users, group: groups, service: services } };
}

/** A role's scopes may not exceed what its author holds (no minting of rights one lacks). */
function checkAuthorCovers(who: Awaited<ReturnType<RequestContext['caller']>>, scopes: string[]): void {
  // `!user` and `self` in a role mean "each holder's own"; for the author that is the author's own.
  const requested = expandScopes(scopes, who.user);
  const missing = covers(who.ownerScopes, requested) ?? (who.tokenScopes ? covers(who.tokenScopes, requested) : null);
  if (missing) throw fail('MISSING_SCOPE', `Not creating a role with ${missing}: it exceeds your own permissions.`);
}

/**
 * Changing who holds a role is granting its scopes: the caller must hold them all (so holding
 * `admin:roles` alone never makes anyone, the caller included, an admin).
 */
async function saveHolders(ctx: RequestContext, role: string, holders: RoleInput['holders'], who: Awaited<ReturnType<RequestContext['caller']>>): Promise<void> {
  const kinds = (Object.keys(holders) as PrincipalKind[]).filter((k) => holders[k] !== undefined);
  if (kinds.length === 0) return;
  const scopes = ctx.hub.rbac.roles.role(role)?.scopes ?? [];
  if (scopes.includes('*')) {
    if (!holdsEverything(who)) throw fail('MISSING_SCOPE', `Only an administrator can change who holds the ${role} role.`);
  } else {
    checkAuthorCovers(who, role === 'user' ? ['self'] : scopes);
  }
  const list = kinds.flatMap((kind) => holders[kind]!.map((principal) => ({ kind, principal })));
  await ctx.hub.store.setRoleAssignments(role, 'api', kinds, list);
}

/**
 * A role as the API lists it. The `admin` role is also held by every user flagged admin (as in
 * JupyterHub, where the flag is that role): they are listed with its assigned holders, so the
 * roles list agrees with each user's `roles`.
 */
async function withFlaggedAdmins<M extends { name: string; users: string[] }>(ctx: RequestContext, model: M): Promise<M> {
  if (model.name !== 'admin') return model;
  const { users } = await ctx.hub.store.listUsers({ admin: true });
  return { ...model, users: [...new Set([...model.users, ...users.map((u) => u.name)])].sort() };
}

async function listRoles(ctx: RequestContext): Promise<void> {
  await ctx.require(READ);
  sendJson(ctx.res, 200, await Promise.all(ctx.hub.rbac.roles.models().map((m) => withFlaggedAdmins(ctx, m))));
}

async function getRole(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkRoleName(params.name!);
  await ctx.require(READ);
  sendJson(ctx.res, 200, await withFlaggedAdmins(ctx, roleOr404(ctx, name)));
}

/** `POST /hub/api/roles/{name}` `{description?, scopes, users?, groups?, services?}` → 201. */
async function createRole(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkRoleName(params.name!);
  const who = await ctx.require(ADMIN);
  const input = readInput(ctx, name, await ctx.jsonObject());
  if (ctx.hub.rbac.roles.model(name) || BUILTIN_ROLE_NAMES.has(name)) throw fail('CONFLICT', `Role ${name} already exists.`);
  if (!input.scopes) throw fail('BAD_REQUEST', 'scopes is required.');
  checkAuthorCovers(who, input.scopes);
  await ctx.hub.store.putRole({ name, description: input.description ?? '', scopes: input.scopes, source: 'api', created: new Date().toISOString() });
  await saveHolders(ctx, name, input.holders, who);
  await ctx.hub.rbac.roles.reload();
  const model = roleOr404(ctx, name);
  await ctx.audit({ action: 'role.create', target: name, detail: { scopes: model.scopes, users: model.users, groups: model.groups, services: model.services } });
  sendJson(ctx.res, 201, model);
}

/** `PATCH /hub/api/roles/{name}`: each given list replaces the API's holders of that kind. */
async function patchRole(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkRoleName(params.name!);
  const who = await ctx.require(ADMIN);
  const input = readInput(ctx, name, await ctx.jsonObject());
  const current = roleOr404(ctx, name);
  if (current.source === 'config') throw fail('CONFLICT', `Role ${name} is declared in the config file; change it there.`);
  if (current.source === 'builtin' && (input.scopes !== undefined || input.description !== undefined)) {
    throw fail('CONFLICT', `The scopes and description of the built-in role ${name} cannot be changed; only who holds it.`);
  }
  if (name === 'admin' && input.holders.user !== undefined && !input.holders.user.includes(who.name) && !who.user.admin) {
    // The caller holds admin through an assignment; taking it away here would lock them out.
    throw fail('BAD_REQUEST', 'You cannot remove your own admin rights.');
  }
  if (input.scopes) {
    checkAuthorCovers(who, input.scopes);
    const row = ctx.hub.rbac.roles.role(name)!;
    await ctx.hub.store.putRole({ ...row, scopes: input.scopes, description: input.description ?? row.description });
  } else if (input.description !== undefined) {
    const row = ctx.hub.rbac.roles.role(name)!;
    await ctx.hub.store.putRole({ ...row, description: input.description });
  }
  await saveHolders(ctx, name, input.holders, who);
  await ctx.hub.rbac.roles.reload();
  const model = roleOr404(ctx, name);
  await ctx.audit({ action: 'role.update', target: name, detail: { scopes: model.scopes, users: model.users, groups: model.groups, services: model.services, before: { scopes: current.scopes, users: current.users, groups: current.groups, services: current.services } } });
  sendJson(ctx.res, 200, await withFlaggedAdmins(ctx, model));
}

async function deleteRole(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkRoleName(params.name!);
  await ctx.require(ADMIN);
  const current = roleOr404(ctx, name);
  if (current.source !== 'api') throw fail('CONFLICT', `Role ${name} is ${current.source === 'builtin' ? 'built in' : 'declared in the config file'}; it cannot be deleted here.`);
  await ctx.hub.store.deleteRole(name);
  await ctx.hub.rbac.roles.reload();
  await ctx.audit({ action: 'role.delete', target: name, detail: { scopes: current.scopes } });
  sendEmpty(ctx.res, 204);
}

export function registerRoleRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/roles', listRoles);
  r.add('GET', '/hub/api/roles/:name', getRole);
  r.add('POST', '/hub/api/roles/:name', createRole);
  r.add('PATCH', '/hub/api/roles/:name', patchRole);
  r.add('DELETE', '/hub/api/roles/:name', deleteRole);
}
