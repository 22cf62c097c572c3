import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail } from '../errors/catalogue.js';
import { sendError } from '../http/respond.js';
import { Router } from '../http/router.js';
import { log, redactUrl } from '../log.js';
import { registerMiscRoutes } from './api/misc.js';
import { registerProgressRoutes } from './api/progress.js';
import { registerServerRoutes } from './api/servers.js';
import { registerTokenRoutes } from './api/tokens.js';
import { registerUserRoutes } from './api/users.js';
import type { Hub } from './context.js';
import { sendPage, securityHeaders } from './html.js';
import { RequestContext, wantsHtml } from './request.js';
import { serveFile } from './static.js';

/** The hub's one request handler: API, login, portal pages, and the embedded IdP. */
export function createHubHandler(hub: Hub): (req: IncomingMessage, res: ServerResponse) => void {
  const api = new Router<RequestContext>();
  registerMiscRoutes(api);
  registerUserRoutes(api);
  registerServerRoutes(api);
  registerProgressRoutes(api);
  registerTokenRoutes(api);
  const https = hub.publicUrl.startsWith('https:');

  async function route(ctx: RequestContext): Promise<void> {
    const path = ctx.url.pathname;
    if (path.startsWith('/hub/api')) {
      for (const [k, v] of Object.entries(securityHeaders(https))) ctx.res.setHeader(k, v);
      const m = api.match(ctx.method, path);
      if (!m) throw fail('NOT_FOUND', `No API endpoint at ${path.slice(0, 200)}`);
      return m.handler(ctx, m.params);
    }
    if (hub.idpHandler && (path === '/oidc' || path.startsWith('/oidc/'))) return hub.idpHandler(ctx.req, ctx.res);
    if (path === '/hub/login') return hub.login.begin(ctx);
    if (path === '/hub/oauth_callback') return hub.login.callback(ctx, new URL(ctx.req.url ?? '/', hub.publicUrl));
    if (path === '/hub/logout') return hub.login.logout(ctx);
    if (path.startsWith('/hub/static/')) {
      if (serveFile(ctx.res, hub.uiDir, path.slice('/hub/static/'.length), https)) return;
      throw fail('NOT_FOUND');
    }
    if (path.startsWith('/user/')) return notRunning(ctx);
    if (path === '/' || path === '/hub') return redirect(ctx.res, '/hub/home');
    if (path.startsWith('/hub/')) {
      if (serveFile(ctx.res, hub.uiDir, 'index.html', https)) return;
      return sendPage(ctx.res, 503, 'Portal not built', 'The portal has not been built. Run `npm run build` (scripts/install-deps.sh does it).', { https });
    }
    throw fail('NOT_FOUND');
  }

  return function handleHubRequest(req, res) {
    const ctx = new RequestContext(hub, req, res);
    route(ctx).catch((err: unknown) => {
      const context = { method: req.method, url: redactUrl(req.url ?? '') };
      if (ctx.url.pathname.startsWith('/hub/api') || !wantsHtml(req) || res.headersSent) return sendError(res, err, context);
      const status = (err as { status?: number }).status ?? 500;
      if (status >= 500) log.error('page failed', { ...context, error: String((err as Error)?.stack ?? err) });
      sendPage(res, status, status === 404 ? 'Not found' : 'Error', status >= 500 ? 'Something went wrong on our side.' : (err as Error).message, { https, link: { href: '/hub/home', text: 'Home' } });
    });
  };
}

/** `/user/...` reaches the hub only when no route exists: the server is not running. */
async function notRunning(ctx: RequestContext): Promise<void> {
  const [, , user = '', maybeServer = ''] = ctx.url.pathname.split('/');
  if (wantsHtml(ctx.req)) return redirect(ctx.res, `/hub/home?not_running=${encodeURIComponent(`/user/${user}/${maybeServer}`)}`);
  throw fail('SERVER_NOT_RUNNING', `No server is running at /user/${decodeURIComponent(user).slice(0, 64)}/.`);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}
