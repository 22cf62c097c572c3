/**
 * The hub as OAuth 2 provider, as JupyterHub 4 is for its servers: the authorization-code flow
 * at `/hub/api/oauth2/authorize` and `/hub/api/oauth2/token`. `jupyterhub-singleuser` (HubOAuth)
 * sends a browser here, gets a code back at its `oauth_callback`, exchanges it with its client
 * secret (its API token) for an access token, and asks `/hub/api/user` with that token who it is.
 * Authorization is silent for whoever holds `access:servers` on the server (its owner, or a user
 * it is shared with through a role) and a 403 page for everyone else; there is no consent page.
 * Services with an OAuth redirect (service-clients.ts) are clients the same way, behind
 * `access:services!service=<name>`.
 */
import type { ServerResponse } from 'node:http';
import { covers, expandScopes } from '../../auth/scopes.js';
import { hashSecret, newSecret, newTokenId, safeEqual } from '../../auth/tokens.js';
import { ERRORS, HighrateError, type ErrorCode } from '../../errors/catalogue.js';
import { readBody } from '../../http/body.js';
import type { Router } from '../../http/router.js';
import type { OAuthClientRow } from '../../store/types.js';
import { sendPage } from '../html.js';
import { sessionIdOf, type Identity } from '../../auth/identity.js';
import type { RequestContext } from '../request.js';

/** How long a code may wait for its exchange (RFC 6749 §4.1.2: short; oauthlib's default). */
const CODE_TTL_MS = 10 * 60 * 1000;
/** An OAuth token lives as long as the browser session it was issued in, a day at most. */
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_PARAM = 4096;

/** The scopes every token may carry to identify its owner (JupyterHub's `identify_scopes`). */
function identifyScopes(user: string): string[] {
  return [`read:users:name!user=${user}`, `read:users:groups!user=${user}`];
}

/**
 * The scopes a code grants: the requested ones (default: all the client allows) that the client
 * allows and the user holds, plus identification.
 */
export function grantedScopes(who: Identity, client: OAuthClientRow, requested: readonly string[]): string[] {
  const allowed = new Set(client.allowedScopes);
  const wanted = requested.length ? requested.filter((s) => allowed.has(s)) : client.allowedScopes;
  const held = wanted.filter((s) => covers(who.ownerScopes, expandScopes([s], who.user)) === null);
  return [...new Set([...held, ...identifyScopes(who.name)])];
}

/** Whether the user may use what the client stands for: `access:servers` on the server, `access:services` on the service. */
async function mayAccess(ctx: RequestContext, who: Identity, client: OAuthClientRow): Promise<boolean> {
  if (client.service !== null) return ctx.hub.rbac.services.has(client.service) && who.can('access:services', { service: client.service });
  if (client.user === null || client.server === null) return false;
  const owner = await ctx.hub.store.getUser(client.user);
  return !!owner && who.can('access:servers', { user: client.user, server: client.server, groups: owner.groups });
}

function param(ctx: RequestContext, name: string): string {
  const v = ctx.url.searchParams.get(name) ?? '';
  return v.length > MAX_PARAM ? '' : v;
}

/** `redirect` with `?code=…&state=…` (or `error=…`) appended to the client's redirect URI. */
function redirectWith(res: ServerResponse, uri: string, params: Record<string, string>): void {
  const q = new URLSearchParams(params).toString();
  res.writeHead(302, { location: `${uri}${uri.includes('?') ? '&' : '?'}${q}`, 'cache-control': 'no-store' });
  res.end();
}

/** `GET /hub/api/oauth2/authorize`: a logged-in browser gets a code for the client, or a page saying why not. */
async function authorize(ctx: RequestContext): Promise<void> {
  const https = ctx.hub.publicUrl.startsWith('https:');
  const page = (status: number, title: string, message: string) => sendPage(ctx.res, status, title, message, { https, link: { href: '/hub/home', text: 'Home' } });
  const clientId = param(ctx, 'client_id');
  const client = clientId ? await ctx.hub.store.getOAuthClient(clientId) : null;
  // Errors about the client or its redirect URI are shown here, never sent to an unchecked URI.
  if (!client) return page(400, 'Unknown OAuth client', `No OAuth client named "${clientId.slice(0, 100)}" is registered. Its server may have stopped: start it again from the home page.`);
  const redirectUri = param(ctx, 'redirect_uri') || client.redirectUri;
  if (redirectUri !== client.redirectUri) return page(400, 'Wrong redirect URI', `This client returns to ${client.redirectUri}, not to ${redirectUri.slice(0, 200)}.`);
  const who = await ctx.identity();
  if (!who || who.via !== 'cookie' || !who.session) {
    const here = `${ctx.url.pathname}${ctx.url.search}`;
    ctx.res.writeHead(302, { location: `/hub/login?next=${encodeURIComponent(here)}`, 'cache-control': 'no-store' });
    ctx.res.end();
    return;
  }
  const state = param(ctx, 'state');
  const withState = (p: Record<string, string>) => (state ? { ...p, state } : p);
  if (param(ctx, 'response_type') !== 'code') {
    return redirectWith(ctx.res, redirectUri, withState({ error: 'unsupported_response_type', error_description: 'Only response_type=code is supported.' }));
  }
  if (!(await mayAccess(ctx, who, client))) {
    await ctx.hub.audit.denied({ action: 'server.access', actor: who, target: `oauth ${client.id}`.slice(0, 200), targetUser: client.user, code: 'FORBIDDEN' });
    return page(403, 'Forbidden', `You do not have permission to access ${client.description}.`);
  }
  const requested = param(ctx, 'scope').split(/[\s+]+/).filter(Boolean);
  const code = newSecret();
  const now = Date.now();
  await ctx.hub.store.insertOAuthCode({
    codeHash: hashSecret(code), clientId: client.id, user: who.name, sessionId: sessionIdOf(who.session),
    scopes: grantedScopes(who, client, requested), redirectUri, expiresAt: new Date(now + CODE_TTL_MS).toISOString(), created: new Date(now).toISOString(),
    tokenExpiresAt: who.session.expiresAt,
  });
  redirectWith(ctx.res, redirectUri, withState({ code }));
}

const OAUTH_ERRORS = {
  invalid_request: 'OAUTH_INVALID_REQUEST',
  unsupported_grant_type: 'OAUTH_UNSUPPORTED_GRANT_TYPE',
  invalid_grant: 'OAUTH_INVALID_GRANT',
  invalid_client: 'OAUTH_INVALID_CLIENT',
} as const satisfies Record<string, ErrorCode>;

/**
 * An OAuth error answer (RFC 6749 §5.2: `error`, `error_description`, which HubOAuth shows), with
 * the catalogue's `status`, `message` and `code` beside them like every other error of the hub.
 */
function oauthError(res: ServerResponse, error: keyof typeof OAUTH_ERRORS, description: string): void {
  const code = OAUTH_ERRORS[error];
  const status = ERRORS[code].status;
  const body = JSON.stringify({ error, error_description: description, status, message: description, code });
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', ...(status === 401 ? { 'www-authenticate': 'Basic realm="oauth2"' } : {}) });
  res.end(body);
}

/** The client's id and secret: from the form, or HTTP Basic (RFC 6749 §2.3.1). */
function clientCredentials(ctx: RequestContext, form: URLSearchParams): { id: string; secret: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  return { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' };
}

/** A server's secret is its API token; a service's, any token of that service (still declared). */
async function secretMatches(ctx: RequestContext, client: OAuthClientRow, secret: string): Promise<boolean> {
  if (client.service === null) return safeEqual(hashSecret(secret), client.secretHash);
  const service = await ctx.hub.rbac.serviceToken(hashSecret(secret), new Date());
  return service?.service === client.service;
}

/** `POST /hub/api/oauth2/token`: a code (and the client's secret) for an access token. */
async function token(ctx: RequestContext): Promise<void> {
  let form: URLSearchParams;
  try {
    const raw = (await readBody(ctx.req, 64 * 1024)).toString('utf8');
    form = (ctx.req.headers['content-type'] ?? '').includes('application/json')
      ? new URLSearchParams(Object.entries(JSON.parse(raw) as Record<string, string>).map(([k, v]) => [k, String(v)]))
      : new URLSearchParams(raw);
  } catch (err) {
    if (err instanceof HighrateError) throw err; // too large: the catalogue's 413
    return oauthError(ctx.res, 'invalid_request', 'The body must be a form (application/x-www-form-urlencoded).');
  }
  const grant = form.get('grant_type');
  if (grant !== 'authorization_code') return oauthError(ctx.res, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
  const creds = clientCredentials(ctx, form);
  const client = creds.id ? await ctx.hub.store.getOAuthClient(creds.id) : null;
  if (!client || !creds.secret || !(await secretMatches(ctx, client, creds.secret))) {
    return oauthError(ctx.res, 'invalid_client', 'Unknown client or wrong client secret.');
  }
  const code = form.get('code') ?? '';
  const grantRow = code ? await ctx.hub.store.takeOAuthCode(hashSecret(code)) : null;
  const redirectUri = form.get('redirect_uri');
  if (!grantRow || grantRow.clientId !== client.id || grantRow.expiresAt <= new Date().toISOString() || (redirectUri !== null && redirectUri !== grantRow.redirectUri)) {
    return oauthError(ctx.res, 'invalid_grant', 'The code is invalid, expired, already used, or was issued to another client or redirect URI.');
  }
  const user = await ctx.hub.store.getUser(grantRow.user);
  if (!user || user.blocked) return oauthError(ctx.res, 'invalid_grant', 'The user the code was issued to is gone or blocked.');
  const value = newSecret();
  const now = new Date();
  const expires = new Date(Math.min(now.getTime() + TOKEN_TTL_MS, Date.parse(grantRow.tokenExpiresAt)));
  await ctx.hub.store.insertToken({
    id: newTokenId(), user: user.name, hash: hashSecret(value), prefix: value.slice(0, 4), scopes: grantRow.scopes,
    note: `OAuth: ${client.description}`.slice(0, 1000), kind: 'api', created: now.toISOString(), expiresAt: expires.toISOString(),
    lastActivity: null, oauthClient: client.id, sessionId: grantRow.sessionId,
  });
  const body = JSON.stringify({ access_token: value, token_type: 'Bearer', expires_in: Math.max(1, Math.floor((expires.getTime() - now.getTime()) / 1000)), scope: grantRow.scopes.join(' ') });
  ctx.res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
  ctx.res.end(body);
}

export function registerOAuthRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/oauth2/authorize', authorize);
  r.add('POST', '/hub/api/oauth2/token', token);
}
