/**
 * The clusters part of the REST contract (src/clusters/model.ts, options.ts; the dashboard's
 * types are shared with the hub in src/contracts/clusters.ts):
 * highrate's /hub/api/clusters models. Only the fields the portal reads are listed.
 */

const seg = encodeURIComponent;

export type ClusterStatus = 'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

export interface ClusterModel {
  name: string;
  user: string;
  status: ClusterStatus;
  options: Record<string, unknown>;
  created: string;
  stopped: string | null;
  failure: string | null;
  dashboard_route: string | null;
  scheduler_address: string | null;
  tls_address: string;
  sni: string;
  workers: { requested: number | null; running: number; starting: number; retiring: number; connected_to_scheduler: number | null };
  adaptive: { minimum: number; maximum: number } | null;
  worker_cores: number;
  worker_memory: string;
  worker_executor: string;
  scheduler_executor: string;
  max_workers: number;
  progress_url: string;
}

/** One dask-gateway option field, as GET /hub/api/clusters/options lists it. */
export interface OptionField {
  field: string;
  label: string;
  default: unknown;
  spec: { type: 'int'; min: number; max: number } | { type: 'select'; options: string[] } | { type: 'bool' } | { type: 'string' };
}

export type { DashboardData, DashboardWorker } from '../../../src/contracts/clusters.js';

export const clustersPath = '/hub/api/clusters';
export const clusterOptionsPath = '/hub/api/clusters/options';

export function clusterPath(name: string): string {
  return `${clustersPath}/${seg(name)}`;
}

export function clusterPagePath(name: string): string {
  return `/hub/clusters/${seg(name)}`;
}

export { formatBytes } from '../format.js';

/**
 * Capacity warnings of a create, carried to the cluster's page (the create form navigates there):
 * kept in sessionStorage for that one page load.
 */
const WARNINGS_KEY = 'highrate.cluster-warnings.';
export function keepWarnings(name: string, warnings: string[] | undefined): void {
  if (warnings && warnings.length) window.sessionStorage.setItem(WARNINGS_KEY + name, JSON.stringify(warnings));
}
export function takeWarnings(name: string): string[] {
  const raw = window.sessionStorage.getItem(WARNINGS_KEY + name);
  window.sessionStorage.removeItem(WARNINGS_KEY + name);
  try {
    const v: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** "2 running, 1 starting (adaptive 0–4)". */
export function workersSummary(c: ClusterModel): string {
  // An ended cluster has no workers and wants none: "0 running (2 wanted)" would read as stuck.
  if (c.status === 'STOPPED' || c.status === 'FAILED') return 'None';
  const w = c.workers;
  const want = c.adaptive ? `adaptive ${c.adaptive.minimum}–${c.adaptive.maximum}` : `${w.requested ?? 0} wanted`;
  const parts = [`${w.running} running`];
  if (w.starting) parts.push(`${w.starting} starting`);
  if (w.retiring) parts.push(`${w.retiring} retiring`);
  return `${parts.join(', ')} (${want})`;
}

export function isActiveCluster(c: Pick<ClusterModel, 'status'>): boolean {
  return c.status === 'PENDING' || c.status === 'RUNNING' || c.status === 'STOPPING';
}
