/**
 * The Resources API's JSON, shared by the hub (src/hub/api/executors.ts, workloads.ts) and the
 * portal (ui/src/components/Resource*.tsx): one definition, so they cannot drift. Types only.
 */
import type { ExecutorCapabilities, PingResponse } from '../executors/types.js';

/** One executor in `GET /hub/api/executors`. */
export interface ExecutorModel {
  name: string;
  kind: string;
  capabilities: ExecutorCapabilities;
  health: { ok: boolean; message: string | null; checked: string };
  /** From the executor's ping: Kubernetes quantities as strings; null when unknown. */
  capacity: PingResponse['resources'] | null;
  taints: NonNullable<PingResponse['taints']>;
}

/** One container of a workload, as the Resources page shows it. */
export interface WorkloadContainer {
  name: string;
  init: boolean;
  state: 'waiting' | 'running' | 'terminated' | 'unknown';
  reason?: string;
  message?: string;
  exitCode?: number;
}

/** One pod the hub tracks (`GET /hub/api/workloads`): a user's server, or a cluster's scheduler or worker. */
export interface WorkloadModel {
  uid: string;
  owner: string;
  role: 'server' | 'scheduler' | 'worker';
  /** The server's name ("" for the default server), or the cluster's. */
  name: string;
  executor: string;
  /** The executor's kind; null when the executor is no longer configured. */
  kind: string | null;
  /** The server's state (starting, running, stopping) or the cluster's status. */
  state: string;
  started: string | null;
  /** Live, from the executor (one status call per executor); empty when it could not say. */
  containers: WorkloadContainer[];
  /** Why `containers` is empty, when the executor failed to answer. */
  statusError?: string;
}
