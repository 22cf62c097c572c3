import type { ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { hashSecret, newSecret, readCookie } from '../auth/tokens.js';
import { HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { redirect } from '../http/respond.js';
import type { Store, UserRow } from '../store/types.js';
import { safeNext, sendPage } from './html.js';
import { SESSION_COOKIE, sessionIdOf, XSRF_COOKIE } from '../auth/identity.js';
import type { RequestContext } from './request.js';
import { clientIp, type AuditLog } from './audit/index.js';
import { decideLogin } from '../auth/login-policy.js';

/** What the hub needs from an OIDC client (src/auth/oidc-login.ts provides it). */
export interface OidcClient {
  start(next: string): Promise<{ url: string; state: string; codeVerifier: string; nonce: string }>;
  finish(callbackUrl: URL, saved: { state: string; codeVerifier: string; nonce: string }): Promise<{ username: string; groups: string[]; claims: Record<string, unknown>; tokens?: { accessToken: string; refreshToken?: string } }>;
}

const LOGIN_STATE_TTL_MS = 10 * 60 * 1000;

/**
 * Browser login: `/hub/login` → the issuer (code + PKCE) → `/hub/oauth_callback` → a session.
 * Policy is applied here, at every login, from verified claims only: allowed groups, admin groups,
 * blocked users. The session cookie is HttpOnly and SameSite=Lax; its XSRF twin is readable by
 * the portal's script and must come back as `X-XSRFToken` on state changes.
 */
export class LoginFlow {
  constructor(private readonly deps: {
    config: Config;
    store: Store;
    oidc: OidcClient;
    https: boolean;
    audit?: AuditLog;
    /** The embedded IdP's: ends the user's sign-in there at logout, so the next login asks again. */
    endIdpSessions?: (username: string) => void;
    /**
     * After a successful login, with the issuer's tokens (secrets): storage.tokenSource oidc keeps
     * a refresh token for storage tokens here. Must not throw; the login goes on regardless.
     */
    afterLogin?: (username: string, groups: readonly string[], tokens: { accessToken: string; refreshToken?: string }) => Promise<void>;
  }) {}

  async begin(ctx: RequestContext): Promise<void> {
    const next = safeNext(ctx.url.searchParams.get('next'));
    const who = await ctx.identity();
    if (who) return redirect(ctx.res, next);
    const started = await this.deps.oidc.start(next);
    await this.deps.store.insertLoginState({ state: started.state, codeVerifier: started.codeVerifier, nonce: started.nonce, next, created: new Date().toISOString() });
    await this.deps.store.deleteLoginStatesBefore(new Date(Date.now() - LOGIN_STATE_TTL_MS).toISOString());
    redirect(ctx.res, started.url);
  }

  async callback(ctx: RequestContext, callbackUrl: URL): Promise<void> {
    const { config, store } = this.deps;
    const state = ctx.url.searchParams.get('state') ?? '';
    const saved = state ? await store.takeLoginState(state) : null;
    if (!saved || Date.parse(saved.created) < Date.now() - LOGIN_STATE_TTL_MS) {
      return sendPage(ctx.res, 400, 'Login failed', 'This login link is invalid or has expired. Please log in again.', { https: this.deps.https, link: { href: '/hub/login', text: 'Log in' } });
    }
    const ip = clientIp(ctx.req);
    let identity: Awaited<ReturnType<OidcClient['finish']>>;
    try {
      identity = await this.deps.oidc.finish(callbackUrl, saved);
    } catch (err) {
      const message = err instanceof HighrateError ? err.message : 'The identity provider did not confirm your login.';
      log.warn('login failed', { reason: message, detail: err instanceof HighrateError ? err.detail : String(err) });
      await this.deps.audit?.denied({ action: 'login', outcome: 'denied', code: err instanceof HighrateError ? err.code : 'LOGIN_REFUSED', ip, detail: { reason: message } });
      return sendPage(ctx.res, 403, 'Login refused', message, { https: this.deps.https, link: { href: '/hub/login', text: 'Try again' } });
    }
    const { username, groups: claimed } = identity;
    const existing = await store.getUser(username);
    // The one login policy (rbac/login-policy.ts), at every login, from verified claims only.
    const decision = await decideLogin(config, store, username, claimed, existing);
    if (!decision.allowed) {
      log.warn(`login refused: ${decision.reason}`, { user: username });
      await this.deps.audit?.denied({ action: 'login', actor: { name: username, kind: 'user' }, targetUser: username, outcome: 'denied', code: 'LOGIN_REFUSED', ip, detail: { reason: decision.reason, groups: claimed } });
      return sendPage(ctx.res, 403, 'Login refused', decision.message, { https: this.deps.https });
    }
    const { groups, admin } = decision;
    const user = await store.upsertUser(username, { groups, admin, lastActivity: new Date().toISOString() });
    const { iss, sub } = identity.claims ?? {};
    if (typeof iss === 'string' && typeof sub === 'string') await store.linkIdentity(iss, sub, username);
    if (identity.tokens?.accessToken) await this.deps.afterLogin?.(username, groups, identity.tokens);
    await this.#startSession(ctx.res, user);
    log.info('login', { user: username, groups, admin });
    await this.deps.audit?.record({ action: 'login', actor: { name: username, kind: 'user' }, targetUser: username, ip, detail: { groups, admin } });
    redirect(ctx.res, safeNext(saved.next));
  }

  async logout(ctx: RequestContext): Promise<void> {
    // A link on another site must not log people out (a GET that changes state): browsers say
    // where a navigation comes from in Sec-Fetch-Site; the portal's own link is same-origin.
    const site = ctx.req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return sendPage(ctx.res, 403, 'Log out?', 'This logout link came from another site, so it was not followed. Use "Log out" in the portal.', { https: this.deps.https, link: { href: '/hub/home', text: 'Back to the portal' } });
    }
    const cookie = readCookie(ctx.req.headers.cookie, SESSION_COOKIE);
    if (cookie) {
      const who = await ctx.identity();
      await this.deps.store.deleteSession(hashSecret(cookie));
      // The OAuth tokens servers got through this session end with it (JupyterHub does the same).
      if (who?.session) await this.deps.store.deleteTokensOfSession(who.name, sessionIdOf(who.session));
      if (who?.kind === 'user') this.deps.endIdpSessions?.(who.name);
      if (who) await this.deps.audit?.record({ action: 'logout', actor: who, targetUser: who.name, ip: clientIp(ctx.req) });
    }
    const secure = this.deps.https ? '; Secure' : '';
    ctx.res.setHeader('set-cookie', [
      `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure}`,
      `${XSRF_COOKIE}=; Path=/hub/; SameSite=Strict; Max-Age=0${secure}`,
    ]);
    redirect(ctx.res, '/hub/home');
  }

  async #startSession(res: ServerResponse, user: UserRow): Promise<void> {
    const value = newSecret();
    const xsrf = newSecret(16);
    const maxAge = this.deps.config.auth.sessionMaxAge;
    const now = Date.now();
    await this.deps.store.insertSession({ hash: hashSecret(value), user: user.name, xsrf, created: new Date(now).toISOString(), expiresAt: new Date(now + maxAge * 1000).toISOString() });
    const secure = this.deps.https ? '; Secure' : '';
    res.setHeader('set-cookie', [
      `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`,
      `${XSRF_COOKIE}=${xsrf}; Path=/hub/; SameSite=Strict; Max-Age=${maxAge}${secure}`,
    ]);
  }
}
