import { fail } from '../../errors/catalogue.js';
import { readBody } from '../../http/body.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { log } from '../../log.js';
import { resolveCredential, SESSION_COOKIE, type Identity } from '../../auth/identity.js';
import { userModel, type ModelViewer } from '../models.js';
import type { RequestContext } from '../request.js';

/**
 * JupyterHub's deprecated `/hub/api/authorizations/*` (all but OAuth2), kept for old services and
 * single-user servers. Only token-authenticated callers may use them (403 otherwise), each use is
 * logged as deprecated, and the answers are what JupyterHub 4.1 gives. New code uses
 * `GET /hub/api/user` with the credential itself.
 */

/** The caller must have come with a token: these endpoints are for services, not browsers. */
async function tokenCaller(ctx: RequestContext): Promise<Identity> {
  const who = await ctx.caller();
  if (who.via !== 'token') throw fail('FORBIDDEN', 'This endpoint accepts API tokens only.');
  return who;
}

function deprecated(ctx: RequestContext, who: Identity, instead: string): void {
  log.warn(`${ctx.url.pathname.split('/').slice(0, 5).join('/')} is deprecated since JupyterHub 2.0; use ${instead}`, { caller: who.name });
}

/** The caller's view of a user, plus (as JupyterHub) the owner's name and groups whatever its scopes. */
function identifyViewer(who: Identity, owner: string): ModelViewer {
  return { can: (scope, target) => ((scope === 'read:users:name' || scope === 'read:users:groups') && target?.user === owner) || who.can(scope, target) };
}

/**
 * `GET /hub/api/authorizations/token/{token}`: the user (or service) a token belongs to; 404 when
 * it is unknown, expired or its owner blocked. Seeing the token counts as its owner's activity.
 */
async function identifyToken(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const who = await tokenCaller(ctx);
  deprecated(ctx, who, '/hub/api/user with the token');
  const owner = await resolveCredential(ctx.hub.store, { kind: 'token', value: params.token! }, new Date(), ctx.hub.rbac);
  if (!owner) throw fail('TOKEN_NOT_FOUND');
  if (owner.kind === 'service') {
    const roles = who.can('read:roles') ? { roles: ctx.hub.rbac.roles.rolesOf({ kind: 'service', name: owner.service! }) } : {};
    return sendJson(ctx.res, 200, { kind: 'service', name: owner.service, admin: false, ...roles });
  }
  // Resolving the token recorded its owner's activity (as every request with it would).
  const user = owner.user;
  const model = userModel(user, await ctx.hub.store.listServers(user.name), identifyViewer(who, user.name), { roles: ctx.hub.rbac.userRoles(user) });
  sendJson(ctx.res, 200, model);
}

/** `POST /hub/api/authorizations/token`: removed in JupyterHub 2.0, which answers 404 saying so. */
async function requestToken(ctx: RequestContext): Promise<void> {
  // A session cookie still needs its XSRF token here, as on every POST; otherwise the answer is
  // JupyterHub's 404 for everyone.
  if (ctx.hasCredential()) {
    await ctx.caller().catch((err: unknown) => {
      if ((err as { code?: string }).code === 'CSRF_FAILED') throw err;
    });
  }
  throw fail('NOT_FOUND', 'The deprecated endpoint /hub/api/authorizations/token was removed in JupyterHub 2.0; use POST /hub/api/users/{name}/tokens.');
}

/**
 * `GET /hub/api/authorizations/cookie/{name}[/{value}]`: the user whose session cookie this is (the
 * value in the path, or, older still, the request body); 404 for another cookie name or a session
 * that is unknown or over. The model is what the caller's own scopes may read of that user.
 */
async function identifyCookie(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const who = await tokenCaller(ctx);
  deprecated(ctx, who, '/hub/api/user with an OAuth token');
  const value = params.value ?? (await readBody(ctx.req, 4096)).toString('utf8').trim();
  if (params.cookie !== SESSION_COOKIE || !value) throw fail('NOT_FOUND', 'No user for this cookie.');
  const owner = await resolveCredential(ctx.hub.store, { kind: 'cookie', value }, new Date(), ctx.hub.rbac);
  if (!owner) throw fail('NOT_FOUND', 'No user for this cookie.');
  const model = userModel(owner.user, await ctx.hub.store.listServers(owner.name), who, { roles: ctx.hub.rbac.userRoles(owner.user) });
  sendJson(ctx.res, 200, model);
}

export function registerAuthorizationRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/authorizations/token/:token', identifyToken);
  r.add('POST', '/hub/api/authorizations/token', requestToken);
  r.add('GET', '/hub/api/authorizations/cookie/:cookie', identifyCookie);
  r.add('GET', '/hub/api/authorizations/cookie/:cookie/:value', identifyCookie);
}
