import type { AdminWorkload, Usage, UsageProvider } from '../hub/quota/index.js';
import type { ClusterRow, Store } from '../store/types.js';
import { specOf } from './options.js';
import { stateOf } from './state.js';

/**
 * What a cluster holds or may hold against quotas: its scheduler plus its workers — the scale
 * count, or the adaptive maximum while adaptive (what it may grow to without asking again).
 */
export function clusterReservation(row: Pick<ClusterRow, 'config' | 'desiredWorkers' | 'adaptive'>, workers?: number): { cores: number; memoryBytes: number } {
  const spec = specOf(row.config);
  const n = workers ?? (row.adaptive ? row.adaptive.maximum : row.desiredWorkers);
  return { cores: spec.schedulerCores + n * spec.workerCores, memoryBytes: spec.schedulerMemoryBytes + n * spec.workerMemoryBytes };
}

/**
 * The clusters' share of each user's usage, for the hub's QuotaService (cores and memory are
 * limited across servers and clusters together), and the running clusters for the admin portal.
 */
export function clusterUsageProvider(store: Store): UsageProvider {
  return {
    kind: 'cluster',
    async usageOf(user: string): Promise<Partial<Usage>> {
      const rows = await store.listClusters({ user, statuses: ['PENDING', 'RUNNING'] });
      const out = { clusters: rows.length, cores: 0, memoryBytes: 0 };
      for (const r of rows) {
        const res = clusterReservation(r);
        out.cores += res.cores;
        out.memoryBytes += res.memoryBytes;
      }
      return out;
    },
    async list(): Promise<AdminWorkload[]> {
      const rows = await store.listClusters({ statuses: ['PENDING', 'RUNNING', 'STOPPING'] });
      return rows.map((r) => {
        const res = clusterReservation(r);
        const workers = stateOf(r).workers;
        return {
          kind: 'cluster', user: r.user, name: r.name, state: r.status.toLowerCase(), started: r.created, lastActivity: stateOf(r).lastBusy,
          cores: res.cores, memoryBytes: res.memoryBytes,
          detail: { workers: workers.length, connected: workers.filter((w) => w.connected).length, adaptive: r.adaptive },
          stopUrl: `/hub/api/clusters/${r.name}`,
        };
      });
    },
  };
}
