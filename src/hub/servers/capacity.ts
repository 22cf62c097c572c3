/**
 * What an executor reports it can run (its last ping), and the warnings for requests beyond it:
 * a server's here, a cluster's in src/clusters/capacity.ts. Warnings, never refusals: batch
 * executors queue what does not fit, and capacity is a snapshot.
 */
import { formatBytes, formatCores } from '../../contracts/format.js';
import { parseCpu, parseMemory } from '../../executors/quantity.js';
import type { Executor } from '../../executors/types.js';
import { executorModel } from '../api/executors.js';

/** Capacity as an executor's last ping reported it (cores, bytes); null where it did not say. */
export interface Capacity { cores: number | null; memoryBytes: number | null }

export async function capacityOf(executor: Executor | undefined): Promise<Capacity | null> {
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
export function capacityWithin(executor: Executor | undefined, ms: number): Promise<Capacity | null> {
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

