import type { Pod } from '../executors/types.js';
import type { ClusterRow, ClusterStatus } from '../store/types.js';
import type { SchedulerPorts } from './workload.js';

/** One worker pod the hub started. */
export interface WorkerRecord {
  /** Pod name and Dask worker name. */
  name: string;
  executor: string;
  pod: Pod;
  created: string;
  /** When the scheduler first listed it. */
  connected: string | null;
  /** Its address at the scheduler, once connected. */
  address: string | null;
}

/**
 * The opaque state a cluster row checkpoints (ClusterRow.state): enough for a new hub process to
 * find and manage everything the old one started.
 */
export interface ClusterState {
  scheduler: { executor: string; pod: Pod; ports: SchedulerPorts; ready: string | null } | null;
  workers: WorkerRecord[];
  /** The last worker number used (names are never reused within a cluster). */
  seq: number;
  /** Worker start failures in a row, and the last one's reason. */
  failures: number;
  lastFailure: string | null;
  /** Last time the scheduler had tasks to run (idle timeout). */
  lastBusy: string | null;
  /** How a stop in progress ends: STOPPED, or FAILED with the row's failure. */
  ending: 'STOPPED' | 'FAILED' | null;
}

export function emptyState(): ClusterState {
  return { scheduler: null, workers: [], seq: 0, failures: 0, lastFailure: null, lastBusy: null, ending: null };
}

/** The row's state, with defaults for fields an older row lacks. */
export function stateOf(row: Pick<ClusterRow, 'state'>): ClusterState {
  return { ...emptyState(), ...(row.state as Partial<ClusterState>) };
}

export const ACTIVE: readonly ClusterStatus[] = ['PENDING', 'RUNNING', 'STOPPING'];

export function isActive(status: ClusterStatus): boolean {
  return ACTIVE.includes(status);
}

/** The pod and Dask name of worker number `n`. */
export function workerName(cluster: string, n: number): string {
  return `dask-worker-${cluster}-${n}`;
}
