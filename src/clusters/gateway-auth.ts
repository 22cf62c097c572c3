import { randomBytes } from 'node:crypto';
import { readCookie } from '../auth/tokens.js';
import { fail } from '../errors/catalogue.js';
import type { Identity } from '../auth/identity.js';
import type { RequestContext } from '../hub/request.js';

/** The cookie that caches a gateway authentication, as dask-gateway's authenticators set one. */
export const GATEWAY_COOKIE = 'dask-gateway-highrate';
/** dask-gateway's Authenticator.cache_max_age. */
const CACHE_MAX_AGE_S = 300;
const MAX_ENTRIES = 10_000;

/**
 * Authentication of the dask-gateway API, as dask-gateway's clients speak it:
 * - `Authorization: jupyterhub <token>` (its JupyterHubAuth, which the client sends only after a
 *   401 with `WWW-Authenticate: jupyterhub`), `token <t>` and `Bearer <t>`: a hub API token;
 * - the cookie it then sets (dask-gateway caches an authentication for 300 s in a cookie);
 * - the portal's session cookie (state changes need the XSRF token, as on the hub's API).
 * Whatever the form, the credential is resolved by the hub as any API credential is (so
 * revocation, blocking, roles and token scopes apply), never by this module.
 */
export class GatewayAuth {
  readonly #cache = new Map<string, { token: string; expires: number }>();

  /**
   * The caller, or 401 UNAUTHENTICATED (with `WWW-Authenticate: jupyterhub` set on the response,
   * which is what makes dask-gateway's client send its token).
   */
  async identify(ctx: RequestContext): Promise<Identity> {
    const header = ctx.req.headers.authorization;
    const m = header ? /^(jupyterhub|token|bearer)\s+(\S+)\s*$/i.exec(header) : null;
    if (m) {
      // The hub reads `token <t>`; the gateway's `jupyterhub <t>` is the same credential.
      ctx.req.headers.authorization = `token ${m[2]}`;
      const who = await ctx.identity();
      if (!who) throw this.#unauthorized(ctx);
      this.#remember(ctx, m[2]!);
      return who;
    }
    const cached = this.#lookup(readCookie(ctx.req.headers.cookie, GATEWAY_COOKIE));
    if (cached) {
      ctx.req.headers.authorization = `token ${cached}`;
      const who = await ctx.identity();
      if (who) return who;
    }
    const who = await ctx.identity();
    if (who?.via === 'cookie') return ctx.caller();
    throw this.#unauthorized(ctx);
  }

  #unauthorized(ctx: RequestContext): Error {
    ctx.res.setHeader('www-authenticate', 'jupyterhub');
    return fail('UNAUTHENTICATED', 'Authentication required');
  }

  #remember(ctx: RequestContext, token: string): void {
    const now = Date.now();
    if (this.#cache.size >= MAX_ENTRIES) {
      for (const [k, v] of this.#cache) if (v.expires < now) this.#cache.delete(k);
      if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    }
    const value = randomBytes(16).toString('hex');
    this.#cache.set(value, { token, expires: now + CACHE_MAX_AGE_S * 1000 });
    const secure = ctx.hub.publicUrl.startsWith('https:') ? '; Secure' : '';
    ctx.res.setHeader('set-cookie', `${GATEWAY_COOKIE}=${value}; Path=/services/dask-gateway/; Max-Age=${CACHE_MAX_AGE_S}; HttpOnly; SameSite=Strict${secure}`);
  }

  #lookup(value: string | null): string | null {
    if (!value) return null;
    const hit = this.#cache.get(value);
    if (!hit) return null;
    if (hit.expires < Date.now()) {
      this.#cache.delete(value);
      return null;
    }
    return hit.token;
  }
}
