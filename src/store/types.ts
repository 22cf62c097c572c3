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
  /** Deletes the user with their servers, tokens and sessions. */
  deleteUser(name: string): Promise<boolean>;

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
}
