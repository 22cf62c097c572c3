/**
 * The store: all hub state in SQL (SQLite by default, PostgreSQL for a facility), behind one
 * interface so the hub never sees SQL. Times are ISO-8601 UTC strings; JSON columns are parsed
 * objects here. Every method is one transaction; `null` means "not found".
 */

export interface UserRow {
  name: string;
  admin: boolean;
  blocked: boolean;
  created: string;
  lastActivity: string | null;
  /** Groups as last synced from verified token claims or set by an admin. */
  groups: string[];
}

export type ServerState = 'stopped' | 'starting' | 'running' | 'stopping';

export interface ServerRow {
  user: string;
  /** "" for the default server. */
  name: string;
  state: ServerState;
  /** Options the user chose, validated against the profile: {profile, cores, memory, image}. */
  userOptions: Record<string, unknown>;
  started: string | null;
  lastActivity: string | null;
  /** Where the server listens, once known. */
  url: string | null;
  /** Executor name and pod UID of the workload running it. */
  executor: string | null;
  podUid: string | null;
  /** The secret the proxy adds to every request it forwards; nobody else knows it. */
  secret: string | null;
  /** Last spawn failure shown to the user (log tail included), cleared on the next start. */
  failure: string | null;
  /** Opaque executor/hub state checkpointed while starting (pod spec, port, etc.). */
  spawnState: Record<string, unknown>;
}

export interface TokenRow {
  /** Public id, "a<digits>" like JupyterHub's, used in URLs. */
  id: string;
  user: string;
  /** sha256 of the token; the token itself is never stored. */
  hash: string;
  /** First 4 characters, shown to users to tell tokens apart. */
  prefix: string;
  scopes: string[];
  note: string;
  kind: 'api' | 'session';
  created: string;
  expiresAt: string | null;
  lastActivity: string | null;
  /** The OAuth client it was issued to (JupyterHub's `oauth_client`); null for API tokens. */
  oauthClient?: string | null;
  /** The browser session it was issued in (`session_id`); a logout revokes it. */
  sessionId?: string | null;
}

/** An OAuth client of the hub: a notebook server (`jupyterhub-user-<name>[-<server>]`) or a service. */
export interface OAuthClientRow {
  id: string;
  /** sha256 of the client secret (a server's: its API token, as JupyterHub). */
  secretHash: string;
  /** The one redirect URI accepted, e.g. `/user/alice/oauth_callback`. */
  redirectUri: string;
  /** Scopes its tokens may hold (JupyterHub's client allowed scopes, access scopes included). */
  allowedScopes: string[];
  description: string;
  /** The server's owner and name, for server clients. */
  user: string | null;
  server: string | null;
  /** The service, for service clients (`service-<name>`); their secret is any token of the service. */
  service: string | null;
  created: string;
}

/** An authorization code, used once at the token endpoint. */
export interface OAuthCodeRow {
  codeHash: string;
  clientId: string;
  user: string;
  sessionId: string | null;
  scopes: string[];
  redirectUri: string;
  expiresAt: string;
  /** When the token it is exchanged for must end: its browser session's end. */
  tokenExpiresAt: string;
  created: string;
}

export interface SessionRow {
  /** sha256 of the session cookie value. */
  hash: string;
  user: string;
  /** Compared with the X-XSRFToken header / _xsrf field on cookie-authenticated state changes. */
  xsrf: string;
  created: string;
  expiresAt: string;
}

/** A login in flight: OIDC state, PKCE verifier and nonce, kept until the callback. */
export interface LoginStateRow {
  state: string;
  codeVerifier: string;
  nonce: string;
  next: string;
  created: string;
}

export interface ListUsersQuery {
  offset?: number;
  limit?: number;
  /** JupyterHub's filter: active = has a server starting/running/stopping; ready = running; inactive = none. */
  state?: 'active' | 'ready' | 'inactive';
  nameContains?: string;
  /** Only users flagged admin (true) or not (false). */
  admin?: boolean;
  /** Only users whose last activity is at or after this instant (ISO 8601). */
  activeSince?: string;
}

/** A group as listed; `source` 'idp' groups are re-synced from the identity provider at every login. */
export interface GroupRow {
  name: string;
  properties: Record<string, unknown>;
  source: 'idp' | 'api';
  /** Member names, sorted (only in getGroup). */
  members: string[];
  memberCount: number;
}

export interface RoleRow {
  name: string;
  description: string;
  scopes: string[];
  /** 'builtin' roles have fixed scopes; 'config' roles are rewritten from the config at every start. */
  source: 'builtin' | 'config' | 'api';
  created: string;
}

export type PrincipalKind = 'user' | 'group' | 'service';

/** "`principal` (a user, group or service) holds `role`", declared in the config or through the API. */
export interface RoleAssignmentRow {
  role: string;
  kind: PrincipalKind;
  principal: string;
  source: 'config' | 'api';
}

/** An API token of a service (services are declared in the config; their tokens live here). */
export interface ServiceTokenRow {
  id: string;
  service: string;
  hash: string;
  prefix: string;
  scopes: string[];
  note: string;
  created: string;
  expiresAt: string | null;
  lastActivity: string | null;
}

/** One audit entry: who did what to what, and how it ended. */
export interface AuditRow {
  id: number;
  time: string;
  /** User or service name ("service:<name>"), "-" when anonymous. */
  actor: string;
  actorKind: 'user' | 'service' | 'anonymous' | 'proxy' | 'system';
  /** e.g. login, token.issue, server.start, user.update, request.denied */
  action: string;
  /** What was acted on, e.g. "alice/gpu" for a server, a token id, a group name. */
  target: string | null;
  /** The user whose resource it is, when there is one. */
  targetUser: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  /** Catalogue code of a refusal or failure. */
  code: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
}

export type NewAuditRow = Omit<AuditRow, 'id'>;

export interface AuditQuery {
  /** Entries with an id below this (the cursor for the next page, newest first). */
  beforeId?: number;
  limit: number;
  actor?: string;
  /** An exact action, or a prefix ending in "." (e.g. "server."). */
  action?: string;
  targetUser?: string;
  /** Entries whose actor or target user is one of these. */
  involving?: string[];
  outcome?: AuditRow['outcome'];
  /** ISO times, inclusive / exclusive. */
  since?: string;
  until?: string;
}

/** dask-gateway's cluster states: PENDING → RUNNING → STOPPING → STOPPED, or FAILED from any. */
export type ClusterStatus = 'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';

/** A Dask cluster (migration 3). JSON fields are parsed objects here, as for servers. */
export interface ClusterRow {
  /** 32 hex characters, as dask-gateway names clusters; the SNI name is `daskgateway-<name>`. */
  name: string;
  user: string;
  status: ClusterStatus;
  /** The options the user chose, validated (dask-gateway's `options`). */
  options: Record<string, unknown>;
  /** What the options resolved to: worker cores, memory, image, executor, max workers. */
  config: Record<string, unknown>;
  created: string;
  stopped: string | null;
  /** Why the cluster failed or was stopped by the hub (idle, lifetime), shown to its owner. */
  failure: string | null;
  /** The cluster's self-signed TLS pair (PEM), used by scheduler, workers and clients. */
  tlsCert: string;
  tlsKey: string;
  /** The token the scheduler's HTTP server requires (its dashboard and API). */
  httpToken: string;
  /** Workers asked for by scale (ignored while adaptive). */
  desiredWorkers: number;
  /** Adaptive bounds, or null when scaling is manual. */
  adaptive: { minimum: number; maximum: number } | null;
  /** Opaque state the cluster service checkpoints: scheduler pod and ports, worker pods. */
  state: Record<string, unknown>;
}

export interface ListClustersQuery {
  user?: string;
  statuses?: ClusterStatus[];
}

/** The Unix account a platform user's pods run as (migration 4); kept after the user is deleted. */
export interface UnixIdentityRow {
  user: string;
  uid: number;
  /** The user's own group: always equal to `uid`. */
  gid: number;
  created: string;
}

/** Bounds of the uids the hub hands out, both inclusive (config `pods.uidRange`). */
export interface UidRange {
  min: number;
  max: number;
}

export interface Store {
  /** Creates tables or migrates them to the current version. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // users
  getUser(name: string): Promise<UserRow | null>;
  listUsers(q?: ListUsersQuery): Promise<{ users: UserRow[]; total: number }>;
  /** Creates all or none; throws HighrateError USER_EXISTS (409) naming the first existing name. */
  createUsers(names: string[], opts?: { admin?: boolean }): Promise<UserRow[]>;
  /** Creates the user if missing, then sets the given fields. */
  upsertUser(name: string, fields: Partial<Pick<UserRow, 'admin' | 'blocked' | 'groups' | 'lastActivity'>>): Promise<UserRow>;
  /** Deletes the user with their servers, tokens and sessions; their Unix identity stays. */
  deleteUser(name: string): Promise<boolean>;
  /**
   * Moves the user's last activity forward to `when` (ISO 8601, as toISOString), never back;
   * a missing user stays missing. Returns whether it moved.
   */
  touchUser(name: string, when: string): Promise<boolean>;

  // servers
  getServer(user: string, name: string): Promise<ServerRow | null>;
  listServers(user: string): Promise<ServerRow[]>;
  /** Servers of many users at once (for user lists), keyed by user name. */
  listServersOf(users: string[]): Promise<Map<string, ServerRow[]>>;
  /** Every server not in state "stopped", for reconciliation after a restart. */
  listActiveServers(): Promise<ServerRow[]>;
  /** Inserts or replaces the whole row. */
  putServer(row: ServerRow): Promise<void>;
  /** Compare-and-set on `state`: updates only if the current state is `from`; returns whether it did. */
  transitionServer(user: string, name: string, from: ServerState, patch: Partial<ServerRow>): Promise<boolean>;
  updateServer(user: string, name: string, patch: Partial<ServerRow>): Promise<void>;
  deleteServer(user: string, name: string): Promise<boolean>;

  // tokens
  insertToken(row: TokenRow): Promise<void>;
  getTokenByHash(hash: string): Promise<TokenRow | null>;
  getToken(user: string, id: string): Promise<TokenRow | null>;
  listTokens(user: string): Promise<TokenRow[]>;
  deleteToken(user: string, id: string): Promise<boolean>;
  /** Deletes the user's tokens issued in a browser session (at logout); returns how many. */
  deleteTokensOfSession(user: string, sessionId: string): Promise<number>;
  /** Creates or replaces an OAuth client. */
  putOAuthClient(row: OAuthClientRow): Promise<void>;
  getOAuthClient(id: string): Promise<OAuthClientRow | null>;
  /** Deletes a client with its codes and the tokens issued to it; returns the tokens revoked. */
  deleteOAuthClient(id: string): Promise<number>;
  insertOAuthCode(row: OAuthCodeRow): Promise<void>;
  /** Removes and returns a code (once: of two concurrent exchanges only one gets it). */
  takeOAuthCode(codeHash: string): Promise<OAuthCodeRow | null>;
  touchToken(id: string, when: string): Promise<void>;
  deleteExpiredTokens(now: string): Promise<number>;

  // sessions
  insertSession(row: SessionRow): Promise<void>;
  getSession(hash: string): Promise<SessionRow | null>;
  deleteSession(hash: string): Promise<void>;
  deleteSessionsOf(user: string): Promise<void>;

  // login states
  insertLoginState(row: LoginStateRow): Promise<void>;
  /** Returns and deletes the row (single use). */
  takeLoginState(state: string): Promise<LoginStateRow | null>;
  deleteLoginStatesBefore(when: string): Promise<number>;

  // groups (migration 2)
  listGroups(q?: { offset?: number; limit?: number; nameContains?: string }): Promise<{ groups: GroupRow[]; total: number }>;
  /** The group with its members, or null. */
  getGroup(name: string): Promise<GroupRow | null>;
  /** Creates an empty group; CONFLICT if it exists. */
  createGroup(name: string, opts?: { properties?: Record<string, unknown>; source?: GroupRow['source'] }): Promise<GroupRow>;
  /** Deletes the group and its memberships. */
  deleteGroup(name: string): Promise<boolean>;
  setGroupProperties(name: string, properties: Record<string, unknown>): Promise<void>;
  /** Adds existing users to an existing group; USER_NOT_FOUND naming the first missing user. */
  addGroupMembers(group: string, users: string[]): Promise<void>;
  removeGroupMembers(group: string, users: string[]): Promise<void>;
  /** Names of the groups with source 'api' among `names`. */
  apiGroupsAmong(names: string[]): Promise<string[]>;

  // roles (migration 2)
  listRoles(): Promise<RoleRow[]>;
  listRoleAssignments(): Promise<RoleAssignmentRow[]>;
  /** Inserts or replaces a role (assignments are kept). */
  putRole(row: RoleRow): Promise<void>;
  deleteRole(name: string): Promise<boolean>;
  /** Replaces the `source` assignments of `role` for the given kinds with `assignments`. */
  setRoleAssignments(role: string, source: RoleAssignmentRow['source'], kinds: PrincipalKind[], assignments: Array<{ kind: PrincipalKind; principal: string }>): Promise<void>;
  /**
   * Makes the config's roles and assignments exactly `roles` and `assignments`, in one
   * transaction: config roles no longer declared are deleted, built-in roles are (re)written.
   */
  syncDeclaredRoles(roles: RoleRow[], assignments: RoleAssignmentRow[]): Promise<void>;
  /** Drops a principal's assignments made through the API (user or group deleted). */
  deleteAssignmentsOf(kind: PrincipalKind, principal: string): Promise<void>;

  // service tokens (migration 2)
  insertServiceToken(row: ServiceTokenRow): Promise<void>;
  getServiceTokenByHash(hash: string): Promise<ServiceTokenRow | null>;
  listServiceTokens(service: string): Promise<ServiceTokenRow[]>;
  deleteServiceToken(service: string, id: string): Promise<boolean>;
  touchServiceToken(id: string, when: string): Promise<void>;

  // identities at external issuers (migration 2)
  /** Records that `sub` at `issuer` is `user` (at each login). */
  linkIdentity(issuer: string, sub: string, user: string): Promise<void>;
  userOfIdentity(issuer: string, sub: string): Promise<string | null>;

  // refresh tokens at an external issuer, sealed by the caller (migration 6)
  /** Inserts or replaces `user`'s sealed refresh token at `issuer`. */
  putUpstreamToken(user: string, issuer: string, sealed: string, scope: string): Promise<void>;
  getUpstreamToken(user: string, issuer: string): Promise<{ sealed: string; scope: string; updated: string } | null>;
  deleteUpstreamToken(user: string, issuer: string): Promise<boolean>;

  // audit log (migration 2)
  appendAudit(row: NewAuditRow): Promise<number>;
  /** Newest first. */
  queryAudit(q: AuditQuery): Promise<AuditRow[]>;
  deleteAuditBefore(time: string): Promise<number>;

  // Dask clusters (migration 3)
  getCluster(name: string): Promise<ClusterRow | null>;
  /** Oldest first. */
  listClusters(q?: ListClustersQuery): Promise<ClusterRow[]>;
  /** Inserts a new cluster; CONFLICT if the name exists, USER_NOT_FOUND without its user. */
  insertCluster(row: ClusterRow): Promise<void>;
  /** Sets the given fields (name and user never change); a missing cluster stays missing. */
  updateCluster(name: string, patch: Partial<ClusterRow>): Promise<void>;
  /** Compare-and-set on `status`: updates only if the status is one of `from`; returns whether it did. */
  transitionCluster(name: string, from: ClusterStatus[], patch: Partial<ClusterRow>): Promise<boolean>;
  /** Deletes stopped and failed clusters that ended before `when` (dask-gateway's db_cluster_max_age). */
  deleteClustersEndedBefore(when: string): Promise<number>;

  // Unix identities (migration 4)
  getUnixIdentity(user: string): Promise<UnixIdentityRow | null>;
  /**
   * The user's identity, made on first use: the uid one above the highest allocated in `range`
   * (`min` when none; the free uids below it once the top is reached), skipping uids in use and
   * those `isTaken` reports (the host's /etc/passwd and the like); gid = uid. An existing row is
   * returned as it is, even outside today's range. CONFIG_INVALID when no uid is left. Two hubs
   * allocating at once never give one uid to two users nor two uids to one user.
   */
  allocateUnixIdentity(user: string, range: UidRange, isTaken: (uid: number) => boolean): Promise<UnixIdentityRow>;
}
