/**
 * The cluster page's live data (`GET /hub/api/clusters/{name}/dashboard`), shared by the hub
 * (src/clusters/dashboard.ts builds it) and the portal (ui/src/components/ClusterCharts.tsx draws
 * it): one definition, so they cannot drift. Types only.
 */

/** One worker as the cluster page draws it. */
export interface DashboardWorker {
  name: string;
  address: string;
  threads: number;
  memoryLimit: number;
  /** Process memory (RSS) as the worker last reported it. */
  memory: number;
  /** Bytes of results it holds (managed by Dask). */
  managed: number;
  spilled: number;
  /** CPU use in percent of one core. */
  cpu: number;
  executing: number;
  ready: number;
  inMemory: number;
}

/** Progress of one kind of task (a task prefix: `sum`, `histogram`, …). */
export interface PrefixProgress {
  prefix: string;
  /** Tasks of the prefix that were submitted (entered `waiting`). */
  total: number;
  done: number;
  erred: number;
  processing: number;
}

/**
 * What the cluster page shows live. Debian's Dask has no bokeh, so highrate draws its own charts
 * from the scheduler's JSON (`/json/identity.json`, `/json/counts.json`) and Prometheus
 * (`/metrics`) endpoints, which exist with or without bokeh.
 */
export interface DashboardData {
  time: string;
  workers: DashboardWorker[];
  totals: { workers: number; threads: number; memoryLimit: number; memory: number; managed: number };
  /** Tasks by state now (`dask_scheduler_tasks{state}`). */
  tasks: Record<string, number>;
  progress: PrefixProgress[];
  desiredWorkers: number | null;
  clients: number | null;
  /** Whether the scheduler serves its own (bokeh) dashboard at the dashboard route. */
  bokeh: boolean;
}
