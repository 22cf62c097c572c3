/**
 * An identity provider set up like INDIGO-IAM, for real (npm oidc-provider on its own port):
 * a root issuer (`http://127.0.0.1:<port>/`), subjects that are UUIDs, groups only under
 * `wlcg.groups` (userinfo and JWT access tokens, not the ID token), and JWT access tokens
 * (RFC 9068, ES256) for the resources clients name with RFC 8707 `resource`. "Signing in" logs
 * in whoever `loginAs` names, as if the browser were already signed in at IAM.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
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

export class IamLike {
  readonly accounts = new Map<string, IamAccount>();
  /** Who the next authorization logs in (a username of `accounts`). */
  loginAs = '';
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
        { client_id: HUB_CLIENT, client_secret: CLIENT_SECRET, redirect_uris: [hubRedirect], grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256' },
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
