/** The Resources API models (src/hub/api/executors.ts, src/hub/api/workloads.ts). */

export interface ExecutorModel {
  name: string;
  kind: string;
  capabilities: { images: boolean; cpuLimits: boolean; memoryLimits: boolean; remoteAddress: boolean };
  health: { ok: boolean; message: string | null; checked: string };
  capacity: { cpu?: string; memory?: string; pods?: string; accelerators?: { resourceType: string; available: string }[] } | null;
  taints: { key: string; value?: string; effect: string }[];
}

export interface WorkloadContainer {
  name: string;
  init: boolean;
  state: 'waiting' | 'running' | 'terminated' | 'unknown';
  reason?: string;
  message?: string;
  exitCode?: number;
}

export interface WorkloadModel {
  uid: string;
  owner: string;
  role: 'server' | 'scheduler' | 'worker';
  name: string;
  executor: string;
  kind: string | null;
  state: string;
  started: string | null;
  containers: WorkloadContainer[];
  statusError?: string;
}

export const executorsPath = '/hub/api/executors';
export const workloadsPath = '/hub/api/workloads';

/** The log URL of a workload's container. */
export function workloadLogsPath(uid: string, container: string, tail: number, follow: boolean): string {
  const q = new URLSearchParams(container ? { container } : {});
  if (tail > 0) q.set('tail', String(tail));
  if (follow) q.set('follow', '1');
  return `${workloadsPath}/${encodeURIComponent(uid)}/logs?${q.toString()}`;
}
