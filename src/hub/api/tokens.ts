import { covers, expandScopes, needsScope, validateScopes } from '../../auth/scopes.js';
import { hashSecret, newSecret, newTokenId } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { tokenModel } from '../models.js';
import { checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';

const READ = needsScope('read:tokens');
const WRITE = needsScope('tokens');
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

async function owner(ctx: RequestContext, name: string, scope: string) {
  const user = await ctx.hub.store.getUser(name);
  const who = await ctx.require(scope, { user: name, groups: user?.groups });
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  return { who, user };
}

async function listTokens(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  await owner(ctx, name, READ);
  const rows = (await ctx.hub.store.listTokens(name)).filter((t) => t.kind === 'api');
  sendJson(ctx.res, 200, { api_tokens: rows.map(tokenModel), oauth_tokens: [] });
}

/**
 * `POST /hub/api/users/{name}/tokens` `{note?, expires_in?, scopes?}` → 201 with `token`, shown
 * only this once. Without scopes the token inherits its owner's permissions (JupyterHub's
 * default `token` role). A token can never hold more than its owner or its requester.
 */
async function createToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const { who, user } = await owner(ctx, name, WRITE);
  const body = (await ctx.jsonObject()) ?? {};
  const unknown = Object.keys(body).filter((k) => !['note', 'expires_in', 'scopes', 'roles'].includes(k));
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ')}`);
  if (body.note !== undefined && (typeof body.note !== 'string' || body.note.length > 1000)) throw fail('BAD_REQUEST', 'note must be a string of at most 1000 characters.');
  let expiresAt: string | null = null;
  if (body.expires_in !== undefined && body.expires_in !== null) {
    const n = body.expires_in;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > MAX_EXPIRES_IN) throw fail('BAD_REQUEST', `expires_in must be a whole number of seconds between 1 and ${MAX_EXPIRES_IN}.`);
    expiresAt = new Date(Date.now() + n * 1000).toISOString();
  }
  if (body.roles !== undefined && !(Array.isArray(body.roles) && body.roles.length === 0)) {
    throw fail('BAD_REQUEST', 'Token roles are not supported; request scopes instead.');
  }
  const scopes = body.scopes === undefined ? [] : validateScopes(body.scopes);
  if (scopes.length) {
    const requested = expandScopes(scopes, user);
    const ownerScopes = ctx.hub.rbac.ownerScopes(user);
    const missing = covers(ownerScopes, requested) ?? (who.tokenScopes ? covers(who.tokenScopes, requested) : null);
    if (missing) throw fail('MISSING_SCOPE', `Not assigning requested scopes ${missing}: the token would exceed the permissions of ${who.name === name ? 'its owner' : 'the requester or the owner'}.`);
  }
  const token = newSecret();
  const row = {
    id: newTokenId(), user: name, hash: hashSecret(token), prefix: token.slice(0, 4), scopes,
    note: typeof body.note === 'string' ? body.note : (who.name === name ? 'Requested via api' : `Requested via api by user ${who.name}`),
    kind: 'api' as const, created: new Date().toISOString(), expiresAt, lastActivity: null,
  };
  await ctx.hub.store.insertToken(row);
  await ctx.audit({ action: 'token.issue', target: row.id, targetUser: name, detail: { scopes, expires_at: expiresAt, note: row.note.slice(0, 200) } });
  sendJson(ctx.res, 201, { ...tokenModel(row), token });
}

async function getToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  await owner(ctx, name, READ);
  const row = await ctx.hub.store.getToken(name, params.id!);
  if (!row || row.kind !== 'api') throw fail('TOKEN_NOT_FOUND', `No such token: ${params.id!.slice(0, 40)}`);
  sendJson(ctx.res, 200, tokenModel(row));
}

async function deleteToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  await owner(ctx, name, WRITE);
  if (!(await ctx.hub.store.deleteToken(name, params.id!))) throw fail('TOKEN_NOT_FOUND', `No such token: ${params.id!.slice(0, 40)}`);
  await ctx.audit({ action: 'token.revoke', target: params.id!, targetUser: name });
  sendEmpty(ctx.res, 204);
}

export function registerTokenRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/users/:name/tokens', listTokens);
  r.add('POST', '/hub/api/users/:name/tokens', createToken);
  r.add('GET', '/hub/api/users/:name/tokens/:id', getToken);
  r.add('DELETE', '/hub/api/users/:name/tokens/:id', deleteToken);
}
