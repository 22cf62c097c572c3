/**
 * The tables as Kysely sees them: snake_case columns, every value in its stored form.
 * The same columns on SQLite and PostgreSQL so one set of queries serves both:
 * - timestamps are ISO-8601 UTC text (`Date.toISOString()`), which sorts and compares as text;
 * - JSON is text (JSON.stringify), parsed only in rows.ts, so PostgreSQL's json/jsonb parsing in
 *   the `pg` driver never makes the two backends return different shapes;
 * - booleans are integers 0/1, mapped to real booleans in rows.ts.
 * Name columns use the "C" collation on PostgreSQL so `ORDER BY name` is byte order there too,
 * as SQLite's default BINARY collation is; otherwise pages would differ between backends.
 */

import type { Generated } from 'kysely';

/** Which SQL engine a store runs on. */
export type Backend = 'sqlite' | 'postgres';

export interface UsersTable {
  name: string;
  admin: number;
  blocked: number;
  created: string;
  last_activity: string | null;
}

export interface GroupsTable {
  name: string;
  /** JSON object (migration 2). */
  properties?: string;
  /** 'idp' or 'api' (migration 2). */
  source?: string;
}

export interface UserGroupsTable {
  user_name: string;
  group_name: string;
}

export interface ServersTable {
  user_name: string;
  name: string;
  state: string;
  user_options: string;
  started: string | null;
  last_activity: string | null;
  url: string | null;
  executor: string | null;
  pod_uid: string | null;
  secret: string | null;
  failure: string | null;
  spawn_state: string;
}

export interface TokensTable {
  id: string;
  user_name: string;
  hash: string;
  prefix: string;
  scopes: string;
  note: string;
  kind: string;
  created: string;
  expires_at: string | null;
  last_activity: string | null;
  oauth_client: string | null;
  session_id: string | null;
}

/** OAuth clients of the hub as OAuth provider (migration 5): one per notebook server. */
export interface OAuthClientsTable {
  id: string;
  secret_hash: string;
  redirect_uri: string;
  allowed_scopes: string;
  description: string;
  user_name: string | null;
  server_name: string | null;
  service_name: string | null;
  created: string;
}

/** Authorization codes in flight (migration 5): used once, within minutes. */
export interface OAuthCodesTable {
  code_hash: string;
  client_id: string;
  user_name: string;
  session_id: string | null;
  scopes: string;
  redirect_uri: string;
  expires_at: string;
  token_expires_at: string;
  created: string;
}

export interface SessionsTable {
  hash: string;
  user_name: string;
  xsrf: string;
  created: string;
  expires_at: string;
}

export interface LoginStatesTable {
  state: string;
  code_verifier: string;
  nonce: string;
  next: string;
  created: string;
}

export interface RolesTable {
  name: string;
  description: string;
  scopes: string;
  source: string;
  created: string;
}

export interface RoleAssignmentsTable {
  role_name: string;
  kind: string;
  principal: string;
  source: string;
}

export interface ServiceTokensTable {
  id: string;
  service_name: string;
  hash: string;
  prefix: string;
  scopes: string;
  note: string;
  created: string;
  expires_at: string | null;
  last_activity: string | null;
}

export interface UserIdentitiesTable {
  issuer: string;
  sub: string;
  user_name: string;
  created: string;
}

/** A user's refresh token at an external issuer, sealed (migration 6; src/store/upstream-tokens.ts). */
export interface UpstreamTokensTable {
  user_name: string;
  issuer: string;
  sealed: string;
  scope: string;
  updated: string;
}

export interface AuditLogTable {
  /** Generated on insert (integer autoincrement / bigserial). */
  id: Generated<number>;
  time: string;
  actor: string;
  actor_kind: string;
  action: string;
  target: string | null;
  target_user: string | null;
  outcome: string;
  code: string | null;
  detail: string;
  ip: string | null;
}

export interface ClustersTable {
  name: string;
  user_name: string;
  status: string;
  options: string;
  config: string;
  created: string;
  stopped: string | null;
  failure: string | null;
  tls_cert: string;
  tls_key: string;
  http_token: string;
  desired_workers: number;
  adaptive: string | null;
  state: string;
}

/** Never deleted, not even with the user (migration 4): see migrations.ts. */
export interface UnixIdentitiesTable {
  user_name: string;
  /** bigint on PostgreSQL, which `pg` returns as a string. */
  uid: number | string;
  gid: number | string;
  created: string;
}

export interface SchemaVersionTable {
  version: number;
  applied: string;
}

/** The whole database, for `Kysely<Database>`. */
export interface Database {
  users: UsersTable;
  groups: GroupsTable;
  user_groups: UserGroupsTable;
  servers: ServersTable;
  tokens: TokensTable;
  sessions: SessionsTable;
  login_states: LoginStatesTable;
  schema_version: SchemaVersionTable;
  roles: RolesTable;
  role_assignments: RoleAssignmentsTable;
  service_tokens: ServiceTokensTable;
  user_identities: UserIdentitiesTable;
  upstream_tokens: UpstreamTokensTable;
  audit_log: AuditLogTable;
  clusters: ClustersTable;
  unix_identities: UnixIdentitiesTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
}
