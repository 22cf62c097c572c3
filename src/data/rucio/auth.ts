import { readText, send, type RucioTls } from './http.js';
import { RucioError, rucioErrorFrom } from './errors.js';

/** A Rucio token and when it stops working (ms since the epoch). */
export interface RucioToken {
  token: string;
  expiresAt: number;
  /** The account the token acts as (`X-Rucio-Auth-Account`), when the server said. */
  account?: string;
}

/** What every way of authenticating gets to work with. */
export interface AuthContext {
  authUrl: URL;
  vo: string;
  appId: string;
  tls?: RucioTls;
  timeoutMs: number;
}

/**
 * One way to obtain a Rucio token (Rucio's `auth_type`). `authenticate` is called at the first
 * request, shortly before the token expires, and again after a 401 CannotAuthenticate.
 */
export interface RucioCredential {
  readonly kind: 'userpass' | 'x509' | 'oidc';
  /** The account to act as (`X-Rucio-Account`); unset: the identity's default account. */
  readonly account?: string;
  authenticate(ctx: AuthContext): Promise<RucioToken>;
}

/**
 * Rucio's expiry header is RFC 1123 with the zone written "UTC" (`common/utils.py` DATE_FORMAT
 * `%a, %d %b %Y %H:%M:%S UTC`), which Date.parse reads only with "GMT".
 */
export function parseRucioDate(value: string): number {
  const ms = Date.parse(value.replace(/ UTC$/, ' GMT'));
  if (Number.isNaN(ms)) throw new RucioError('RucioProtocolError', `Unreadable token expiry: ${value.slice(0, 60)}`, 200);
  return ms;
}

/** Formats a date as Rucio does (RFC 1123, "UTC"). */
export function formatRucioDate(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, 'UTC');
}

async function tokenRequest(ctx: AuthContext, path: string, headers: Record<string, string>, tls?: RucioTls): Promise<RucioToken> {
  const url = new URL(path, ctx.authUrl);
  const res = await send(url, {
    method: 'GET',
    // The auth endpoints accept only application/octet-stream (check_accept_header_wrapper_flask).
    headers: { accept: 'application/octet-stream', 'x-rucio-vo': ctx.vo, 'x-rucio-appid': ctx.appId, ...headers },
    tls: tls ?? ctx.tls,
    timeoutMs: ctx.timeoutMs,
  });
  const body = await readText(res);
  if (res.statusCode === 206) {
    // The identity maps to several accounts and none was named: Rucio lists them.
    throw new RucioError('CannotAuthenticate', `The identity has several Rucio accounts (${String(res.headers['x-rucio-auth-accounts'] ?? '')}); configure which one to use.`, 206);
  }
  if (res.statusCode !== 200) throw rucioErrorFrom(res.statusCode ?? 0, res.headers, body);
  const token = res.headers['x-rucio-auth-token'];
  const expires = res.headers['x-rucio-auth-token-expires'];
  if (typeof token !== 'string' || typeof expires !== 'string') {
    throw new RucioError('RucioProtocolError', 'Rucio answered the login without X-Rucio-Auth-Token/-Expires', 200);
  }
  const account = res.headers['x-rucio-auth-account'];
  return { token, expiresAt: parseRucioDate(expires), ...(typeof account === 'string' ? { account } : {}) };
}

/** `GET /auth/userpass` with `X-Rucio-Username`/`X-Rucio-Password` (and the account, when set). */
export function userpass(opts: { username: string; password: string | (() => string); account?: string }): RucioCredential {
  return {
    kind: 'userpass',
    account: opts.account,
    authenticate(ctx) {
      const password = typeof opts.password === 'function' ? opts.password() : opts.password;
      return tokenRequest(ctx, 'auth/userpass', {
        'x-rucio-username': opts.username,
        'x-rucio-password': password,
        ...(opts.account ? { 'x-rucio-account': opts.account } : {}),
      });
    },
  };
}

/**
 * `GET /auth/x509`: the identity is the subject DN of the client certificate shown in the TLS
 * handshake (the server reads SSL_CLIENT_S_DN). Only this request needs the certificate; later
 * requests carry the token.
 */
export function x509(opts: { cert: string | Buffer; key: string | Buffer; account?: string }): RucioCredential {
  return {
    kind: 'x509',
    account: opts.account,
    authenticate(ctx) {
      return tokenRequest(ctx, 'auth/x509', opts.account ? { 'x-rucio-account': opts.account } : {}, { ...ctx.tls, cert: opts.cert, key: opts.key });
    },
  };
}

/**
 * An OIDC access token (a JWT from the facility's identity provider) used directly: Rucio reads
 * it from `X-Rucio-Auth-Token` like its own tokens, and when it is not one of its own and has
 * three dot-separated parts, validates it as a JWT (`core/authentication.py` validate_auth_token →
 * `core/oidc.py` validate_jwt: issuer, audience, scope, and an identity mapped to an account).
 * Rucio does not read `Authorization: Bearer`. The token is re-read on every authentication
 * (the file is refreshed by someone else) and expires at its `exp` claim.
 */
export function oidcToken(opts: { token: () => string | Promise<string>; account?: string }): RucioCredential {
  return {
    kind: 'oidc',
    account: opts.account,
    async authenticate() {
      const token = (await opts.token()).trim();
      return { token, expiresAt: jwtExpiry(token), ...(opts.account ? { account: opts.account } : {}) };
    },
  };
}

/** The `exp` claim of a JWT in ms; a token without one is taken to live an hour, as Rucio's own. */
export function jwtExpiry(token: string): number {
  const parts = token.split('.');
  if (parts.length !== 3) throw new RucioError('CannotAuthenticate', 'The OIDC token is not a JWT (three dot-separated parts).', 0);
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    if (typeof claims.exp === 'number') return claims.exp * 1000;
  } catch {
    throw new RucioError('CannotAuthenticate', 'The OIDC token has an unreadable payload.', 0);
  }
  return Date.now() + 3600_000;
}
