import { fail } from '../errors/catalogue.js';
import { redirect } from '../http/respond.js';
import { wantsHtml, type RequestContext } from '../hub/request.js';
import type { HubPart } from '../hub/parts.js';
import { CLUSTER_ROUTES_PREFIX } from '../contracts/cluster-routes.js';
import { createGatewayHandler, GATEWAY_PREFIX } from './gateway-api.js';
import { registerClusterRoutes } from './hub-api.js';
import type { ClusterService } from './service.js';

/**
 * Dask clusters as a part of the hub: highrate's cluster API under /hub/api/clusters, the
 * dask-gateway API at its service prefix, the answer for a dashboard link of a cluster that is
 * not running, and the reconcile `POST /hub/api/proxy` asks for. Without a service (clusters
 * disabled) every endpoint answers 404 NOT_FOUND saying so.
 */
export function clusterPart(service: ClusterService | null): HubPart {
  return {
    registerApi: (api) => registerClusterRoutes(api, service),
    mounts: [
      { prefix: GATEWAY_PREFIX, handle: createGatewayHandler(service) },
      { prefix: CLUSTER_ROUTES_PREFIX, handle: clusterNotRunning },
    ],
    ...(service ? { reconcile: () => service.reconcile() } : {}),
  };
}

/** `/clusters/<name>/...` reaches the hub only when the cluster has no dashboard route: it is not running. */
async function clusterNotRunning(ctx: RequestContext): Promise<void> {
  const name = ctx.url.pathname.split('/')[2] ?? '';
  if (!name) throw fail('NOT_FOUND');
  if (wantsHtml(ctx.req) && /^[0-9a-f]{32}$/.test(name)) return redirect(ctx.res, `/hub/clusters/${name}`);
  throw fail('CLUSTER_NOT_RUNNING', `No running cluster at /clusters/${name.slice(0, 64)}/.`);
}
