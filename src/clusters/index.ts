/** Dask clusters as a service: the dask-gateway API, the Dask port (SNI), the control loops. */
import type { Config } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import type { Executor } from '../executors/types.js';
import type { QuotaService } from '../hub/quota/index.js';
import { log } from '../log.js';
import type { Store } from '../store/types.js';
import type { NotebookClusterAccessProvider } from '../hub/servers/cluster-access.js';
import { notebookClusterAccess } from './notebook-env.js';
import { clusterUsageProvider } from './resources.js';
import { ClusterService, type ClusterServiceDeps } from './service.js';

export { ClusterService, type LiveView } from './service.js';
export { createGatewayHandler, GATEWAY_PREFIX } from './gateway-api.js';
export { registerClusterRoutes } from './hub-api.js';
export { clusterPart } from './hub-part.js';
export { SNI_PREFIX } from '../proxy/sni-router.js';
export { isClusterRoutePath, isClusterRouteServer } from '../contracts/cluster-routes.js';
export { notebookClusterAccess } from './notebook-env.js';

/** The running clusters part, as the composition root holds it. */
export interface RunningClusters {
  service: ClusterService;
  /** The Dask port the proxy bound (the configured one, or a free one for 0). */
  daskPort: number;
  /** `host:port` clients and offloaded workers use. */
  proxyAddress: string;
  /** What notebook servers get to use clusters (for the ServerManager). */
  notebookAccess: NotebookClusterAccessProvider;
  /** Re-attaches to running clusters (at start, then every reconcile interval). */
  reconcile(): Promise<void>;
  /** Stops the loops; schedulers, workers and the proxy's Dask port keep running. */
  close(): Promise<void>;
}

/**
 * Starts the clusters part: finds the proxy's Dask port (the proxy routes it, so Dask connections
 * outlive hub restarts), builds the service, registers its usage with the quotas. Returns null
 * when `clusters.enabled` is false.
 */
export async function startClusters(deps: {
  config: Config;
  store: Store;
  executors: ReadonlyMap<string, Executor>;
  proxy: ClusterServiceDeps['proxy'];
  quota: QuotaService;
  publicUrl: string;
  users: ClusterServiceDeps['users'];
  storageAccess?: ClusterServiceDeps['storageAccess'];
}): Promise<RunningClusters | null> {
  const c = deps.config.clusters;
  if (!c.enabled) return null;
  const { port: daskPort } = await deps.proxy.getDask();
  if (daskPort === null) {
    throw fail('CONFIG_INVALID', 'The proxy runs no Dask port (it needs highrate\'s proxy started with --dask-port): restart it, or set clusters.enabled: false.');
  }
  const proxyAddress = c.proxyAddress ?? `${new URL(deps.publicUrl).hostname}:${daskPort}`;
  const service = new ClusterService({ config: deps.config, store: deps.store, executors: deps.executors, proxy: deps.proxy, proxyAddress, quota: deps.quota, users: deps.users, ...(deps.storageAccess ? { storageAccess: deps.storageAccess } : {}) });
  deps.quota.register(clusterUsageProvider(deps.store));
  log.info('dask port', { port: daskPort, proxyAddress });
  return {
    service,
    daskPort,
    proxyAddress,
    notebookAccess: notebookClusterAccess({ publicUrl: deps.publicUrl, proxyAddress: () => proxyAddress }),
    reconcile: () => service.reconcile(),
    close: () => service.close(),
  };
}
