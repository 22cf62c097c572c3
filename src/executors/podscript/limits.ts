import type { Container, Pod } from '../types.js';
import { parseCpu, parseMemory } from '../quantity.js';

/** Limits in base units; undefined: unlimited. */
export interface Limits { cpuCores?: number; memoryBytes?: number }

/** A container's cpu and memory limits (a zero limit counts as none). */
export function containerLimits(c: Container): Limits {
  const raw = c.resources?.limits ?? {};
  const out: Limits = {};
  if (raw.cpu !== undefined) {
    const v = parseCpu(raw.cpu, { field: `limits.cpu of container "${c.name}"` });
    if (v > 0) out.cpuCores = v;
  }
  if (raw.memory !== undefined) {
    const v = parseMemory(raw.memory, { field: `limits.memory of container "${c.name}"` });
    if (v > 0) out.memoryBytes = v;
  }
  return out;
}

/**
 * The pod's effective limits, Kubernetes' rule for pod-level resources: the larger of the sum
 * over the regular containers (they run together) and the largest init container (they run one
 * at a time). If any regular container is unlimited for a resource, so is the pod, as the
 * kubelet leaves the pod cgroup unbounded then.
 */
export function podLimits(pod: Pod): Limits {
  const out: Limits = {};
  for (const key of ['cpuCores', 'memoryBytes'] as const) {
    let sum = 0;
    let bounded = pod.spec.containers.length > 0;
    for (const c of pod.spec.containers) {
      const v = containerLimits(c)[key];
      if (v === undefined) bounded = false;
      else sum += v;
    }
    if (!bounded) continue;
    let initMax = 0;
    for (const c of pod.spec.initContainers ?? []) initMax = Math.max(initMax, containerLimits(c)[key] ?? Infinity);
    const v = Math.max(sum, initMax);
    if (Number.isFinite(v)) out[key] = key === 'cpuCores' ? Math.round(v * 1000) / 1000 : v;
  }
  return out;
}
