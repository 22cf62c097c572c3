/**
 * How a cluster's scheduler dashboard is reached through the platform's proxy: a route at
 * `/clusters/<name>` to the scheduler's HTTP port, whose data carries the owner (`user`) so the
 * proxy's edge auth applies, and as `server_name` this marker, so the hub's authorize endpoint
 * checks `access:clusters` (not `access:servers`). Server names cannot contain "/", so the marker
 * never names a notebook server.
 */
export const CLUSTER_ROUTE_MARK = 'dask-gateway/';

/** Where clusters' dashboard routes live in the proxy's table. */
export const CLUSTER_ROUTES_PREFIX = '/clusters';

export function clusterRoutePath(cluster: string): string {
  return `${CLUSTER_ROUTES_PREFIX}/${cluster}`;
}

/** The `server_name` a cluster's dashboard route carries. */
export function clusterRouteServer(cluster: string): string {
  return CLUSTER_ROUTE_MARK + cluster;
}

/** Whether an authorize request's `server` is a cluster dashboard route. */
export function isClusterRouteServer(server: string): boolean {
  return server.startsWith(CLUSTER_ROUTE_MARK);
}

/** Whether a proxy route prefix is a cluster dashboard's (the server reconciler leaves those alone). */
export function isClusterRoutePath(path: string): boolean {
  return path.startsWith(`${CLUSTER_ROUTES_PREFIX}/`);
}

/** dask-gateway's `dashboard_route` of a running cluster. */
export function dashboardRoute(cluster: string): string {
  return `${clusterRoutePath(cluster)}/status`;
}
