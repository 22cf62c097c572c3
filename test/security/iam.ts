/**
 * An identity provider set up like INDIGO-IAM, for real (npm oidc-provider on its own port):
 * a root issuer (`http://127.0.0.1:<port>/`), subjects that are UUIDs, groups only under
 * `wlcg.groups` (userinfo and JWT access tokens, not the ID token), and JWT access tokens
 * (RFC 9068, ES256) for the resources clients name with RFC 8707 `resource`. "Signing in" logs
 * in whoever `loginAs` names, as if the browser were already signed in at IAM.
 *
 * Storage tokens as IAM issues them: the hub's client may use the RFC 8693 token exchange
 * (`subject_token` = a user's access token, `scope` with `storage.*` and `offline_access`,
 * `audience`) and refresh grants with a narrower `scope` and an `audience`. Storage scopes are
 * granted by a scope policy per account (read under /public, everything under /user/<username>,
 * read under /<group> for each group), requested scopes outside it are left out, as IAM does;
 * access tokens are WLCG-profile JWTs (ES256, `wlcg.ver`, `scope`, `aud`). The token exchange and
 * refresh handlers are registered into oidc-provider (client authentication and errors are its own).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import * as client from 'openid-client';
import { Provider, errors as oidcErrors } from 'oidc-provider';
import { Browser } from '../auth/browser.js';
import { CookieJar, http as request, type Reply } from '../helpers/http.js';

export interface IamAccount {
  sub: string;
  /** Sent as preferred_username, exactly as given (it may be something the hub refuses). */
  username: string;
  groups: string[];
}

export const HUB_CLIENT = 'highrate';
export const CLI_CLIENT = 'oidc-agent';
export const CLIENT_SECRET = 'iam-like-client-secret-0123456789abcdef';
/** Resources (audiences) this IdP issues JWT access tokens for. */
export const RESOURCES = ['https://highrate.test/hub/api', 'https://other.example/api'];
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

interface StorageRefresh { sub: string; clientId: string; scope: string[]; revoked: boolean }
/** A grant request as IAM saw it (no token values), for tests to check what the hub asked for. */
export interface SeenGrant { grantType: string; clientId: string; scope: string; audience: string | undefined }

export class IamLike {
  readonly accounts = new Map<string, IamAccount>();
  /** Who the next authorization logs in (a username of `accounts`). */
  loginAs = '';
  /** Lifetime of the storage access tokens it issues, seconds. */
  storageTokenTtl = 600;
  /** Issue a new refresh token at every refresh (IAM does not by default). */
  rotateRefreshTokens = false;
  /** Token exchange and refresh requests, oldest first. */
  readonly grants: SeenGrant[] = [];
  readonly #refresh = new Map<string, StorageRefresh>();
  #key: CryptoKey | undefined;
  #server: http.Server;
  readonly issuer: string;
  readonly cliRedirect: string;

  private constructor(server: http.Server, issuer: string) {
    this.#server = server;
    this.issuer = issuer;
    this.cliRedirect = `${issuer}cli-callback`;
  }

  /** Starts the provider; `hubRedirect` is the hub's /hub/oauth_callback. */
  static async start(hubRedirect: string): Promise<IamLike> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const iam = new IamLike(server, issuer);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const bySub = (sub: string) => [...iam.accounts.values()].find((a) => a.sub === sub);
    const provider = new Provider(issuer, {
      clients: [
        { client_id: HUB_CLIENT, client_secret: CLIENT_SECRET, redirect_uris: [hubRedirect], grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
        { client_id: CLI_CLIENT, client_secret: CLIENT_SECRET, redirect_uris: [iam.cliRedirect], grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
      ],
      claims: { openid: ['sub'], profile: ['preferred_username', 'name'], 'wlcg.groups': ['wlcg.groups'] },
      scopes: ['openid', 'profile', 'wlcg.groups'],
      async findAccount(_ctx, sub) {
        const a = bySub(sub);
        if (!a) return undefined;
        return { accountId: sub, claims: () => ({ sub, preferred_username: a.username, name: a.username, 'wlcg.groups': [...a.groups] }) };
      },
      features: {
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => undefined,
          useGrantedResource: async () => true,
          async getResourceServerInfo(_ctx: unknown, resource: string) {
            if (!RESOURCES.includes(resource)) throw new oidcErrors.InvalidTarget();
            return { scope: 'wlcg.groups', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'ES256' } } };
          },
        },
      },
      // IAM puts the groups into its JWT access tokens (when wlcg.groups was asked for).
      async extraTokenClaims(_ctx: unknown, token: { kind: string; accountId?: string }) {
        if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
        const a = bySub(token.accountId);
        return a ? { 'wlcg.groups': [...a.groups] } : undefined;
      },
      pkce: { required: () => true },
      jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'iam-like-1', alg: 'ES256', use: 'sig' }] },
      cookies: { keys: ['iam-like-cookie-key-0123456789abcdef'] },
      ttl: { AccessToken: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60 },
    });
    iam.#key = privateKey;
    iam.#registerStorageGrants(provider, privateKey);
    const handler = provider.callback();
    server.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
      try {
        if (req.url?.startsWith('/cli-callback')) return void res.writeHead(200).end('cli');
        if (!req.url?.startsWith('/interaction/')) return handler(req, res);
        const details = await provider.interactionDetails(req, res);
        const account = iam.accounts.get(iam.loginAs);
        if (!account) return void res.writeHead(500).end(`no account ${iam.loginAs}`);
        if (details.prompt.name === 'login') {
          await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new provider.Grant({ accountId: account.sub, clientId: String(details.params.client_id) });
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
    return iam;
  }

  /** IAM's scope policy: the storage scopes `a` may have. */
  #allowed(a: IamAccount): string[] {
    const own = `/user/${a.username}`;
    return ['storage.read:/public', `storage.read:${own}`, `storage.create:${own}`, `storage.modify:${own}`, ...a.groups.map((g) => `storage.read:${g}`)];
  }

  /** Of `requested`, the storage scopes `allowed` covers (same action, same path or below it) and offline_access. */
  static #grantScopes(requested: string[], allowed: string[]): string[] {
    return requested.filter((r) => {
      if (r === 'offline_access') return true;
      const m = /^(storage\.[a-z]+):(\/.*)$/.exec(r);
      if (!m) return false;
      return allowed.some((a) => {
        const [action, path] = [a.slice(0, a.indexOf(':')), a.slice(a.indexOf(':') + 1)];
        return action === m[1] && (m[2] === path || m[2]!.startsWith(`${path}/`) || path === '/');
      });
    });
  }

  async #storageAccessToken(sub: string, scope: string[], audience: string | undefined, clientId: string): Promise<{ token: string; scope: string }> {
    const s = scope.filter((x) => x !== 'offline_access').join(' ');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ 'wlcg.ver': '1.0', scope: s, client_id: clientId, jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'iam-like-1', typ: 'JWT' })
      .setIssuer(this.issuer).setSubject(sub).setAudience(audience ?? 'https://wlcg.cern.ch/jwt/v1/any')
      .setIssuedAt(now).setNotBefore(now - 5).setExpirationTime(now + this.storageTokenTtl)
      .sign(this.#key!);
    return { token, scope: s };
  }

  // oidc-provider's own typings (src/idp/oidc-provider.d.ts) cover only what the hub uses.
  #registerStorageGrants(provider: any, key: CryptoKey): void {
    const params = ['subject_token', 'subject_token_type', 'requested_token_type', 'scope', 'audience'];
    provider.registerGrantType(TOKEN_EXCHANGE, async (ctx: any) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      const clientId = ctx.oidc.client.clientId as string;
      this.grants.push({ grantType: TOKEN_EXCHANGE, clientId, scope: p.scope ?? '', audience: p.audience });
      if (p.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token') throw new oidcErrors.InvalidRequest('subject_token_type must be an access token');
      // The subject: an opaque access token of this provider, or one of its JWT access tokens.
      let sub: string | undefined = (await provider.AccessToken.find(p.subject_token ?? ''))?.accountId;
      if (!sub) sub = await jwtVerify(p.subject_token ?? '', key, { issuer: this.issuer }).then((r) => r.payload.sub, () => undefined);
      const account = sub ? [...this.accounts.values()].find((a) => a.sub === sub) : undefined;
      if (!account) throw new oidcErrors.InvalidGrant('subject_token is invalid or expired');
      const scope = IamLike.#grantScopes((p.scope ?? '').split(' ').filter(Boolean), this.#allowed(account));
      if (!scope.some((x) => x.startsWith('storage.'))) throw new oidcErrors.InvalidScope('none of the requested scopes is allowed', p.scope ?? '');
      const at = await this.#storageAccessToken(account.sub, scope, p.audience, clientId);
      const body: Record<string, unknown> = { access_token: at.token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: this.storageTokenTtl, scope: scope.join(' ') };
      if (scope.includes('offline_access')) {
        const rt = `iamlike-rt-${randomUUID()}`;
        this.#refresh.set(rt, { sub: account.sub, clientId, scope, revoked: false });
        body.refresh_token = rt;
      }
      ctx.body = body;
    }, params);
    provider.registerGrantType('refresh_token', async (ctx: any) => {
      const p = ctx.oidc.params as Record<string, string | undefined>;
      const clientId = ctx.oidc.client.clientId as string;
      this.grants.push({ grantType: 'refresh_token', clientId, scope: p.scope ?? '', audience: p.audience });
      const held = this.#refresh.get(p.refresh_token ?? '');
      if (!held || held.revoked || held.clientId !== clientId) throw new oidcErrors.InvalidGrant('refresh token invalid or revoked');
      const account = [...this.accounts.values()].find((a) => a.sub === held.sub);
      if (!account) throw new oidcErrors.InvalidGrant('the account is gone');
      const requested = p.scope ? p.scope.split(' ').filter(Boolean) : held.scope;
      const scope = IamLike.#grantScopes(requested, held.scope.filter((x) => x.startsWith('storage.')));
      if (scope.length === 0) throw new oidcErrors.InvalidScope('the requested scopes exceed the grant', p.scope ?? '');
      const at = await this.#storageAccessToken(account.sub, scope, p.audience, clientId);
      const body: Record<string, unknown> = { access_token: at.token, token_type: 'Bearer', expires_in: this.storageTokenTtl, scope: at.scope };
      if (this.rotateRefreshTokens) {
        held.revoked = true;
        const rt = `iamlike-rt-${randomUUID()}`;
        this.#refresh.set(rt, { ...held, revoked: false });
        body.refresh_token = rt;
      }
      ctx.body = body;
    }, ['refresh_token', 'scope', 'audience']);
  }

  /** Revokes every refresh token of `username` (as an IAM admin or the user's "revoke" would). */
  revokeRefreshTokens(username: string): number {
    const sub = this.accounts.get(username)?.sub;
    let n = 0;
    for (const r of this.#refresh.values()) if (r.sub === sub && !r.revoked) { r.revoked = true; n++; }
    return n;
  }

  /** The issuer's public keys as its jwks_uri serves them. */
  async jwks(): Promise<{ keys: Array<Record<string, unknown>> }> {
    return (await request('GET', `${this.issuer}jwks`)).json();
  }

  /** Adds (or replaces) an account; returns it. */
  add(username: string, groups: string[]): IamAccount {
    const a = { sub: this.accounts.get(username)?.sub ?? randomUUID(), username, groups };
    this.accounts.set(username, a);
    return a;
  }

  /**
   * A JWT access token for `username` and `resource`, obtained as a command-line client
   * (oidc-agent) does: authorization code + PKCE with `resource`, then the token endpoint.
   */
  async accessToken(username: string, resource: string): Promise<string> {
    const config = await client.discovery(new URL(this.issuer), CLI_CLIENT, CLIENT_SECRET, undefined, { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.cliRedirect, scope: 'openid profile wlcg.groups', resource, state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    this.loginAs = username;
    const nav = await new Browser().navigate(url, this.cliRedirect);
    if (!nav.stoppedAt) throw new Error(`no code: ${nav.page?.status} ${nav.page?.body.slice(0, 300)}`);
    const tokens = await client.authorizationCodeGrant(config, nav.stoppedAt, { pkceCodeVerifier: verifier, expectedState: state }, { resource });
    return tokens.access_token;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/**
 * Logs in at the hub through IAM with a plain cookie jar (cookies are per host, not per port, in
 * browsers too, so one jar serves the hub and IAM on 127.0.0.1). Follows redirects until a
 * response that is not one, or one to `stopAtPath` on the hub; returns the jar (with the hub's
 * session and _xsrf cookies on success) and the last response.
 */
export async function iamLogin(base: string, iam: IamLike, username: string, next = '/hub/home', stopAtPath = '/hub/home'): Promise<{ jar: CookieJar; last: Reply; location: string | null }> {
  iam.loginAs = username;
  const jar = new CookieJar();
  let url = `${base}/hub/login?next=${encodeURIComponent(next)}`;
  for (let hop = 0; hop < 20; hop++) {
    const r = await request('GET', url, { headers: { cookie: jar.header(), accept: 'text/html' } });
    jar.take(r.headers['set-cookie']);
    const location = typeof r.headers.location === 'string' ? r.headers.location : null;
    if (r.status < 300 || r.status >= 400 || !location) return { jar, last: r, location: null };
    const nextUrl = new URL(location, url);
    if (nextUrl.origin === new URL(base).origin && nextUrl.pathname === stopAtPath) return { jar, last: r, location };
    if (nextUrl.origin !== new URL(base).origin && nextUrl.origin !== new URL(iam.issuer).origin) return { jar, last: r, location };
    url = nextUrl.href;
  }
  throw new Error('too many redirects');
}
