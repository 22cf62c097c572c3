/** Dask clusters as a service: the dask-gateway API, the Dask port (SNI), the control loops. */
import type { Config } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import type { Executor } from '../executors/types.js';
import type { QuotaService } from '../hub/quota/index.js';
import { log } from '../log.js';
import type { Store } from '../store/types.js';
import { notebookClusterAccess, type NotebookClusterAccessProvider } from './notebook-env.js';
import { clusterUsageProvider } from './resources.js';
import { ClusterService, type ClusterServiceDeps } from './service.js';
import { SniRouter } from './sni-router.js';

export { ClusterService, type LiveView } from './service.js';
export { createGatewayHandler, GATEWAY_PREFIX } from './gateway-api.js';
export { registerClusterRoutes } from './hub-api.js';
export { SniRouter, SNI_PREFIX } from './sni-router.js';
export { isClusterRoutePath, isClusterRouteServer } from './routes.js';
export { notebookClusterAccess, type NotebookClusterAccessProvider } from './notebook-env.js';

/** The running clusters part, as the composition root holds it. */
export interface RunningClusters {
  service: ClusterService;
  /** The port the Dask listener bound (the configured one, or a free one for 0). */
  daskPort: number;
  /** `host:port` clients and offloaded workers use. */
  proxyAddress: string;
  /** What notebook servers get to use clusters (for the ServerManager). */
  notebookAccess: NotebookClusterAccessProvider;
  /** Re-attaches to running clusters (at start, then every reconcile interval). */
  reconcile(): Promise<void>;
  /** Stops the loops and the Dask port; schedulers and workers keep running. */
  close(): Promise<void>;
}

/**
 * Starts the clusters part: binds the Dask port, builds the service, registers its usage with
 * the quotas. Returns null when `clusters.enabled` is false.
 */
export async function startClusters(deps: {
  config: Config;
  store: Store;
  executors: ReadonlyMap<string, Executor>;
  proxy: ClusterServiceDeps['proxy'];
  quota: QuotaService;
  publicUrl: string;
}): Promise<RunningClusters | null> {
  const c = deps.config.clusters;
  if (!c.enabled) return null;
  const sni = new SniRouter();
  const ip = c.daskIp ?? deps.config.hub.ip;
  let daskPort: number;
  try {
    daskPort = await sni.listen(c.daskPort, ip);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail('CONFIG_INVALID', `The Dask port ${ip}:${c.daskPort} cannot be used (${code ?? String(err)}): choose another with --dask-port or clusters.daskPort, or set clusters.enabled: false.`, { cause: err });
  }
  const proxyAddress = c.proxyAddress ?? `${new URL(deps.publicUrl).hostname}:${daskPort}`;
  const service = new ClusterService({ config: deps.config, store: deps.store, executors: deps.executors, proxy: deps.proxy, sni, proxyAddress, quota: deps.quota });
  deps.quota.register(clusterUsageProvider(deps.store));
  log.info('dask port listening', { port: daskPort, proxyAddress });
  return {
    service,
    daskPort,
    proxyAddress,
    notebookAccess: notebookClusterAccess({ store: deps.store, publicUrl: deps.publicUrl, proxyAddress: () => proxyAddress }),
    reconcile: () => service.reconcile(),
    async close() {
      await service.close();
      await sni.close();
    },
  };
}
