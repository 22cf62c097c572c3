import { readFileSync } from 'node:fs';
/**
 * The hub's OpenID Connect login (relying party), on openid-client v6. One code path for the
 * embedded IdP and for external issuers (INDIGO-IAM, Keycloak, CILogon): authorization code flow,
 * always with PKCE (S256), state and nonce.
 *
 * Where identity comes from — only verified sources:
 * - the ID token from the token endpoint; its signature is checked against the issuer's JWKS
 *   (`enableNonRepudiationChecks`, so this also holds for the embedded IdP over plain http), as
 *   are iss, aud, exp, nonce;
 * - the userinfo response, fetched with the access token from the discovered endpoint of the
 *   configured issuer (its `sub` must equal the ID token's).
 * Never from an unverified token decode, never from the access token's payload.
 *
 * Merge rule: claims = ID token claims, overlaid by the userinfo claims, except the protocol
 * claims (iss, sub, aud, exp, iat, nonce, …) which always come from the ID token. So the groups
 * come from userinfo when userinfo carries the groups claim, otherwise from the ID token, otherwise
 * there are none. Group values are kept exactly as sent (IAM's `wlcg.groups` look like
 * `/cms/analysis`, with the leading slash); non-string entries are dropped, duplicates collapse.
 */
import { timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { fail, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { normaliseUsername, usernameProblem } from './username.js';

export interface OidcLoginConfig {
  /** Issuer identifier, e.g. `https://iam-icsc.cloud.infn.it/` or `http://127.0.0.1:8000/oidc`. */
  issuer: string;
  clientId: string;
  /** Omit for a public client (then only PKCE protects the code). */
  clientSecret?: string;
  /** The hub's callback URL, exactly as registered at the IdP. */
  redirectUri: string;
  /** Must include `openid`. IAM: openid profile email wlcg.groups. */
  scopes: string[];
  /** Claim holding the username, e.g. `preferred_username`. */
  usernameClaim: string;
  /** Claim holding the groups: `groups`, or IAM's `wlcg.groups`, CILogon's `isMemberOf`. */
  groupsClaim: string;
  /** Allow an http:// issuer (the embedded IdP on 127.0.0.1). Never for a remote IdP. */
  allowHttp?: boolean;
  /** Also call the userinfo endpoint (default true, when the issuer has one). */
  fetchUserinfo?: boolean;
  /** How the hub authenticates at the token endpoint (default client_secret_basic, or none without a secret). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** Timeout for each request to the IdP, seconds (default 15). */
  timeoutSeconds?: number;
}

/** What `start` returns; the hub keeps state, codeVerifier, nonce (and next) server-side or in a signed cookie. */
export interface OidcLoginStart {
  /** Where to redirect the browser. */
  url: string;
  state: string;
  codeVerifier: string;
  nonce: string;
  /** `next` made safe: a local path, or `/hub/` when the given one was not. */
  next: string;
}

export interface OidcLoginSaved {
  state: string;
  codeVerifier: string;
  nonce: string;
}

export interface OidcLoginResult {
  /** Normalised username (auth/username.ts). */
  username: string;
  /** Groups exactly as the IdP sent them (see the merge rule above). */
  groups: string[];
  /** The merged, verified claims. */
  claims: Record<string, unknown>;
  /** The tokens, for auth state / logout hints. Secrets: never log them. */
  tokens: { accessToken: string; idToken?: string; refreshToken?: string; expiresIn?: number; scope?: string };
}

export interface OidcLogin {
  /** Builds the authorization URL (discovering the issuer on first use). */
  start(next: string): Promise<OidcLoginStart>;
  /**
   * Completes the login from the callback URL. Only its query string is used; the redirect URI
   * sent to the token endpoint is always the configured one. Each state is accepted once.
   */
  finish(callbackUrl: URL, saved: OidcLoginSaved): Promise<OidcLoginResult>;
  /** The IdP's RP-initiated logout URL, or undefined when the IdP has no end_session endpoint. */
  logoutUrl(opts?: { idTokenHint?: string; postLogoutRedirectUri?: string }): Promise<string | undefined>;
  /**
   * A request to the issuer's token endpoint as this client (a refresh, an RFC 8693 token
   * exchange). Throws UPSTREAM_UNAVAILABLE when the issuer cannot be reached, else
   * `GrantRefused` with the issuer's OAuth error (never a token in it).
   */
  grant(grantType: string, params: Record<string, string>): Promise<OidcGrantResult>;
  /** Whether the issuer's metadata lists `grantType` in grant_types_supported (absent list: unknown, true). */
  supportsGrant(grantType: string): Promise<boolean>;
  /** The issuer's public signing keys (its jwks_uri), for storage elements provisioned with them. */
  jwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
}

/** What the token endpoint gave. Secrets: never log them. */
export interface OidcGrantResult {
  accessToken: string;
  refreshToken?: string;
  /** Seconds. */
  expiresIn?: number;
  scope?: string;
}

/** The issuer answered a grant with an OAuth error (RFC 6749 §5.2), e.g. invalid_grant for a revoked refresh token. */
export class GrantRefused extends Error {
  constructor(readonly error: string, readonly description: string | undefined, readonly status: number) {
    super(`${error}${description ? ` (${quote(description)})` : ''} status ${status}`);
    this.name = 'GrantRefused';
  }
}

/** Claims that always come from the ID token, never from userinfo. */
const PROTOCOL_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'auth_time', 'acr', 'amr', 'sid', 'at_hash', 'c_hash', 's_hash', 'jti'];
/** How long a used state is remembered to refuse a replayed callback before it reaches the IdP. */
const USED_STATE_TTL_MS = 30 * 60 * 1000;
const DEFAULT_NEXT = '/hub/';

/** A local path to return to after login, or `/hub/`: never another origin (`//evil`, `/\evil`, `https:`). */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return DEFAULT_NEXT;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || /[\x00-\x1f\x7f\\]/.test(next)) return DEFAULT_NEXT;
  return next;
}

/** Makes an IdP-supplied value safe to quote in a message: printable, short. */
function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const printable = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable;
}

/** Groups from a claim value: a list of strings (or one string); anything else counts as none. */
export function groupsFromClaim(value: unknown): string[] {
  if (typeof value === 'string') return value ? [value] : [];
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((g): g is string => typeof g === 'string' && g.length > 0))];
}

/** The merge rule (see the module comment): userinfo overlays the ID token, protocol claims excepted. */
export function mergeClaims(idToken: Record<string, unknown>, userinfo: Record<string, unknown> | undefined): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...idToken, ...(userinfo ?? {}) };
  for (const name of PROTOCOL_CLAIMS) {
    if (name in idToken) claims[name] = idToken[name];
    else delete claims[name];
  }
  return claims;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkConfig(cfg: OidcLoginConfig): URL {
  let issuer: URL;
  try {
    issuer = new URL(cfg.issuer);
  } catch {
    throw fail('CONFIG_INVALID', `The OIDC issuer "${quote(cfg.issuer)}" is not a URL.`);
  }
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && cfg.allowHttp)) {
    throw fail('CONFIG_INVALID', `The OIDC issuer ${issuer.origin} must use https (plain http is allowed only with allowHttp, for the embedded IdP on this machine).`);
  }
  try {
    new URL(cfg.redirectUri);
  } catch {
    throw fail('CONFIG_INVALID', `The OIDC redirect URI "${quote(cfg.redirectUri)}" is not a URL.`);
  }
  if (!cfg.clientId) throw fail('CONFIG_INVALID', 'The OIDC client id is missing.');
  if (!cfg.scopes.includes('openid')) throw fail('CONFIG_INVALID', 'The OIDC scopes must include "openid".');
  if (!cfg.usernameClaim || !cfg.groupsClaim) throw fail('CONFIG_INVALID', 'The OIDC username and groups claims must be named.');
  if (cfg.allowHttp && issuer.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname)) {
    log.warn('oidc issuer over plain http on a non-loopback host: tokens can be intercepted', { issuer: issuer.origin });
  }
  return issuer;
}

function clientAuth(cfg: OidcLoginConfig): client.ClientAuth {
  const method = cfg.tokenEndpointAuthMethod ?? (cfg.clientSecret ? 'client_secret_basic' : 'none');
  if (method === 'none') return client.None();
  if (!cfg.clientSecret) throw fail('CONFIG_INVALID', `The OIDC token endpoint auth method ${method} needs a client secret.`);
  return method === 'client_secret_post' ? client.ClientSecretPost(cfg.clientSecret) : client.ClientSecretBasic(cfg.clientSecret);
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
  return err instanceof TypeError && err.message === 'fetch failed';
}

/**
 * Maps openid-client errors to catalogue errors with user-safe messages. The detail (logs only)
 * names the error class/code and the IdP's error code and description, never tokens or bodies.
 */
function toLoginError(err: unknown, step: string): HighrateError {
  if (err instanceof HighrateError) return err;
  if (isNetworkError(err)) {
    return fail('UPSTREAM_UNAVAILABLE', 'The identity provider is not reachable right now. Try again in a moment.', { detail: `${step}: ${(err as Error).name}: ${(err as Error).message}`, cause: err });
  }
  if (err instanceof client.ResponseBodyError) {
    const detail = `${step}: ${err.error}${err.error_description ? ` (${quote(err.error_description)})` : ''} status ${err.status}`;
    if (err.error === 'invalid_grant') {
      return fail('BAD_REQUEST', 'This login response was already used or has expired. Start the login again.', { detail });
    }
    return fail('LOGIN_REFUSED', 'The identity provider refused to complete the login. Start the login again, or contact the administrator if it keeps failing.', { detail });
  }
  if (err instanceof client.AuthorizationResponseError) {
    return fail('LOGIN_REFUSED', 'The identity provider refused the login.', { detail: `${step}: ${err.error}` });
  }
  if (err instanceof client.ClientError || err instanceof client.WWWAuthenticateChallengeError) {
    const code = (err as { code?: string }).code;
    return fail('LOGIN_REFUSED', 'The answer from the identity provider could not be verified, so the login was refused.', { detail: `${step}: ${err.message}${code ? ` [${code}]` : ''}` });
  }
  return fail('INTERNAL', undefined, { detail: `${step}: ${err instanceof Error ? err.message : String(err)}`, cause: err });
}

/** The part of the config's `auth.oidc` a login flow is made from (src/config/schema.ts OidcSchema). */
export interface ExternalOidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  clientSecretFile?: string | undefined;
  scopes: string[];
  usernameClaim: string;
  groupsClaim: string;
  fetchUserinfo: boolean;
}

/**
 * The login settings for an external issuer (auth.kind oidc): the client secret from its file,
 * the config, or HIGHRATE_OIDC_CLIENT_SECRET, in that order; the callback at `publicUrl`.
 */
export function externalOidcConfig(o: ExternalOidcSettings, publicUrl: string): OidcLoginConfig {
  const clientSecret = o.clientSecretFile ? readFileSync(o.clientSecretFile, 'utf8').trim() : (o.clientSecret ?? process.env.HIGHRATE_OIDC_CLIENT_SECRET);
  return {
    issuer: o.issuer, clientId: o.clientId, clientSecret, redirectUri: `${publicUrl}/hub/oauth_callback`,
    scopes: o.scopes, usernameClaim: o.usernameClaim, groupsClaim: o.groupsClaim, allowHttp: o.issuer.startsWith('http:'), fetchUserinfo: o.fetchUserinfo,
  };
}

/**
 * Creates the login flow for one issuer. Nothing is fetched until the first `start`/`finish`;
 * a failed discovery is not cached, so the next login retries it.
 */
export function createOidcLogin(cfg: OidcLoginConfig): OidcLogin {
  const issuer = checkConfig(cfg);
  const auth = clientAuth(cfg);
  const timeout = cfg.timeoutSeconds ?? 15;
  const usedStates = new Map<string, number>();
  let discovered: Promise<client.Configuration> | undefined;

  function configuration(): Promise<client.Configuration> {
    discovered ??= client.discovery(issuer, cfg.clientId, cfg.clientSecret, auth, {
      timeout,
      execute: [client.enableNonRepudiationChecks, ...(cfg.allowHttp ? [client.allowInsecureRequests] : [])],
    }).catch(function discoveryFailed(err: unknown): never {
      discovered = undefined;
      let mapped = toLoginError(err, 'discovery');
      // Whatever went wrong (unreachable, bad document, issuer mismatch), for the user the IdP is unavailable.
      if (mapped.code !== 'UPSTREAM_UNAVAILABLE') {
        mapped = fail('UPSTREAM_UNAVAILABLE', 'The identity provider is misconfigured or not reachable right now. Try again in a moment.', { detail: mapped.detail, cause: err });
      }
      log.warn('oidc discovery failed', { issuer: issuer.href, detail: mapped.detail });
      throw mapped;
    });
    return discovered;
  }

  function rememberState(state: string): boolean {
    const now = Date.now();
    for (const [s, until] of usedStates) if (until <= now) usedStates.delete(s);
    if (usedStates.has(state)) return false;
    usedStates.set(state, now + USED_STATE_TTL_MS);
    return true;
  }

  async function start(next: string): Promise<OidcLoginStart> {
    const config = await configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: cfg.redirectUri,
      scope: cfg.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, codeVerifier, nonce, next: safeNextPath(next) };
  }

  async function finish(callbackUrl: URL, saved: OidcLoginSaved): Promise<OidcLoginResult> {
    if (!saved || typeof saved.state !== 'string' || !saved.state || typeof saved.codeVerifier !== 'string' || typeof saved.nonce !== 'string') {
      throw fail('BAD_REQUEST', 'No login is in progress in this browser. Start the login again.');
    }
    const params = callbackUrl.searchParams;
    const state = params.get('state');
    if (state === null || !sameString(state, saved.state)) {
      throw fail('BAD_REQUEST', 'This login response does not belong to the login started in this browser. Start the login again.');
    }
    if (!rememberState(saved.state)) {
      throw fail('BAD_REQUEST', 'This login response was already used. Start the login again.');
    }
    const error = params.get('error');
    if (error !== null) {
      const detail = `authorization: ${quote(error)}${params.get('error_description') ? ` (${quote(params.get('error_description'))})` : ''}`;
      if (error === 'access_denied') throw fail('LOGIN_REFUSED', 'The login was cancelled or refused at the identity provider.', { detail });
      throw fail('LOGIN_REFUSED', `The identity provider refused the login (${quote(error).replace(/[^\w.-]/g, '')}).`, { detail });
    }

    const config = await configuration();
    // Only the query of the callback counts: the redirect_uri sent to the token endpoint must be
    // the registered one, whatever host the hub saw the callback on.
    const current = new URL(cfg.redirectUri);
    current.search = callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: saved.codeVerifier,
        expectedState: saved.state,
        expectedNonce: saved.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw toLoginError(err, 'token');
    }
    const idClaims = tokens.claims() as Record<string, unknown> | undefined;
    if (!idClaims) throw fail('LOGIN_REFUSED', 'The identity provider sent no ID token, so the login was refused.');

    let userinfo: Record<string, unknown> | undefined;
    if (cfg.fetchUserinfo !== false && config.serverMetadata().userinfo_endpoint) {
      try {
        userinfo = await client.fetchUserInfo(config, tokens.access_token, String(idClaims.sub)) as Record<string, unknown>;
      } catch (err) {
        throw toLoginError(err, 'userinfo');
      }
    }

    const claims = mergeClaims(idClaims, userinfo);
    const raw = claims[cfg.usernameClaim];
    if (raw === undefined || raw === null || raw === '') {
      throw fail('LOGIN_REFUSED', `The identity provider did not send the "${cfg.usernameClaim}" claim, which is needed for your username here. Ask the administrator to check the requested scopes.`);
    }
    const username = typeof raw === 'string' ? normaliseUsername(raw) : null;
    if (username === null) {
      throw fail('LOGIN_REFUSED', `Your username "${quote(raw)}" cannot be used here: ${usernameProblem(raw)}. Ask the administrator for help.`);
    }
    const groups = groupsFromClaim(claims[cfg.groupsClaim]);
    log.info('oidc login', { issuer: issuer.href, username, groups: groups.length, userinfo: userinfo !== undefined });
    return {
      username,
      groups,
      claims,
      tokens: {
        accessToken: tokens.access_token,
        idToken: tokens.id_token,
        refreshToken: tokens.refresh_token,
        expiresIn: tokens.expiresIn(),
        scope: tokens.scope,
      },
    };
  }

  async function logoutUrl(opts: { idTokenHint?: string; postLogoutRedirectUri?: string } = {}): Promise<string | undefined> {
    const config = await configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = { client_id: cfg.clientId };
    if (opts.idTokenHint) params.id_token_hint = opts.idTokenHint;
    if (opts.postLogoutRedirectUri) params.post_logout_redirect_uri = opts.postLogoutRedirectUri;
    return client.buildEndSessionUrl(config, params).href;
  }

  async function grant(grantType: string, params: Record<string, string>): Promise<OidcGrantResult> {
    const config = await configuration();
    try {
      const r = grantType === 'refresh_token'
        ? await client.refreshTokenGrant(config, params.refresh_token ?? '', Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'refresh_token')))
        : await client.genericGrantRequest(config, grantType, params);
      return { accessToken: r.access_token, refreshToken: r.refresh_token, expiresIn: r.expiresIn(), scope: r.scope };
    } catch (err) {
      if (err instanceof client.ResponseBodyError) throw new GrantRefused(err.error, err.error_description, err.status);
      if (isNetworkError(err)) throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider is not reachable right now. Try again in a moment.', { detail: `${grantType}: ${(err as Error).name}: ${(err as Error).message}`, cause: err });
      throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider gave an answer that could not be used. Try again in a moment.', { detail: `${grantType}: ${err instanceof Error ? err.message : String(err)}`, cause: err });
    }
  }

  async function supportsGrant(grantType: string): Promise<boolean> {
    const supported = (await configuration()).serverMetadata().grant_types_supported;
    return !Array.isArray(supported) || supported.includes(grantType);
  }

  async function jwks(): Promise<{ keys: Array<Record<string, unknown>> }> {
    const uri = (await configuration()).serverMetadata().jwks_uri;
    if (!uri) throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider publishes no signing keys (jwks_uri).');
    const res = await fetch(uri, { signal: AbortSignal.timeout(timeout * 1000), headers: { accept: 'application/json' } })
      .catch((err: unknown) => { throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider\'s signing keys could not be fetched. Try again in a moment.', { detail: `jwks: ${String(err)}`, cause: err }); });
    const body = await res.json().catch(() => null) as { keys?: unknown } | null;
    if (!res.ok || !body || !Array.isArray(body.keys)) throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider\'s signing keys could not be read.', { detail: `jwks: HTTP ${res.status}` });
    return { keys: body.keys.filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null && !('d' in k)) };
  }

  return { start, finish, logoutUrl, grant, supportsGrant, jwks };
}
