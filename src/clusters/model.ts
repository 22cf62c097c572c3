import type { ClusterRow } from '../store/types.js';
import { specOf } from './options.js';
import { dashboardRoute } from '../contracts/cluster-routes.js';
import type { LiveView } from './service.js';
import { SNI_PREFIX } from '../proxy/sni-router.js';
import { stateOf } from './state.js';

function ms(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso);
}

/**
 * dask-gateway's cluster JSON (its models.py `to_dict`), exactly its keys: the Python client
 * passes every key it does not pop to `ClusterReport(**msg)`, so an extra key would break it.
 * Times are milliseconds since the epoch; credentials only while RUNNING and only for callers
 * allowed to connect.
 */
export function gatewayModel(row: ClusterRow, opts: { credentials: boolean }) {
  const running = row.status === 'RUNNING';
  return {
    name: row.name,
    dashboard_route: running ? dashboardRoute(row.name) : null,
    status: row.status,
    start_time: ms(row.created)!,
    stop_time: ms(row.stopped),
    options: row.options,
    tls_cert: running && opts.credentials ? row.tlsCert : null,
    tls_key: running && opts.credentials ? row.tlsKey : null,
  };
}

/**
 * Why a cluster was stopped on request, kept as its `failure` like the culler's reasons: the
 * portal then says who stopped it instead of only "0 running".
 */
export function stopReason(stoppedBy: string, owner: string): string {
  return stoppedBy === owner ? `Stopped by its owner, ${owner}.` : `Stopped by ${stoppedBy}.`;
}

/** highrate's richer model for the portal and the CLI (`/hub/api/clusters`): no credentials. */
export function clusterModel(row: ClusterRow, live: LiveView | null, proxyAddress: string) {
  const state = stateOf(row);
  const spec = specOf(row.config);
  const connected = state.workers.filter((w) => w.connected).length;
  const running = row.status === 'RUNNING';
  return {
    name: row.name,
    user: row.user,
    status: row.status,
    options: row.options,
    created: row.created,
    stopped: row.stopped,
    failure: row.failure,
    dashboard_route: running ? dashboardRoute(row.name) : null,
    scheduler_address: running ? `gateway://${proxyAddress}/${row.name}` : null,
    /** What `distributed.Client` needs without dask-gateway: this address and this TLS server name. */
    tls_address: `tls://${proxyAddress}`,
    sni: `${SNI_PREFIX}${row.name}`,
    workers: {
      requested: row.adaptive ? null : row.desiredWorkers,
      running: connected,
      starting: state.workers.length - connected,
      retiring: live?.retiring ?? 0,
      connected_to_scheduler: live?.identity ? Object.keys(live.identity.workers ?? {}).length : null,
    },
    adaptive: row.adaptive,
    worker_cores: spec.workerCores,
    worker_memory: spec.workerMemory,
    worker_executor: spec.workerExecutor,
    scheduler_executor: spec.schedulerExecutor,
    max_workers: spec.maxWorkers,
    progress_url: `/hub/api/clusters/${row.name}/progress`,
  };
}
