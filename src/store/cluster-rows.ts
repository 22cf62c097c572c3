/**
 * Cluster rows to and from their stored form (as rows.ts does for the other tables): JSON text
 * to objects, snake_case to camelCase.
 */
import type { ClustersTable } from './schema.js';
import type { ClusterRow, ClusterStatus } from './types.js';

function parseJson<T>(text: string | null, fallback: T): T {
  if (text == null || text === '') return fallback;
  return JSON.parse(text) as T;
}

export function toClusterRow(r: ClustersTable): ClusterRow {
  return {
    name: r.name,
    user: r.user_name,
    status: r.status as ClusterStatus,
    options: parseJson<Record<string, unknown>>(r.options, {}),
    config: parseJson<Record<string, unknown>>(r.config, {}),
    created: r.created,
    stopped: r.stopped ?? null,
    failure: r.failure ?? null,
    tlsCert: r.tls_cert,
    tlsKey: r.tls_key,
    httpToken: r.http_token,
    // pg may hand integers back as strings
    desiredWorkers: Number(r.desired_workers),
    adaptive: parseJson<ClusterRow['adaptive']>(r.adaptive, null),
    state: parseJson<Record<string, unknown>>(r.state, {}),
  };
}

export function fromClusterRow(c: ClusterRow): ClustersTable {
  return {
    name: c.name,
    user_name: c.user,
    status: c.status,
    options: JSON.stringify(c.options ?? {}),
    config: JSON.stringify(c.config ?? {}),
    created: c.created,
    stopped: c.stopped ?? null,
    failure: c.failure ?? null,
    tls_cert: c.tlsCert,
    tls_key: c.tlsKey,
    http_token: c.httpToken,
    desired_workers: c.desiredWorkers,
    adaptive: c.adaptive ? JSON.stringify(c.adaptive) : null,
    state: JSON.stringify(c.state ?? {}),
  };
}

/** Columns to set for a partial update; absent or undefined keys are left alone, name and user never change. */
export function clusterPatchColumns(p: Partial<ClusterRow>): Partial<ClustersTable> {
  const out: Partial<ClustersTable> = {};
  if (p.status !== undefined) out.status = p.status;
  if (p.options !== undefined) out.options = JSON.stringify(p.options ?? {});
  if (p.config !== undefined) out.config = JSON.stringify(p.config ?? {});
  if (p.stopped !== undefined) out.stopped = p.stopped;
  if (p.failure !== undefined) out.failure = p.failure;
  if (p.tlsCert !== undefined) out.tls_cert = p.tlsCert;
  if (p.tlsKey !== undefined) out.tls_key = p.tlsKey;
  if (p.httpToken !== undefined) out.http_token = p.httpToken;
  if (p.desiredWorkers !== undefined) out.desired_workers = p.desiredWorkers;
  if (p.adaptive !== undefined) out.adaptive = p.adaptive ? JSON.stringify(p.adaptive) : null;
  if (p.state !== undefined) out.state = JSON.stringify(p.state ?? {});
  return out;
}
