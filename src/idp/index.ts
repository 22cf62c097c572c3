import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
// Before oidc-provider: filters its Node 20 "Unsupported runtime" line (see runtime-warning.ts).
import { endRuntimeWarningFilter } from './runtime-warning.js';
import { Provider, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import { IDP_DATABASE_FILE, openIdpDatabase, SqliteAccountStore, type AccountStore } from './accounts.js';
import { createSqliteAdapterFactory } from './adapter.js';
import { handleInteraction } from './interactions.js';
import { loadOrCreateCookieKeys, loadOrCreateJwks } from './keys.js';
import { errorPage, loggedOutPage, logoutPage, messagePage, securityHeaders, STYLESHEET, STYLESHEET_PATH } from './pages.js';
import { DEFAULT_LOGIN_RATE_LIMIT, FailedLoginLimiter, type LoginRateLimit } from './rate-limit.js';

export type { Account, AccountStore } from './accounts.js';
export type { LoginRateLimit } from './rate-limit.js';

/** A first-party client of the embedded IdP (the hub itself). */
export interface EmbeddedIdpClient {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  /** Where RP-initiated logout may send the browser afterwards (default: none). */
  post_logout_redirect_uris?: string[];
  /** Shown on the login page ("to continue to …"); default: the client id. */
  client_name?: string;
}

export interface EmbeddedIdpOptions {
  /** The public issuer URL, e.g. `http://127.0.0.1:8000/oidc`; its path is where `handle` is mounted. */
  issuer: string;
  /** Directory for keys (0600 files) and the IdP's SQLite file; created 0700 if missing. */
  dataDir: string;
  clients: EmbeddedIdpClient[];
  /** Name of the groups claim (default `groups`; `wlcg.groups` to look like INDIGO-IAM). */
  groupsClaim?: string;
  /**
   * Trust X-Forwarded-Proto/Host/For from the proxy in front (default true: the hub listens on
   * 127.0.0.1 behind highrate's proxy). Set false if the hub is reachable without that proxy.
   */
  trustProxy?: boolean;
  /** Failed-login limits (default 10 per username and 30 per IP per 60 s). */
  loginRateLimit?: Partial<LoginRateLimit>;
}

export interface EmbeddedIdp {
  /** The issuer, as configured (also the `iss` of every token). */
  readonly issuer: string;
  /**
   * A node:http handler for every request whose path starts with the issuer's path (`/oidc/...`):
   * discovery, authorization, token, userinfo, JWKS, end_session, the login pages and the stylesheet.
   */
  handle(req: IncomingMessage, res: ServerResponse): void;
  accounts: AccountStore;
  /**
   * Ends every sign-in session `username` has at this IdP (the hub calls it at logout), so the
   * next login asks for the password instead of signing in silently. Returns how many ended.
   */
  endSessions(username: string): number;
  /** Stops timers and closes the SQLite file. Requests after close fail. */
  close(): Promise<void>;
}

endRuntimeWarningFilter();

export { IDP_DATABASE_FILE };

/** Lifetimes (seconds). Set explicitly, so none of oidc-provider's "please customise" defaults apply. */
const TTL = {
  AuthorizationCode: 60,
  AccessToken: 60 * 60,
  IdToken: 60 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
  ClientCredentials: 10 * 60,
  DeviceCode: 10 * 60,
  BackchannelAuthenticationRequest: 10 * 60,
  PreAuthorizedCode: 10 * 60,
  // A login page left open longer than this has to be reloaded from the application.
  Interaction: 15 * 60,
  // How long a browser stays signed in to the IdP (single sign-on) without typing the password.
  Session: 12 * 60 * 60,
  Grant: 14 * 24 * 60 * 60,
};

function checkOptions(opts: EmbeddedIdpOptions): URL {
  let issuer: URL;
  try {
    issuer = new URL(opts.issuer);
  } catch {
    throw fail('CONFIG_INVALID', `The embedded IdP issuer "${opts.issuer}" is not a URL.`);
  }
  if (!['http:', 'https:'].includes(issuer.protocol) || issuer.search || issuer.hash || issuer.username || issuer.password) {
    throw fail('CONFIG_INVALID', `The embedded IdP issuer "${opts.issuer}" must be a plain http(s) URL without query, fragment or credentials.`);
  }
  if (!opts.clients.length) throw fail('CONFIG_INVALID', 'The embedded IdP needs at least one client.');
  for (const c of opts.clients) {
    if (!c.client_id || !c.client_secret || c.client_secret.length < 32) {
      throw fail('CONFIG_INVALID', `Embedded IdP client "${c.client_id}": a client id and a secret of at least 32 characters are required.`);
    }
    if (!c.redirect_uris.length) throw fail('CONFIG_INVALID', `Embedded IdP client "${c.client_id}" has no redirect URI.`);
    // oidc-provider validates static clients only when first used; refuse bad URIs at start instead.
    for (const uri of [...c.redirect_uris, ...(c.post_logout_redirect_uris ?? [])]) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(uri);
      } catch {
        parsed = undefined;
      }
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.hash) {
        throw fail('CONFIG_INVALID', `Embedded IdP client "${c.client_id}": "${uri}" is not an absolute http(s) URL without fragment.`);
      }
    }
  }
  const groupsClaim = opts.groupsClaim ?? 'groups';
  if (!/^[A-Za-z][A-Za-z0-9._:-]{0,63}$/.test(groupsClaim) || ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'preferred_username'].includes(groupsClaim)) {
    throw fail('CONFIG_INVALID', `"${groupsClaim}" cannot be used as the groups claim name.`);
  }
  return issuer;
}

function originsOf(urls: string[]): string[] {
  const origins = new Set<string>();
  for (const u of urls) {
    try {
      origins.add(new URL(u).origin);
    } catch {
      // An invalid redirect URI is rejected by oidc-provider's client validation below.
    }
  }
  return [...origins];
}

/**
 * Starts the embedded OpenID Provider (oidc-provider v9): code flow with PKCE S256 only, signing keys
 * and cookie keys persisted in `dataDir`, accounts and provider state in `dataDir/idp.sqlite`.
 * Claims: `sub` = `preferred_username` = `name` = the username (scope `profile`), and the groups in
 * the groups claim (scope `groups`, and a scope named like the claim when it differs). They are put
 * in the ID token as well as in userinfo.
 */
export async function createEmbeddedIdp(opts: EmbeddedIdpOptions): Promise<EmbeddedIdp> {
  const issuerUrl = checkOptions(opts);
  const prefix = issuerUrl.pathname.replace(/\/+$/, '');
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const trustProxy = opts.trustProxy ?? true;

  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const jwks = await loadOrCreateJwks(opts.dataDir);
  const cookieKeys = loadOrCreateCookieKeys(opts.dataDir);

  const db = openIdpDatabase(opts.dataDir);
  const accounts = new SqliteAccountStore(db);
  const { factory, purgeExpired, endSessions } = createSqliteAdapterFactory(db);
  purgeExpired();
  const purgeTimer = setInterval(function purge() {
    try {
      purgeExpired();
    } catch (err) {
      log.warn('idp purge failed', { error: (err as Error).message });
    }
  }, 10 * 60 * 1000);
  purgeTimer.unref();

  const clientNames = new Map(opts.clients.map((c) => [c.client_id, c.client_name ?? c.client_id]));
  const headers = securityHeaders(originsOf(opts.clients.flatMap((c) => [...c.redirect_uris, ...(c.post_logout_redirect_uris ?? [])])));
  const cssHref = `${prefix}${STYLESHEET_PATH}`;
  const limiter = new FailedLoginLimiter({ ...DEFAULT_LOGIN_RATE_LIMIT, ...opts.loginRateLimit });

  const groupScopes = [...new Set(['groups', groupsClaim])];
  const configuration: Configuration = {
    adapter: factory,
    clients: opts.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      client_name: c.client_name,
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    async findAccount(_ctx, sub) {
      const account = await accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: account.username,
        claims() {
          return { sub: account.username, preferred_username: account.username, name: account.username, [groupsClaim]: account.groups };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      ...Object.fromEntries(groupScopes.map((s) => [s, [groupsClaim]])),
    },
    scopes: ['openid', 'profile', ...groupScopes],
    // Scope-requested claims in the ID token too: the hub reads groups from the verified ID token
    // without a second request (OIDC Core would put them only in userinfo for response_type=code).
    conformIdTokenClaims: false,
    cookies: {
      keys: cookieKeys,
      names: { session: 'highrate_idp_session', interaction: 'highrate_idp_interaction', resume: 'highrate_idp_resume' },
      // The session cookie stays below the issuer path: the proxy forwards cookies to user servers,
      // which must never see it. (Short-lived cookies get per-interaction paths from oidc-provider.)
      long: { httpOnly: true, sameSite: 'lax', path: prefix || '/' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: KoaContextWithOIDC, form: string) {
          ctx.type = 'html';
          ctx.body = logoutPage(cssHref, ctx.host, form);
        },
        async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.type = 'html';
          ctx.body = loggedOutPage(cssHref);
        },
      },
    },
    interactions: {
      url(_ctx, interaction) {
        return `${prefix}/interaction/${interaction.uid}`;
      },
    },
    jwks: jwks as Configuration['jwks'],
    pkce: { required: () => true },
    responseTypes: ['code'],
    ttl: TTL,
    // Only the hub (server side) talks to the token and userinfo endpoints: no CORS for anybody.
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(cssHref, String(out.error), typeof out.error_description === 'string' ? out.error_description : undefined);
    },
  };

  let provider: Provider;
  try {
    // The issuer string exactly as configured: clients compare it character by character.
    provider = new Provider(opts.issuer, configuration);
  } catch (cause) {
    clearInterval(purgeTimer);
    db.close();
    throw fail('CONFIG_INVALID', `The embedded IdP configuration was refused: ${(cause as Error).message}`, { cause });
  }
  provider.proxy = trustProxy;
  // With one trusted proxy, only the last X-Forwarded-For hop is real (the rest is client-supplied).
  provider.maxIpsCount = 1;
  // Mounted below a path: oidc-provider builds its URLs from ctx.mountPath (as koa-mount sets it).
  provider.use(async function mountPath(ctx, next) {
    (ctx as unknown as { mountPath: string }).mountPath = prefix;
    await next();
  });
  provider.on('server_error', function onServerError(_ctx: unknown, err: Error) {
    log.error('idp server error', { error: err.stack ?? err.message });
  });
  for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
    provider.on(event, function onOidcError(_ctx: unknown, err: Error & { error_description?: string }) {
      log.info('idp request refused', { event, error: err.message, description: err.error_description });
    });
  }
  const callback = provider.callback();
  let closed = false;

  const interactionCtx = { provider, accounts, limiter, prefix, clients: clientNames, trustProxy, headers };

  function notFound(res: ServerResponse): void {
    const html = messagePage(cssHref, 'Not found', 'There is nothing at this address.');
    res.writeHead(404, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(html)) });
    res.end(html);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (closed) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The identity provider is shutting down.\n');
      return;
    }
    if (prefix && pathname !== prefix && !pathname.startsWith(prefix + '/')) return notFound(res);
    let inner = url.slice(prefix.length);
    if (!inner.startsWith('/')) inner = '/' + inner;
    const innerPath = pathname.slice(prefix.length) || '/';
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);

    if (innerPath === STYLESHEET_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'content-length': String(Buffer.byteLength(STYLESHEET)), 'cache-control': 'public, max-age=3600' });
      res.end(req.method === 'HEAD' ? undefined : STYLESHEET);
      return;
    }
    handleInteraction(interactionCtx, req, res, innerPath).then(function passOn(handled) {
      if (handled) return;
      // oidc-provider routes on the path below the mount point; give the hub its URL back afterwards.
      req.url = inner;
      res.once('close', function restoreUrl() { req.url = url; });
      callback(req, res);
    }, function failed(err: unknown) {
      log.error('idp request failed', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Internal error.\n');
      } else {
        res.destroy();
      }
    });
  }

  return {
    issuer: provider.issuer,
    handle,
    accounts,
    endSessions(username: string) {
      return closed ? 0 : endSessions(username);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      db.close();
    },
  };
}
