/** The hub's data API (`/hub/api/data/…`, docs/data.md), as the Data page uses it. */

export const dataInfoPath = '/hub/api/data';
export const dataRulesPath = '/hub/api/data/rules';
export const dataQuotaPath = '/hub/api/data/quota';
export const dataSearchPath = (did: string, type: string) => `/hub/api/data/search?${new URLSearchParams({ did, type })}`;
export const dataDidPath = (did: string) => `/hub/api/data/dids/${encodeURIComponent(did)}`;
export const dataReplicasPath = (did: string) => `${dataDidPath(did)}/replicas`;
export const dataRulePath = (id: string) => `${dataRulesPath}/${encodeURIComponent(id)}`;

export interface DidHit { did: string; type: string; bytes: number | null; length: number | null }
export interface DidDetail {
  did: string; type: string; bytes: number | null; files_count: number; adler32: string | null;
  files: Array<{ did: string; bytes: number | null; adler32: string | null }>; files_truncated: boolean;
  children: Array<{ did: string; type: string }>; parents: Array<{ did: string; type: string }>;
}
export interface ReplicaView {
  did: string; files_count: number;
  rses: Array<{ rse: string; files: number; bytes: number; complete: boolean }>;
  facility: { rse: string; files: number; bytes: number; complete: boolean };
}
export interface RuleModel {
  id: string; did: string; account: string; rse_expression: string; state: string; error: string | null;
  created_at: string; expires_at: string | null;
  locks: { ok: number; replicating: number; stuck: number; total: number }; progress: number;
}
export interface QuotaModel { account: string; facility_rse: string; facility: { bytes_limit: number | null; bytes: number; files: number; bytes_remaining: number } }

/** 1.5 GiB, 12 KiB, 512 B. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
