import { createHash, timingSafeEqual } from 'node:crypto';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { ApiHandler, ApiReply, ApiRequest } from './api-server.js';
import { DASK_API_PATH } from './dask-api.js';
import { cleanPrefix } from './prefix.js';
import { routeJson, type RouteJson, type RouteTable } from './routes.js';

const ROUTES_PATH = /^\/api\/routes(\/.*)?$/;
const AUTH_CACHE_PATH = '/api/auth-cache';
const API_AUTH = /^\s*(?:token|bearer)\s+(\S+)\s*$/i;

/**
 * The configurable-http-proxy route API:
 * - `GET /api/routes[?inactive_since=ISO8601]` → 200 `{prefix: {target, last_activity, …data}}`
 * - `GET /api/routes/<prefix>` → 200 route, 404
 * - `POST /api/routes/<prefix>` `{target, …data}` → 201
 * - `DELETE /api/routes/<prefix>` → 204, 404
 * Every call needs `Authorization: token <CONFIGPROXY_AUTH_TOKEN>` (403 otherwise, as CHP).
 * Unlike CHP, a route's `upstream_token` is never answered: GETs show `upstream_token_sha256`
 * instead (see routes.ts), so holding the route API token does not give access to servers.
 * Unlike CHP, errors carry the catalogue's JSON body `{status, message, code}`, and the token is
 * checked before the body is looked at. An empty `authToken` leaves the API open, as CHP.
 */
export function createRouteApi(table: RouteTable, authToken: string, opts: {
  flushAuth?: () => void;
  /** The Dask port's routes (`/api/dask…`, see dask-api.ts). */
  dask?: (req: ApiRequest, path: string) => ApiReply;
  /** --host-routing: as CHP, a route's data gets `host`, the first segment of its prefix. */
  hostRouting?: boolean;
} = {}): ApiHandler {
  const open = authToken === '';
  const expectedDigest = digest(authToken);
  const expectedHeader = Buffer.from(`token ${authToken}`, 'latin1');

  /** Constant-time token check; the exact `token X` form (what hubs send) skips the hashing. */
  function authorized(header: string | undefined): boolean {
    if (open) return true;
    if (header === undefined) return false;
    if (header.length === expectedHeader.length && timingSafeEqual(Buffer.from(header, 'latin1'), expectedHeader)) return true;
    const m = API_AUTH.exec(header);
    return m !== null && timingSafeEqual(digest(m[1]!), expectedDigest);
  }

  return function routeApi(req: ApiRequest): ApiReply {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === AUTH_CACHE_PATH && opts.flushAuth) {
      // highrate's extension: the hub revoked something (a token, a session, a user, a role), so
      // edge decisions cached before it must not be reused.
      if (!authorized(req.headers.authorization)) throw fail('FORBIDDEN', 'A valid proxy API token is required.');
      if (req.method !== 'DELETE') throw fail('METHOD_NOT_ALLOWED');
      opts.flushAuth();
      return { status: 204 };
    }
    if (opts.dask && DASK_API_PATH.test(path)) {
      if (!authorized(req.headers.authorization)) throw fail('FORBIDDEN', 'A valid proxy API token is required.');
      return opts.dask(req, path);
    }
    const m = ROUTES_PATH.exec(path);
    if (m === null) throw fail('NOT_FOUND');
    if (!authorized(req.headers.authorization)) throw fail('FORBIDDEN', 'A valid proxy API token is required.');
    let prefix: string | undefined;
    try {
      prefix = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    } catch {
      throw fail('BAD_REQUEST', 'Malformed percent-encoding in the route prefix.');
    }
    switch (req.method) {
      case 'GET': {
        if (prefix === undefined || prefix === '/') return { status: 200, body: allRoutes(table, q === -1 ? '' : url.slice(q + 1)) };
        const route = table.get(prefix);
        if (route === undefined) throw fail('ROUTE_NOT_FOUND');
        return { status: 200, body: routeJson(route) };
      }
      case 'POST': {
        let data = parseRouteBody(req.body);
        const key = cleanPrefix(prefix ?? '/');
        if (opts.hostRouting === true && key !== '/') data = { ...data, host: key.split('/')[1] };
        let route;
        try {
          route = table.add(key, data);
        } catch (err) {
          throw fail('BAD_REQUEST', (err as Error).message);
        }
        // At info, as CHP ("Route added /x -> target"): route changes are rare and worth a line each.
        log.info('route added', { route: route.prefix, target: route.target.href });
        return { status: 201 };
      }
      case 'DELETE': {
        const key = prefix ?? '/';
        if (!table.delete(key)) throw fail('ROUTE_NOT_FOUND');
        log.info('route deleted', { route: key });
        return { status: 204 };
      }
      default:
        throw fail('METHOD_NOT_ALLOWED');
    }
  };
}

/** A POST body: a JSON object (400 BAD_JSON when not JSON, BAD_REQUEST when not an object). */
function parseRouteBody(body: Buffer | null): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(body === null ? '' : body.toString('utf8'));
  } catch {
    throw fail('BAD_JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw fail('BAD_REQUEST', "The body must be a JSON object with 'target'.");
  }
  return data as Record<string, unknown>;
}

/** The whole table, or only routes idle since before `inactive_since` (CHP also reads `inactiveSince`). */
function allRoutes(table: RouteTable, query: string): Record<string, RouteJson> {
  let cutoff = Infinity;
  if (query !== '') {
    const params = new URLSearchParams(query);
    const since = params.get('inactiveSince') || params.get('inactive_since');
    if (since) {
      cutoff = Date.parse(since);
      if (!Number.isFinite(cutoff)) throw fail('BAD_REQUEST', `Invalid datestamp '${since}': must be ISO 8601.`);
    }
  }
  const out: Record<string, RouteJson> = {};
  for (const route of table.values()) {
    if (route.lastActivity < cutoff) out[route.prefix] = routeJson(route);
  }
  return out;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
