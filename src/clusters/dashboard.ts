import { parsePrometheus } from './prometheus.js';
import type { DashboardData, DashboardWorker } from '../contracts/clusters.js';
import type { SchedulerHttp, SchedulerWorkerInfo } from './scheduler-http.js';

export type { DashboardData, DashboardWorker, PrefixProgress } from '../contracts/clusters.js';

function workerOf(address: string, w: SchedulerWorkerInfo): DashboardWorker {
  const m = w.metrics ?? {};
  const counts = m.task_counts ?? {};
  return {
    name: String(w.name),
    address,
    threads: w.nthreads ?? 0,
    memoryLimit: w.memory_limit ?? 0,
    memory: m.memory ?? 0,
    managed: m.managed_bytes ?? 0,
    spilled: (m.spilled_bytes?.memory ?? 0) + (m.spilled_bytes?.disk ?? 0),
    cpu: m.cpu ?? 0,
    // task_counts since 2022.11; executing/ready/in_memory before.
    executing: counts.executing ?? m.executing ?? 0,
    ready: counts.ready ?? m.ready ?? 0,
    inMemory: counts.memory ?? m.in_memory ?? 0,
  };
}

/** Reads the scheduler once for the cluster page. Throws when the scheduler does not answer. */
export async function readDashboard(http: SchedulerHttp, opts: { bokeh?: boolean } = {}): Promise<DashboardData> {
  const [identity, metricsText] = await Promise.all([http.identity(), http.metrics().catch(() => '')]);
  const workers = Object.entries(identity.workers ?? {}).map(([addr, w]) => workerOf(addr, w)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const samples = parsePrometheus(metricsText, 'dask_');
  const tasks: Record<string, number> = {};
  const prefixes = new Map<string, Record<string, number>>();
  let desiredWorkers: number | null = null;
  let clients: number | null = null;
  for (const s of samples) {
    if (s.name === 'dask_scheduler_tasks' && s.labels.state) tasks[s.labels.state] = s.value;
    else if (s.name === 'dask_scheduler_desired_workers') desiredWorkers = s.value;
    else if (s.name === 'dask_scheduler_clients') clients = s.value;
    else if (s.name === 'dask_scheduler_prefix_state_totals_total' && s.labels.task_prefix_name && s.labels.state) {
      const p = prefixes.get(s.labels.task_prefix_name) ?? {};
      p[s.labels.state] = s.value;
      prefixes.set(s.labels.task_prefix_name, p);
    }
  }
  // The totals count transitions into each state; a task enters `waiting` once when submitted.
  const progress = [...prefixes].map(([prefix, t]) => {
    const total = Math.max(t.waiting ?? 0, (t.memory ?? 0) + (t.erred ?? 0));
    return { prefix, total, done: Math.min(t.memory ?? 0, total), erred: t.erred ?? 0, processing: Math.max(0, (t.processing ?? 0) - (t.memory ?? 0) - (t.erred ?? 0)) };
  }).filter((p) => p.total > 0).sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
  const totals = workers.reduce((acc, w) => ({
    workers: acc.workers + 1, threads: acc.threads + w.threads, memoryLimit: acc.memoryLimit + w.memoryLimit,
    memory: acc.memory + w.memory, managed: acc.managed + w.managed,
  }), { workers: 0, threads: 0, memoryLimit: 0, memory: 0, managed: 0 });
  return { time: new Date().toISOString(), workers, totals, tasks, progress, desiredWorkers, clients, bokeh: opts.bokeh ?? false };
}
