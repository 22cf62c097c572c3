import { covers, expandScopes, needsScope, validateScopes } from '../../auth/scopes.js';
import { hashSecret, newSecret, newTokenId } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { ServiceTokenRow } from '../../store/types.js';
import { checkRoleName } from '../../auth/index.js';
import type { RequestContext } from '../request.js';

const LIST = needsScope('list:services');
const READ = needsScope('read:services');
const ADMIN = needsScope('admin:services');
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

/**
 * Services: API clients that are not users (an idle culler, a monitoring job). They are declared
 * in the config with their roles; their tokens are issued here and can never hold more than those
 * roles, so a culler's token can stop servers but not read tokens or start anything.
 */
function serviceModel(ctx: RequestContext, name: string) {
  const svc = ctx.hub.rbac.services.get(name)!;
  return {
    kind: 'service',
    name,
    description: svc.description,
    roles: ctx.hub.rbac.roles.rolesOf({ kind: 'service', name }),
    admin: false,
    url: null,
    prefix: null,
    pid: 0,
    command: [],
  };
}

function tokenModel(t: ServiceTokenRow) {
  return { id: t.id, kind: 'api_token', service: t.service, note: t.note, scopes: t.scopes, roles: [], created: t.created, last_activity: t.lastActivity, expires_at: t.expiresAt, prefix: t.prefix };
}

function declared(ctx: RequestContext, raw: string): string {
  const name = checkRoleName(raw, 'service');
  if (!ctx.hub.rbac.services.has(name)) throw fail('SERVICE_NOT_FOUND', `No service named ${name} is declared in the config.`);
  return name;
}

/** `GET /hub/api/services`: `{name: model}`, as JupyterHub answers. */
async function listServices(ctx: RequestContext): Promise<void> {
  const who = await ctx.require(LIST);
  const out: Record<string, unknown> = {};
  for (const name of [...ctx.hub.rbac.services.keys()].sort()) out[name] = who.can(READ) ? serviceModel(ctx, name) : { kind: 'service', name };
  sendJson(ctx.res, 200, out);
}

async function getService(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  await ctx.require(READ);
  sendJson(ctx.res, 200, serviceModel(ctx, declared(ctx, params.name!)));
}

async function listTokens(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  await ctx.require(ADMIN);
  const name = declared(ctx, params.name!);
  sendJson(ctx.res, 200, { api_tokens: (await ctx.hub.store.listServiceTokens(name)).map(tokenModel) });
}

/** `POST /hub/api/services/{name}/tokens` `{note?, expires_in?, scopes?}` → 201 with the token, shown once. */
async function createToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  await ctx.require(ADMIN);
  const name = declared(ctx, params.name!);
  const body = (await ctx.jsonObject()) ?? {};
  const unknown = Object.keys(body).filter((k) => !['note', 'expires_in', 'scopes'].includes(k));
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}`);
  if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > 1000)) throw fail('BAD_REQUEST', 'note must be a string of at most 1000 characters.');
  let expiresAt: string | null = null;
  if (body.expires_in !== undefined && body.expires_in !== null) {
    const n = body.expires_in;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > MAX_EXPIRES_IN) throw fail('BAD_REQUEST', `expires_in must be a whole number of seconds between 1 and ${MAX_EXPIRES_IN}.`);
    expiresAt = new Date(Date.now() + n * 1000).toISOString();
  }
  const scopes = body.scopes === undefined ? [] : validateScopes(body.scopes);
  if (scopes.length) {
    const owner = { name: `service:${name}`, admin: false };
    const missing = covers(ctx.hub.rbac.roles.scopesOfService(name), expandScopes(scopes, owner));
    if (missing) throw fail('MISSING_SCOPE', `Not assigning requested scopes ${missing}: the token would exceed the roles of service ${name}.`);
  }
  const token = newSecret();
  const row: ServiceTokenRow = {
    id: newTokenId(), service: name, hash: hashSecret(token), prefix: token.slice(0, 4), scopes,
    note: typeof body.note === 'string' ? body.note : `Issued by ${(await ctx.caller()).name}`,
    created: new Date().toISOString(), expiresAt, lastActivity: null,
  };
  await ctx.hub.store.insertServiceToken(row);
  await ctx.audit({ action: 'service.token.issue', target: `${name}/${row.id}`, detail: { service: name, scopes, expires_at: expiresAt } });
  sendJson(ctx.res, 201, { ...tokenModel(row), token });
}

async function deleteToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  await ctx.require(ADMIN);
  const name = declared(ctx, params.name!);
  if (!(await ctx.hub.store.deleteServiceToken(name, params.id!))) throw fail('TOKEN_NOT_FOUND', `No such token: ${params.id!.slice(0, 40)}`);
  await ctx.audit({ action: 'service.token.revoke', target: `${name}/${params.id!}`, detail: { service: name } });
  sendEmpty(ctx.res, 204);
}

export function registerServiceRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/services', listServices);
  r.add('GET', '/hub/api/services/:name', getService);
  r.add('GET', '/hub/api/services/:name/tokens', listTokens);
  r.add('POST', '/hub/api/services/:name/tokens', createToken);
  r.add('DELETE', '/hub/api/services/:name/tokens/:id', deleteToken);
}
