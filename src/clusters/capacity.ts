import { formatBytes, formatCores } from '../contracts/format.js';
import { parseCpu, parseMemory } from '../executors/quantity.js';
import type { Executor } from '../executors/types.js';
import { executorModel } from '../hub/api/executors.js';
import type { ClusterSpec } from './options.js';

/** Capacity as an executor's last ping reported it (cores, bytes); null where it did not say. */
export interface Capacity { cores: number | null; memoryBytes: number | null }

async function capacityOf(executor: Executor | undefined): Promise<Capacity | null> {
  if (!executor) return null;
  const cap = (await executorModel(executor)).capacity;
  if (!cap) return null;
  const read = (parse: () => number) => {
    try {
      return parse();
    } catch {
      return null;
    }
  };
  return { cores: cap.cpu ? read(() => parseCpu(cap.cpu)) : null, memoryBytes: cap.memory ? read(() => parseMemory(cap.memory)) : null };
}

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

/** What one server asks beyond its executor's reported capacity (its cores and memory options). */
export function serverCapacityWarnings(request: { cores: number | null; memoryBytes: number | null; executor: string }, capacity: Capacity | null): string[] {
  if (!capacity) return [];
  const out: string[] = [];
  if (request.cores !== null && capacity.cores !== null && request.cores > capacity.cores) {
    out.push(`The server asks for ${formatCores(request.cores)}, but executor ${request.executor} reports ${formatCores(capacity.cores)}: it may wait or share cores.`);
  }
  if (request.memoryBytes !== null && capacity.memoryBytes !== null && request.memoryBytes > capacity.memoryBytes) {
    out.push(`The server asks for ${formatBytes(request.memoryBytes)} of memory, but executor ${request.executor} reports ${formatBytes(capacity.memoryBytes)}.`);
  }
  return out;
}

/** A bounded wait for an executor's capacity: a warning is not worth a slow answer. */
function capacityWithin(executor: Executor | undefined, ms: number): Promise<Capacity | null> {
  return Promise.race([capacityOf(executor), new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
}

/** The warnings for a server started with `options` (cores, memory) on `executor`. */
export async function serverWarnings(executors: ReadonlyMap<string, Executor>, executor: string | null, options: Record<string, unknown>): Promise<string[]> {
  if (!executor) return [];
  const number = (parse: () => number) => {
    try {
      return parse();
    } catch {
      return null;
    }
  };
  const cores = options.cores === undefined ? null : number(() => parseCpu(options.cores));
  const memoryBytes = options.memory === undefined ? null : number(() => parseMemory(options.memory));
  return serverCapacityWarnings({ cores, memoryBytes, executor }, await capacityWithin(executors.get(executor), 2000));
}

/** The warnings for `workers` workers of a cluster, asking its worker executor for its capacity. */
export async function capacityWarnings(executors: ReadonlyMap<string, Executor>, spec: ClusterSpec, workers: number): Promise<string[]> {
  if (workers === 0) return [];
  return clusterCapacityWarnings(spec, workers, await capacityWithin(executors.get(spec.workerExecutor), 2000));
}
