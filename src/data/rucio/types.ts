/**
 * Rucio's REST models as its server renders them (field names as on the wire). Dates are the
 * strings Rucio sends: RFC 1123 with "UTC" for DIDs and rules, `%Y-%m-%dT%H:%M:%S` for accounts.
 */

export type DidType = 'FILE' | 'DATASET' | 'CONTAINER' | 'ARCHIVE';

/** `GET /dids/{scope}/{name}`: a file carries checksums, a collection its open state. */
export interface Did {
  scope: string;
  name: string;
  type: DidType;
  account: string;
  bytes: number | null;
  length: number | null;
  md5?: string | null;
  adler32?: string | null;
  open?: boolean;
  monotonic?: boolean;
  expired_at?: string | null;
}

/** A line of `GET /dids/{scope}/dids/search?long=true`. */
export interface DidSearchResult {
  scope: string;
  name: string;
  did_type: DidType;
  bytes: number | null;
  length: number | null;
}

/** A line of `GET /dids/{scope}/{name}/files`. */
export interface DidFile {
  scope: string;
  name: string;
  bytes: number;
  adler32: string | null;
  guid: string | null;
  events: number | null;
}

/** A line of `GET /dids/{scope}/{name}/dids` (direct children). */
export interface DidChild {
  scope: string;
  name: string;
  type: DidType;
  bytes: number | null;
  adler32: string | null;
  md5: string | null;
}

/** A line of `GET /dids/{scope}/{name}/parents`. */
export interface DidParent {
  scope: string;
  name: string;
  type: DidType;
}

/** One PFN of a replica in `POST /replicas/list`. `priority` is 1-based over the file's PFNs, LAN first. */
export interface PfnInfo {
  rse: string;
  rse_id?: string;
  type: 'DISK' | 'TAPE';
  domain: 'lan' | 'wan' | 'zip';
  priority: number;
  client_extract: boolean;
  volatile?: boolean;
}

/** A line of `POST /replicas/list`: a file with its PFNs, grouped also by RSE. */
export interface FileReplicas {
  scope: string;
  name: string;
  bytes: number;
  md5: string | null;
  adler32: string | null;
  pfns: Record<string, PfnInfo>;
  rses: Record<string, string[]>;
  /** Per RSE (`AVAILABLE`, `COPYING`, …); sent with every file that has replicas. */
  states?: Record<string, string>;
}

export type RuleState = 'REPLICATING' | 'OK' | 'STUCK' | 'SUSPENDED' | 'WAITING_APPROVAL' | 'INJECT';

/** `GET /rules/{id}` (the ReplicationRule row). */
export interface Rule {
  id: string;
  account: string;
  scope: string;
  name: string;
  did_type: DidType;
  state: RuleState;
  error: string | null;
  rse_expression: string;
  copies: number;
  expires_at: string | null;
  locks_ok_cnt: number;
  locks_replicating_cnt: number;
  locks_stuck_cnt: number;
  grouping: string;
  activity: string | null;
  comments: string | null;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export type LockState = 'REPLICATING' | 'OK' | 'STUCK';

/** A line of `GET /rules/{id}/locks`. */
export interface ReplicaLock {
  scope: string;
  name: string;
  rse_id: string;
  rse: string;
  state: LockState;
  rule_id: string;
}

/** `POST /rules/` body (fields Rucio's AllRule.post reads; note `comment`, not `comments`). */
export interface NewRule {
  dids: Array<{ scope: string; name: string }>;
  account: string;
  copies: number;
  rse_expression: string;
  grouping?: 'ALL' | 'DATASET' | 'NONE';
  lifetime?: number | null;
  locked?: boolean;
  activity?: string;
  comment?: string;
  ask_approval?: boolean;
  asynchronous?: boolean;
  purge_replicas?: boolean;
}

/** `GET /accounts/{account}`. */
export interface Account {
  account: string;
  account_type: string;
  status: string;
  email: string | null;
  [field: string]: unknown;
}

/** A line of `GET /accounts/{account}/usage/local[/{rse}]`. */
export interface AccountUsage {
  rse_id?: string;
  rse: string;
  bytes: number;
  files: number;
  bytes_limit: number;
  bytes_remaining: number;
}
