import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail } from '../errors/catalogue.js';
import { redirect, sendError } from '../http/respond.js';
import { storeFailureError } from '../store/db-errors.js';
import { Router } from '../http/router.js';
import { log, redactUrl } from '../log.js';
import { JUPYTERHUB_API_VERSION, registerMiscRoutes } from './api/misc.js';
import { registerHubRoutes } from './api/hub.js';
import { registerProxyRoutes } from './api/proxy.js';
import { registerAuthorizationRoutes } from './api/authorizations.js';
import { registerProgressRoutes } from './api/progress.js';
import { registerServerRoutes } from './api/servers.js';
import { registerTokenRoutes } from './api/tokens.js';
import { registerUserRoutes } from './api/users.js';
import { registerWorkloadRoutes } from './api/workloads.js';
import { registerExecutorRoutes } from './api/executors.js';
import { registerAdminRoutes } from './api/admin.js';
import { registerAuditRoutes } from './api/audit.js';
import { registerGroupRoutes } from './api/groups.js';
import { registerRoleRoutes } from './api/roles.js';
import { registerServiceRoutes } from './api/services.js';
import { registerStorageRoutes } from './api/storage.js';
import { registerDataStorageRoutes } from './api/data-storage.js';
import { registerMetricsRoutes, serveMetrics } from './api/metrics.js';
import { handlerOf } from './metrics.js';
import { registerOAuthRoutes } from './oauth/provider.js';
import { HighrateError } from '../errors/catalogue.js';
import { clientIp } from './audit/index.js';
import type { Hub } from './context.js';
import { mountFor, type HubPart } from './parts.js';
import { sendPage, securityHeaders } from './html.js';
import { RequestContext, wantsHtml } from './request.js';
import { serveFile } from './static.js';
import { userLinkNotRouted, userRedirect } from './user-links.js';
import { ApiRateLimiter } from './api/rate-limit.js';

/** Every route of the hub API (`/hub/api/...`): the hub's own, then those of `parts`. */
export function createApiRouter(parts: readonly HubPart[]): Router<RequestContext> {
  const api = new Router<RequestContext>();
  registerMiscRoutes(api);
  registerHubRoutes(api);
  registerProxyRoutes(api);
  registerAuthorizationRoutes(api);
  registerUserRoutes(api);
  registerServerRoutes(api);
  registerProgressRoutes(api);
  registerTokenRoutes(api);
  registerWorkloadRoutes(api);
  registerExecutorRoutes(api);
  registerGroupRoutes(api);
  registerRoleRoutes(api);
  registerServiceRoutes(api);
  registerOAuthRoutes(api);
  registerAuditRoutes(api);
  registerAdminRoutes(api);
  registerStorageRoutes(api);
  registerDataStorageRoutes(api);
  registerMetricsRoutes(api);
  for (const part of parts) part.registerApi?.(api);
  return api;
}

/** Refusals worth an audit entry: a credential was shown, or state was to change. */
const AUDITED_DENIALS = new Set(['FORBIDDEN', 'MISSING_SCOPE', 'CSRF_FAILED', 'QUOTA_EXCEEDED', 'LOGIN_REFUSED']);

async function auditDenial(ctx: RequestContext, err: unknown): Promise<void> {
  if (!(err instanceof HighrateError) || !AUDITED_DENIALS.has(err.code)) return;
  const changing = !['GET', 'HEAD', 'OPTIONS'].includes(ctx.method);
  if (!changing && !ctx.hasCredential()) return;
  const who = await ctx.identity().catch(() => null);
  const [, , , , name] = ctx.url.pathname.split('/');
  await ctx.hub.audit.denied({
    action: err.code === 'QUOTA_EXCEEDED' ? 'quota.exceeded' : 'request.denied',
    actor: who,
    target: `${ctx.method} ${redactUrl(ctx.url.pathname).slice(0, 200)}`,
    targetUser: ctx.url.pathname.startsWith('/hub/api/users/') && name ? decodeURIComponentSafe(name).slice(0, 64) : null,
    code: err.code,
    ip: clientIp(ctx.req),
    detail: { message: err.message.slice(0, 300), credential: ctx.hasCredential() ? (who ? 'valid' : 'invalid') : 'none', ...(err.extra ?? {}) },
  });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The hub's one request handler: API, login, portal pages, and the embedded IdP. */
export function createHubHandler(hub: Hub): (req: IncomingMessage, res: ServerResponse) => void {
  const api = createApiRouter(hub.parts);
  const https = hub.publicUrl.startsWith('https:');
  const limiter = new ApiRateLimiter(hub.config.hub.apiRateLimit, hub.proxyToken);

  /** The `handler` label of the request being routed (the API route's pattern), for the metrics. */
  const handlerName = new WeakMap<RequestContext, string>();

  async function route(ctx: RequestContext): Promise<void> {
    const path = ctx.url.pathname;
    if (path.startsWith('/hub/api')) {
      for (const [k, v] of Object.entries(securityHeaders(https))) ctx.res.setHeader(k, v);
      // The route first, for the metrics' handler label; a wrong method (405) or path (404) is
      // answered only after the rate limit, so probing unknown endpoints counts too.
      let m: ReturnType<typeof api.match> = null;
      let unmatched: unknown;
      try {
        m = api.match(ctx.method, path);
      } catch (err) {
        unmatched = err;
      }
      if (m) handlerName.set(ctx, m.path);
      // The caller is resolved once per request anyway (memoised): limits are per user, not per token.
      if (!limiter.isProxyCall(ctx.req, path)) {
        try {
          limiter.check(ctx.req, await ctx.identity().catch(() => null), path);
        } catch (err) {
          hub.metrics?.rateLimited(String((err as { extra?: { limit?: unknown } }).extra?.limit ?? 'global'));
          throw err;
        }
      }
      if (unmatched) throw unmatched;
      if (!m) throw fail('NOT_FOUND', `No API endpoint at ${path.slice(0, 200)}`);
      return m.handler(ctx, m.params);
    }
    if (path === '/hub/metrics') return serveMetrics(ctx);
    if (hub.idpHandler && (path === '/oidc' || path.startsWith('/oidc/'))) return hub.idpHandler(ctx.req, ctx.res);
    if (path === '/hub/login') return hub.login.begin(ctx);
    if (path === '/hub/oauth_callback') return hub.login.callback(ctx, new URL(ctx.req.url ?? '/', hub.publicUrl));
    if (path === '/hub/logout') return hub.login.logout(ctx);
    // Browsers ask for /favicon.ico on pages that name no icon (JSON answers, proxied errors).
    if (path === '/favicon.ico' || path === '/hub/favicon.ico') {
      if (serveFile(ctx.res, hub.uiDir, 'favicon.svg', https)) return;
      throw fail('NOT_FOUND');
    }
    if (path.startsWith('/hub/static/')) {
      if (serveFile(ctx.res, hub.uiDir, path.slice('/hub/static/'.length), https)) return;
      throw fail('NOT_FOUND');
    }
    if (path.startsWith('/user/')) return userLinkNotRouted(ctx);
    if (path === '/hub/user-redirect' || path.startsWith('/hub/user-redirect/')) return userRedirect(ctx);
    const mount = mountFor(hub.parts, path);
    if (mount) return mount.handle(ctx);
    if (path === '/' || path === '/hub') return redirect(ctx.res, '/hub/home');
    if (path.startsWith('/hub/')) {
      if (serveFile(ctx.res, hub.uiDir, 'index.html', https)) return;
      return sendPage(ctx.res, 503, 'Portal not built', 'The portal has not been built. Run `npm run build` (scripts/install-deps.sh does it).', { https });
    }
    throw fail('NOT_FOUND');
  }

  return function handleHubRequest(req, res) {
    const ctx = new RequestContext(hub, req, res);
    const metrics = hub.metrics;
    if (metrics) {
      const t0 = performance.now();
      res.once('finish', () => metrics.requests.observe([req.method ?? 'GET', handlerName.get(ctx) ?? handlerOf(ctx.url.pathname), String(res.statusCode)], (performance.now() - t0) / 1000));
    }
    // As JupyterHub, on every answer (errors included); jupyterhub-singleuser compares it with its own.
    if ((req.url ?? '').startsWith('/hub/')) res.setHeader('X-JupyterHub-Version', JUPYTERHUB_API_VERSION);
    if (hasDotSegment(req.url ?? '/')) {
      // URL parsing would resolve "..": /hub/api/users/alice/.. is not a name to act on, but a
      // sign of path traversal. Browsers never send dot segments; refuse them rather than guess.
      return sendError(res, fail('BAD_REQUEST', 'The path contains "." or ".." segments.'));
    }
    route(ctx).catch(async (raw: unknown) => {
      // A full disk or a database that did not answer: 507 STORAGE_FULL / 503 STORE_UNAVAILABLE on pages too.
      const err = storeFailureError(raw);
      await auditDenial(ctx, err).catch(() => undefined);
      const context = { method: req.method, url: redactUrl(req.url ?? '') };
      if (ctx.url.pathname.startsWith('/hub/api') || !wantsHtml(req) || res.headersSent) return sendError(res, err, context);
      const status = (err as { status?: number }).status ?? 500;
      if (status >= 500) log.error('page failed', { ...context, error: String((err as Error)?.stack ?? err) });
      sendPage(res, status, status === 404 ? 'Not found' : 'Error', status >= 500 ? 'Something went wrong on our side.' : (err as Error).message, { https, link: { href: '/hub/home', text: 'Home' } });
    });
  };
}

/** A `.` or `..` path segment, literal or percent-encoded (%2e), anywhere before the query. */
export function hasDotSegment(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.includes('.') && !/%2e/i.test(path)) return false;
  return path.split(/\/|%2f|%5c|\\/i).some((seg) => /^(\.|%2e){1,2}$/i.test(seg));
}
