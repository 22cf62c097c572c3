import { formatBytes, formatCores } from '../contracts/format.js';
import type { Executor } from '../executors/types.js';
import { capacityWithin, type Capacity } from '../hub/servers/capacity.js';
import type { ClusterSpec } from './options.js';

/**
 * What a cluster of `workers` workers asks of its worker executor beyond what that executor
 * reports it can run (its ping), as sentences for the API answer and the portal. A warning, not
 * a refusal: batch executors queue what does not fit, and capacity is a snapshot.
 */
export function clusterCapacityWarnings(spec: ClusterSpec, workers: number, capacity: Capacity | null): string[] {
  if (!capacity || workers === 0) return [];
  // Workers only: the scheduler mostly waits, and counting it would warn about every
  // two-worker cluster on a two-core laptop.
  const cores = workers * spec.workerCores;
  const memory = workers * spec.workerMemoryBytes;
  const what = `${workers} worker${workers === 1 ? '' : 's'} × ${formatCores(spec.workerCores)}`;
  const out: string[] = [];
  if (capacity.cores !== null && cores > capacity.cores) {
    out.push(`${what} need ${formatCores(cores)}, but executor ${spec.workerExecutor} reports ${formatCores(capacity.cores)}: workers that do not fit wait or share cores.`);
  }
  if (capacity.memoryBytes !== null && memory > capacity.memoryBytes) {
    out.push(`${what} need ${formatBytes(memory)} of memory, but executor ${spec.workerExecutor} reports ${formatBytes(capacity.memoryBytes)}.`);
  }
  return out;
}

/** The warnings for `workers` workers of a cluster, asking its worker executor for its capacity. */
export async function capacityWarnings(executors: ReadonlyMap<string, Executor>, spec: ClusterSpec, workers: number): Promise<string[]> {
  if (workers === 0) return [];
  return clusterCapacityWarnings(spec, workers, await capacityWithin(executors.get(spec.workerExecutor), 2000));
}
