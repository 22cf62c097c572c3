import type { ClustersConfig } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { parseMemory } from '../executors/quantity.js';

/** One field of dask-gateway's cluster options, as `GET /api/v1/options` lists it. */
export interface OptionField {
  field: string;
  label: string;
  default: unknown;
  spec: { type: 'int'; min: number; max: number } | { type: 'select'; options: string[] } | { type: 'bool' } | { type: 'string' };
}

/** What a cluster's options resolve to. Stored with the cluster; the workload builders read it. */
export interface ClusterSpec {
  workerCores: number;
  workerMemory: string;
  workerMemoryBytes: number;
  image: string | null;
  workerExecutor: string;
  schedulerExecutor: string;
  schedulerCores: number;
  schedulerMemory: string;
  schedulerMemoryBytes: number;
  maxWorkers: number;
}

/** The executors a user may put workers on: the configured list, or the scheduler's executor. */
export function workerExecutors(c: ClustersConfig): string[] {
  return c.options.workerExecutors.length ? [...c.options.workerExecutors] : [c.schedulerExecutor];
}

/**
 * The options users may set, as dask-gateway's Options fields (its `get_specification()`), so
 * `gateway.cluster_options()` builds its widget from them: `worker_cores` (int), `worker_memory`
 * (select), `worker_executor` (select: where workers run, the offloading choice), `max_workers`
 * (int) and, when images are configured, `image` (select).
 */
export function optionFields(c: ClustersConfig): OptionField[] {
  const o = c.options;
  const executors = workerExecutors(c);
  const fields: OptionField[] = [
    { field: 'worker_cores', label: 'Worker cores', default: o.workerCores.default, spec: { type: 'int', min: o.workerCores.min, max: o.workerCores.max } },
    { field: 'worker_memory', label: 'Worker memory', default: o.workerMemory.default ?? o.workerMemory.choices[0], spec: { type: 'select', options: [...o.workerMemory.choices] } },
    { field: 'worker_executor', label: 'Run workers on', default: executors[0], spec: { type: 'select', options: executors } },
    { field: 'max_workers', label: 'Maximum workers', default: o.maxWorkers.default, spec: { type: 'int', min: 0, max: o.maxWorkers.max } },
  ];
  if (o.images) fields.push({ field: 'image', label: 'Worker image', default: o.images.default ?? o.images.choices[0], spec: { type: 'select', options: [...o.images.choices] } });
  return fields;
}

/**
 * Validates a user's `cluster_options` against the fields: unknown fields, wrong types and values
 * outside the choices are 422 INVALID_CLUSTER_OPTIONS naming the field (dask-gateway answers
 * invalid options with 422 too). Missing or null fields take their default. Returns the options
 * with every field filled (the cluster's `options`) and what they resolve to.
 */
export function resolveOptions(raw: unknown, c: ClustersConfig): { options: Record<string, unknown>; spec: ClusterSpec } {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail('INVALID_CLUSTER_OPTIONS', 'cluster_options must be an object of option values.');
  const given = raw as Record<string, unknown>;
  const fields = optionFields(c);
  const known = new Set(fields.map((f) => f.field));
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length) {
    throw fail('INVALID_CLUSTER_OPTIONS', `Unknown cluster option${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => JSON.stringify(u.slice(0, 60))).join(', ')} (known: ${[...known].join(', ')}).`);
  }
  const options: Record<string, unknown> = {};
  for (const f of fields) {
    const v = given[f.field];
    options[f.field] = v === undefined || v === null ? f.default : checkValue(f, v);
  }
  const memory = String(options.worker_memory);
  const spec: ClusterSpec = {
    workerCores: Number(options.worker_cores),
    workerMemory: memory,
    workerMemoryBytes: parseMemory(memory, { field: 'worker_memory' }),
    image: typeof options.image === 'string' ? options.image : null,
    workerExecutor: String(options.worker_executor),
    schedulerExecutor: c.schedulerExecutor,
    schedulerCores: c.scheduler.cores,
    schedulerMemory: c.scheduler.memory,
    schedulerMemoryBytes: parseMemory(c.scheduler.memory, { field: 'clusters.scheduler.memory' }),
    maxWorkers: Number(options.max_workers),
  };
  return { options, spec };
}

function checkValue(f: OptionField, v: unknown): unknown {
  const spec = f.spec;
  switch (spec.type) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw fail('INVALID_CLUSTER_OPTIONS', `${f.field} must be an integer, got ${JSON.stringify(v)?.slice(0, 40)}.`);
      if (v < spec.min || v > spec.max) throw fail('INVALID_CLUSTER_OPTIONS', `${f.field} must be between ${spec.min} and ${spec.max}, got ${v}.`);
      return v;
    case 'select':
      if (typeof v !== 'string' || !spec.options.includes(v)) throw fail('INVALID_CLUSTER_OPTIONS', `${f.field} must be one of ${spec.options.map((o) => JSON.stringify(o)).join(', ')}, got ${JSON.stringify(v)?.slice(0, 60)}.`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw fail('INVALID_CLUSTER_OPTIONS', `${f.field} must be true or false.`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw fail('INVALID_CLUSTER_OPTIONS', `${f.field} must be a string.`);
      return v;
  }
}

/** A stored spec, read back (clusters created by this code always have one). */
export function specOf(config: Record<string, unknown>): ClusterSpec {
  return config as unknown as ClusterSpec;
}
