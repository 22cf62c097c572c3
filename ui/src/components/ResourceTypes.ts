/** The Resources API: its models (one definition with the hub's, in src/contracts) and paths. */

export type { ExecutorModel, WorkloadContainer, WorkloadModel } from '../../../src/contracts/resources.js';

export const executorsPath = '/hub/api/executors';
export const workloadsPath = '/hub/api/workloads';

/** The log URL of a workload's container. */
export function workloadLogsPath(uid: string, container: string, tail: number, follow: boolean): string {
  const q = new URLSearchParams(container ? { container } : {});
  if (tail > 0) q.set('tail', String(tail));
  if (follow) q.set('follow', '1');
  return `${workloadsPath}/${encodeURIComponent(uid)}/logs?${q.toString()}`;
}
