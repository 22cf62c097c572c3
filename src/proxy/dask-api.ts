import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { ApiReply, ApiRequest } from './api-server.js';
import type { SniRouter, SniTarget } from './sni-router.js';

/** Where the Dask routes live in the route API (highrate's extension; CHP answers 404). */
export const DASK_API_PATH = /^\/api\/dask(?:\/routes(?:\/([^/?]*))?)?$/;
/** Cluster names as highrate makes them (hex); also what fits an SNI label. */
const CLUSTER = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** `GET /api/dask`: the Dask port and its routes. */
export interface DaskPortJson {
  /** The bound port; null when this proxy runs no Dask port. */
  port: number | null;
  routes: Record<string, SniTarget & { connections: number }>;
  /** Connections routed and refused since the proxy started. */
  routed: number;
  refused: number;
}

/**
 * The Dask port's part of the route API:
 * - `GET /api/dask` → 200 {@link DaskPortJson}
 * - `POST /api/dask/routes/<cluster>` `{"host": "127.0.0.1", "port": 40123}` → 201
 * - `DELETE /api/dask/routes/<cluster>` → 204 (404 ROUTE_NOT_FOUND), cutting its connections
 * The caller has checked the API token. Without a Dask port, changes answer 409 CONFLICT.
 */
export function daskApi(router: SniRouter | null, port: () => number | null) {
  return function handleDask(req: ApiRequest, path: string): ApiReply {
    const m = DASK_API_PATH.exec(path);
    if (m === null) throw fail('NOT_FOUND');
    const raw = m[1];
    if (raw === undefined) {
      if (req.method !== 'GET') throw fail('METHOD_NOT_ALLOWED');
      const body: DaskPortJson = { port: port(), routes: {}, routed: router?.routed ?? 0, refused: router?.refused ?? 0 };
      for (const [cluster, target] of router?.entries() ?? []) body.routes[cluster] = { ...target, connections: router!.connections(cluster) };
      return { status: 200, body };
    }
    if (!CLUSTER.test(raw)) throw fail('BAD_REQUEST', 'A Dask route is named by its cluster: 1–63 lower-case letters, digits and dashes.');
    if (router === null) throw fail('CONFLICT', 'This proxy runs no Dask port: start it with --dask-port.');
    switch (req.method) {
      case 'POST': {
        const target = parseTarget(req.body);
        router.set(raw, target);
        log.debug('dask route added', { cluster: raw, host: target.host, port: target.port });
        return { status: 201 };
      }
      case 'DELETE':
        if (!router.delete(raw)) throw fail('ROUTE_NOT_FOUND');
        log.debug('dask route deleted', { cluster: raw });
        return { status: 204 };
      default:
        throw fail('METHOD_NOT_ALLOWED');
    }
  };
}

function parseTarget(body: Buffer | null): SniTarget {
  let data: unknown;
  try {
    data = JSON.parse(body === null ? '' : body.toString('utf8'));
  } catch {
    throw fail('BAD_JSON');
  }
  const t = data as Partial<SniTarget> | null;
  if (typeof t !== 'object' || t === null || typeof t.host !== 'string' || t.host === '' || t.host.length > 253 || !Number.isInteger(t.port) || t.port! < 1 || t.port! > 65535) {
    throw fail('BAD_REQUEST', 'The body must be {"host": "<scheduler host>", "port": <1–65535>}.');
  }
  return { host: t.host, port: t.port! };
}
