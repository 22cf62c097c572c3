import { needsScope } from '../../auth/scopes.js';
import { safeEqual } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { Hub } from '../context.js';
import type { RequestContext } from '../request.js';
import { acceptsPagination, pageOf, paginated } from './pagination.js';
import { routeServices } from '../oauth/service-clients.js';

const PROXY = needsScope('proxy');

/**
 * `GET /hub/api/proxy`: the proxy's routing table as JupyterHub 4.1 answers it (its Proxy's
 * `get_all_routes`): routespec (the prefix with a trailing slash) → `{routespec, target, data}`,
 * paginated as JupyterHub: all of it on one page when it fits, else the page of routespecs in
 * sorted order. A route's `upstream_token` (configurable-http-proxy shows it as given) is left
 * out: it is the server's secret, not routing.
 */
async function getRoutes(ctx: RequestContext): Promise<void> {
  await ctx.require(PROXY);
  const page = pageOf(ctx);
  const all: Record<string, { routespec: string; target: string; data: Record<string, unknown> }> = {};
  for (const [prefix, route] of Object.entries(await ctx.hub.proxy.getRoutes())) {
    const { target, upstream_token: _secret, ...data } = route;
    const routespec = prefix.endsWith('/') ? prefix : `${prefix}/`;
    all[routespec] = { routespec, target, data };
  }
  const specs = Object.keys(all);
  const chosen = page.offset === 0 && specs.length < page.limit ? specs : specs.sort().slice(page.offset, page.offset + page.limit);
  const routes = Object.fromEntries(chosen.map((spec) => [spec, all[spec]]));
  sendJson(ctx.res, 200, acceptsPagination(ctx.req) ? paginated(ctx, routes, page, specs.length) : routes);
}

const syncing = new WeakMap<Hub, Promise<void>>();

/**
 * Brings the proxy's table in line with the hub's records at once rather than at the next
 * reconcile: the hub's own route, every running server's route (stray ones removed) and the
 * clusters' routes. Requests that arrive while one runs share it.
 */
function syncRoutes(hub: Hub): Promise<void> {
  let running = syncing.get(hub);
  if (!running) {
    running = (async function sync() {
      // Fails with 503 when the proxy is unreachable; the reconcilers would only log that.
      await hub.proxy.addRoute('/', hub.hubUrl, { hub: true });
      await routeServices(hub.proxy, hub.config.services);
      await hub.servers.reconcile();
      for (const part of hub.parts) await part.reconcile?.();
    })().finally(() => syncing.delete(hub));
    syncing.set(hub, running);
  }
  return running;
}

/** `POST /hub/api/proxy`: syncs the routes now (see syncRoutes); 200 with no body, as JupyterHub. */
async function postSync(ctx: RequestContext): Promise<void> {
  await ctx.require(PROXY);
  const body = await ctx.jsonObject();
  // JupyterHub ignores a body here; one with fields is a client mistaking this for PATCH.
  if (body && Object.keys(body).length > 0) throw fail('BAD_REQUEST', 'POST /hub/api/proxy takes no body; PATCH changes the proxy.');
  await syncRoutes(ctx.hub);
  await ctx.audit({ action: 'proxy.sync', target: 'proxy' });
  sendEmpty(ctx.res, 200);
}

/**
 * `PATCH /hub/api/proxy` `{api_url?, auth_token?}`: JupyterHub points itself at a new proxy and
 * syncs. highrate's proxy client, and the token the proxy presents back to the hub, are fixed
 * when the hub starts: values equal to the current ones are accepted (then the routes are synced,
 * 200 as JupyterHub), different ones are 501 NOT_SUPPORTED, never silently ignored.
 */
async function patchProxy(ctx: RequestContext): Promise<void> {
  await ctx.require(PROXY);
  const body = await ctx.jsonObject();
  if (!body) throw fail('BAD_REQUEST', 'A JSON body is required: {"api_url"?: "...", "auth_token"?: "..."}.');
  // The 4.1 spec also lists ip, port and protocol, which JupyterHub's handler never reads.
  const unknown = Object.keys(body).filter((k) => k !== 'api_url' && k !== 'auth_token');
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field(s): ${unknown.join(', ').slice(0, 200)}. Only api_url and auth_token are read.`);
  const apiUrl = body.api_url;
  if (apiUrl !== undefined) {
    if (typeof apiUrl !== 'string') throw fail('BAD_REQUEST', 'api_url must be a string.');
    if (!sameUrl(apiUrl, ctx.hub.proxyApiUrl)) {
      throw fail('NOT_SUPPORTED', 'highrate cannot move to another proxy while running: change hub.port (the route API is on port + 1) and restart the hub.');
    }
  }
  const token = body.auth_token;
  if (token !== undefined) {
    if (typeof token !== 'string') throw fail('BAD_REQUEST', 'auth_token must be a string.');
    if (!safeEqual(token, ctx.hub.proxyToken)) {
      throw fail('NOT_SUPPORTED', "highrate cannot change the proxy's token while running: it is the file secrets/proxy-token in the data directory, read at start.");
    }
  }
  await syncRoutes(ctx.hub);
  await ctx.audit({ action: 'proxy.sync', target: 'proxy', detail: { patch: Object.keys(body).slice(0, 10) } });
  sendEmpty(ctx.res, 200);
}

function sameUrl(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  try {
    return new URL(a).href.replace(/\/+$/, '') === new URL(b).href.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

export function registerProxyRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/proxy', getRoutes);
  r.add('POST', '/hub/api/proxy', postSync);
  r.add('PATCH', '/hub/api/proxy', patchProxy);
}
