/**
 * The Store over Kysely: one implementation, one schema, for SQLite (better-sqlite3) and
 * PostgreSQL (pg). Each aggregate's queries live in its own file (users.ts, servers.ts, …) and
 * share this store's one Kysely instance (see aggregate.ts); this class opens, migrates and
 * closes the database and hands each call to its aggregate. Writes of more than one statement
 * run in one transaction; a single statement is its own transaction, which keeps the hot reads
 * (token and session lookups on every request) at one round trip.
 */
import { Kysely, sql, type Dialect } from 'kysely';
import { fail, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { transaction, type StoreContext } from './aggregate.js';
import { AuditLog } from './audit.js';
import { BulkLoad } from './bulk-load.js';
import { Clusters } from './clusters.js';
import { openDialect, parseStoreUrl } from './connect.js';
import { Credentials } from './credentials.js';
import { ExternalIdentities } from './external-identities.js';
import { Groups } from './groups.js';
import { applyMigrations, SCHEMA_VERSION } from './migrations.js';
import { OAuth } from './oauth.js';
import { Roles } from './roles.js';
import type { Backend, Database } from './schema.js';
import { Servers } from './servers.js';
import { ServiceTokens } from './service-tokens.js';
import type {
  AuditQuery, AuditRow, ClusterRow, ClusterStatus, GroupRow, ListClustersQuery, ListUsersQuery, LoginStateRow, NewAuditRow, OAuthClientRow, OAuthCodeRow,
  PrincipalKind, RoleAssignmentRow, RoleRow, ServerRow, ServerState, ServiceTokenRow, SessionRow, Store, TokenRow, UidRange, UnixIdentityRow, UserRow,
} from './types.js';
import { UnixIdentities } from './unix-identities.js';
import { Users } from './users.js';

/** Key of the PostgreSQL advisory lock that serialises migrations ("hrat" in ASCII). */
const MIGRATION_LOCK_KEY = 0x68726174;

/** Options of a store; `now` is injectable so tests can pin timestamps. */
export interface KyselyStoreOptions {
  now?: () => string;
}

/** The SQL store. Build it with `createStore(url)`. */
export class KyselyStore implements Store {
  readonly backend: Backend;
  private readonly db: Kysely<Database>;
  private readonly now: () => string;
  private readonly users: Users;
  private readonly servers: Servers;
  private readonly credentials: Credentials;
  private readonly clusters: Clusters;
  private readonly groups: Groups;
  private readonly roles: Roles;
  private readonly serviceTokens: ServiceTokens;
  private readonly externalIdentities: ExternalIdentities;
  private readonly audit: AuditLog;
  private readonly unixIdentities: UnixIdentities;
  private readonly bulkLoad: BulkLoad;
  private readonly oauth: OAuth;

  constructor(backend: Backend, dialect: Dialect, opts: KyselyStoreOptions = {}) {
    this.backend = backend;
    this.db = new Kysely<Database>({ dialect });
    this.now = opts.now ?? (() => new Date().toISOString());
    const context: StoreContext = { db: this.db, backend, now: this.now };
    this.users = new Users(context);
    this.servers = new Servers(context);
    this.credentials = new Credentials(context);
    this.clusters = new Clusters(context);
    this.groups = new Groups(context);
    this.roles = new Roles(context);
    this.serviceTokens = new ServiceTokens(context);
    this.externalIdentities = new ExternalIdentities(context);
    this.audit = new AuditLog(context);
    this.unixIdentities = new UnixIdentities(context);
    this.bulkLoad = new BulkLoad(context);
    this.oauth = new OAuth(context);
  }

  async migrate(): Promise<void> {
    const backend = this.backend;
    const now = this.now();
    const applied = await transaction(this.db, backend, 'write', async function migrateInTransaction(db) {
      // Two hubs starting at once: the second waits here until the first has committed, then
      // finds the schema current. (SQLite gets the same from BEGIN IMMEDIATE.)
      if (backend === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(db);
      return applyMigrations(db, backend, now);
    });
    if (applied.length > 0) log.info('store: schema migrated', { backend, applied, version: SCHEMA_VERSION });
  }

  /** The schema versions recorded as applied, ascending (diagnostics and tests). */
  async schemaVersions(): Promise<number[]> {
    const rows = await this.db.selectFrom('schema_version').select('version').orderBy('version').execute();
    return rows.map((r) => Number(r.version));
  }

  /** One round trip to the database; throws when it cannot be reached or read. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ---- users (users.ts)
  getUser(name: string): Promise<UserRow | null> { return this.users.getUser(name); }
  listUsers(q?: ListUsersQuery): Promise<{ users: UserRow[]; total: number }> { return this.users.listUsers(q); }
  createUsers(names: string[], opts?: { admin?: boolean }): Promise<UserRow[]> { return this.users.createUsers(names, opts); }
  upsertUser(name: string, fields: Partial<Pick<UserRow, 'admin' | 'blocked' | 'groups' | 'lastActivity'>>): Promise<UserRow> { return this.users.upsertUser(name, fields); }
  deleteUser(name: string): Promise<boolean> { return this.users.deleteUser(name); }
  touchUser(name: string, when: string): Promise<boolean> { return this.users.touchUser(name, when); }

  // ---- servers (servers.ts)
  getServer(user: string, name: string): Promise<ServerRow | null> { return this.servers.getServer(user, name); }
  listServers(user: string): Promise<ServerRow[]> { return this.servers.listServers(user); }
  listServersOf(users: string[]): Promise<Map<string, ServerRow[]>> { return this.servers.listServersOf(users); }
  listActiveServers(): Promise<ServerRow[]> { return this.servers.listActiveServers(); }
  putServer(row: ServerRow): Promise<void> { return this.servers.putServer(row); }
  transitionServer(user: string, name: string, from: ServerState, patch: Partial<ServerRow>): Promise<boolean> { return this.servers.transitionServer(user, name, from, patch); }
  updateServer(user: string, name: string, patch: Partial<ServerRow>): Promise<void> { return this.servers.updateServer(user, name, patch); }
  deleteServer(user: string, name: string): Promise<boolean> { return this.servers.deleteServer(user, name); }

  // ---- tokens, sessions, login states (credentials.ts)
  insertToken(row: TokenRow): Promise<void> { return this.credentials.insertToken(row); }
  getTokenByHash(hash: string): Promise<TokenRow | null> { return this.credentials.getTokenByHash(hash); }
  getToken(user: string, id: string): Promise<TokenRow | null> { return this.credentials.getToken(user, id); }
  listTokens(user: string): Promise<TokenRow[]> { return this.credentials.listTokens(user); }
  deleteToken(user: string, id: string): Promise<boolean> { return this.credentials.deleteToken(user, id); }
  touchToken(id: string, when: string): Promise<void> { return this.credentials.touchToken(id, when); }
  deleteTokensOfSession(user: string, sessionId: string): Promise<number> { return this.oauth.deleteTokensOfSession(user, sessionId); }
  putOAuthClient(row: OAuthClientRow): Promise<void> { return this.oauth.putOAuthClient(row); }
  getOAuthClient(id: string): Promise<OAuthClientRow | null> { return this.oauth.getOAuthClient(id); }
  deleteOAuthClient(id: string): Promise<number> { return this.oauth.deleteOAuthClient(id); }
  insertOAuthCode(row: OAuthCodeRow): Promise<void> { return this.oauth.insertOAuthCode(row); }
  takeOAuthCode(codeHash: string): Promise<OAuthCodeRow | null> { return this.oauth.takeOAuthCode(codeHash); }
  deleteExpiredTokens(now: string): Promise<number> { return this.credentials.deleteExpiredTokens(now); }
  insertSession(row: SessionRow): Promise<void> { return this.credentials.insertSession(row); }
  getSession(hash: string): Promise<SessionRow | null> { return this.credentials.getSession(hash); }
  deleteSession(hash: string): Promise<void> { return this.credentials.deleteSession(hash); }
  deleteSessionsOf(user: string): Promise<void> { return this.credentials.deleteSessionsOf(user); }
  /** Not in the Store interface (yet): deletes sessions whose `expiresAt` is before `now`. */
  deleteExpiredSessions(now: string): Promise<number> { return this.credentials.deleteExpiredSessions(now); }
  insertLoginState(row: LoginStateRow): Promise<void> { return this.credentials.insertLoginState(row); }
  takeLoginState(state: string): Promise<LoginStateRow | null> { return this.credentials.takeLoginState(state); }
  deleteLoginStatesBefore(when: string): Promise<number> { return this.credentials.deleteLoginStatesBefore(when); }

  // ---- Dask clusters (clusters.ts)
  getCluster(name: string): Promise<ClusterRow | null> { return this.clusters.getCluster(name); }
  listClusters(q?: ListClustersQuery): Promise<ClusterRow[]> { return this.clusters.listClusters(q); }
  insertCluster(row: ClusterRow): Promise<void> { return this.clusters.insertCluster(row); }
  updateCluster(name: string, patch: Partial<ClusterRow>): Promise<void> { return this.clusters.updateCluster(name, patch); }
  transitionCluster(name: string, from: ClusterStatus[], patch: Partial<ClusterRow>): Promise<boolean> { return this.clusters.transitionCluster(name, from, patch); }
  deleteClustersEndedBefore(when: string): Promise<number> { return this.clusters.deleteClustersEndedBefore(when); }

  // ---- groups (groups.ts)
  listGroups(q?: { offset?: number; limit?: number; nameContains?: string }): Promise<{ groups: GroupRow[]; total: number }> { return this.groups.listGroups(q); }
  getGroup(name: string): Promise<GroupRow | null> { return this.groups.getGroup(name); }
  createGroup(name: string, opts?: { properties?: Record<string, unknown>; source?: GroupRow['source'] }): Promise<GroupRow> { return this.groups.createGroup(name, opts); }
  deleteGroup(name: string): Promise<boolean> { return this.groups.deleteGroup(name); }
  setGroupProperties(name: string, properties: Record<string, unknown>): Promise<void> { return this.groups.setGroupProperties(name, properties); }
  addGroupMembers(group: string, users: string[]): Promise<void> { return this.groups.addGroupMembers(group, users); }
  removeGroupMembers(group: string, users: string[]): Promise<void> { return this.groups.removeGroupMembers(group, users); }
  apiGroupsAmong(names: string[]): Promise<string[]> { return this.groups.apiGroupsAmong(names); }

  // ---- roles and assignments (roles.ts)
  listRoles(): Promise<RoleRow[]> { return this.roles.listRoles(); }
  listRoleAssignments(): Promise<RoleAssignmentRow[]> { return this.roles.listRoleAssignments(); }
  putRole(row: RoleRow): Promise<void> { return this.roles.putRole(row); }
  deleteRole(name: string): Promise<boolean> { return this.roles.deleteRole(name); }
  setRoleAssignments(role: string, source: RoleAssignmentRow['source'], kinds: PrincipalKind[], assignments: Array<{ kind: PrincipalKind; principal: string }>): Promise<void> {
    return this.roles.setRoleAssignments(role, source, kinds, assignments);
  }
  syncDeclaredRoles(roles: RoleRow[], assignments: RoleAssignmentRow[]): Promise<void> { return this.roles.syncDeclaredRoles(roles, assignments); }
  deleteAssignmentsOf(kind: PrincipalKind, principal: string): Promise<void> { return this.roles.deleteAssignmentsOf(kind, principal); }

  // ---- service tokens (service-tokens.ts)
  insertServiceToken(row: ServiceTokenRow): Promise<void> { return this.serviceTokens.insertServiceToken(row); }
  getServiceTokenByHash(hash: string): Promise<ServiceTokenRow | null> { return this.serviceTokens.getServiceTokenByHash(hash); }
  listServiceTokens(service: string): Promise<ServiceTokenRow[]> { return this.serviceTokens.listServiceTokens(service); }
  deleteServiceToken(service: string, id: string): Promise<boolean> { return this.serviceTokens.deleteServiceToken(service, id); }
  touchServiceToken(id: string, when: string): Promise<void> { return this.serviceTokens.touchServiceToken(id, when); }

  // ---- identities at external issuers (external-identities.ts)
  linkIdentity(issuer: string, sub: string, user: string): Promise<void> { return this.externalIdentities.linkIdentity(issuer, sub, user); }
  userOfIdentity(issuer: string, sub: string): Promise<string | null> { return this.externalIdentities.userOfIdentity(issuer, sub); }
  putUpstreamToken(user: string, issuer: string, sealed: string, scope: string): Promise<void> { return this.externalIdentities.putUpstreamToken(user, issuer, sealed, scope); }
  getUpstreamToken(user: string, issuer: string): Promise<{ sealed: string; scope: string; updated: string } | null> { return this.externalIdentities.getUpstreamToken(user, issuer); }
  deleteUpstreamToken(user: string, issuer: string): Promise<boolean> { return this.externalIdentities.deleteUpstreamToken(user, issuer); }

  // ---- audit log (audit.ts)
  appendAudit(row: NewAuditRow): Promise<number> { return this.audit.appendAudit(row); }
  queryAudit(q: AuditQuery): Promise<AuditRow[]> { return this.audit.queryAudit(q); }
  deleteAuditBefore(time: string): Promise<number> { return this.audit.deleteAuditBefore(time); }

  // ---- Unix identities (unix-identities.ts)
  getUnixIdentity(user: string): Promise<UnixIdentityRow | null> { return this.unixIdentities.getUnixIdentity(user); }
  allocateUnixIdentity(user: string, range: UidRange, isTaken: (uid: number) => boolean): Promise<UnixIdentityRow> {
    return this.unixIdentities.allocateUnixIdentity(user, range, isTaken);
  }

  // ---- benchmarks and tests (bulk-load.ts)
  /** Seeds many users, groups and servers in one transaction; not part of Store. */
  bulkInsertForBench(users: UserRow[], servers: ServerRow[]): Promise<void> { return this.bulkLoad.bulkInsertForBench(users, servers); }
}

/** Options of createStore. */
export interface CreateStoreOptions extends KyselyStoreOptions {
  /** Run `migrate()` before returning (default true; it is idempotent). */
  migrate?: boolean;
}

/**
 * Opens the store a URL names: `sqlite:///abs/path.sqlite`, `sqlite::memory:`,
 * `postgres://…` or `postgresql://…`. Checks the connection (and migrates unless told not to),
 * so a wrong URL fails here: CONFIG_INVALID for a bad URL or unusable SQLite file,
 * UPSTREAM_UNAVAILABLE when PostgreSQL cannot be reached.
 */
export async function createStore(url: string, opts: CreateStoreOptions = {}): Promise<KyselyStore> {
  const target = parseStoreUrl(url);
  const { backend, dialect } = await openDialect(target);
  const store = new KyselyStore(backend, dialect, opts);
  try {
    if (opts.migrate ?? true) await store.migrate();
    else await store.ping();
  } catch (err) {
    await store.close().catch(function ignoreCloseFailure() { /* reporting the open failure */ });
    if (err instanceof HighrateError) throw err;
    const e = err as { code?: string; message?: string };
    const detail = `${e.code ?? ''} ${e.message ?? String(err)}`.trim();
    if (backend === 'postgres') throw fail('UPSTREAM_UNAVAILABLE', 'Cannot use the PostgreSQL store.', { detail, cause: err });
    throw fail('CONFIG_INVALID', `Cannot use the SQLite store at ${target.backend === 'sqlite' ? target.file : ''}.`, { detail, cause: err });
  }
  return store;
}
