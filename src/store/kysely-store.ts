/**
 * The Store over Kysely: one implementation, one schema, for SQLite (better-sqlite3) and
 * PostgreSQL (pg). Writes of more than one statement run in one transaction (see `tx`);
 * a single statement is its own transaction, which keeps the hot reads (token and session
 * lookups on every request) at one round trip.
 */
import { Kysely, sql, type Dialect } from 'kysely';
import { fail, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { openDialect, parseStoreUrl } from './connect.js';
import { constraintKind } from './db-errors.js';
import { applyMigrations, SCHEMA_VERSION } from './migrations.js';
import {
  fromBool, fromLoginStateRow, fromServerRow, fromSessionRow, fromTokenRow, serverPatchColumns,
  toLoginStateRow, toServerRow, toSessionRow, toTokenRow, toUserRow,
  fromAuditRow, fromRoleRow, fromServiceTokenRow, toAuditRow, toRoleAssignmentRow, toRoleRow, toServiceTokenRow,
} from './rows.js';
import type { Backend, Database, UsersTable } from './schema.js';
import type {
  ListUsersQuery, LoginStateRow, ServerRow, ServerState, SessionRow, Store, TokenRow, UserRow,
  AuditQuery, AuditRow, GroupRow, NewAuditRow, PrincipalKind, RoleAssignmentRow, RoleRow, ServiceTokenRow,
} from './types.js';
import { groupsJson, pageBounds, userFilter } from './user-query.js';
import { clusterPatchColumns, fromClusterRow, toClusterRow } from './cluster-rows.js';
import type { ClusterRow, ClusterStatus, ListClustersQuery } from './types.js';
import type { ClustersTable } from './schema.js';

/**
 * Rows per multi-row INSERT or IN list. SQLite allows 32,766 bound parameters and PostgreSQL
 * 65,535; 500 rows of the widest table (12 columns) stay far below both.
 */
const CHUNK = 500;

/** Key of the PostgreSQL advisory lock that serialises migrations ("hrat" in ASCII). */
const MIGRATION_LOCK_KEY = 0x68726174;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function userExists(name: string, cause?: unknown): HighrateError {
  return fail('USER_EXISTS', `User ${name} already exists`, { cause });
}

/** Turns a foreign-key or unique violation on insert into the catalogue error a client sees. */
function insertError(err: unknown, what: string, user: string): unknown {
  const kind = constraintKind(err);
  if (kind === 'foreign-key') return fail('USER_NOT_FOUND', `No such user: ${user}`, { cause: err });
  if (kind === 'unique') return fail('CONFLICT', `${what} already exists.`, { cause: err });
  return err;
}

/** Options of a store; `now` is injectable so tests can pin timestamps. */
export interface KyselyStoreOptions {
  now?: () => string;
}

/** The SQL store. Build it with `createStore(url)`. */
export class KyselyStore implements Store {
  readonly backend: Backend;
  private readonly db: Kysely<Database>;
  private readonly now: () => string;

  constructor(backend: Backend, dialect: Dialect, opts: KyselyStoreOptions = {}) {
    this.backend = backend;
    this.db = new Kysely<Database>({ dialect });
    this.now = opts.now ?? (() => new Date().toISOString());
  }

  /**
   * Runs `fn` in one transaction on one connection. SQLite writes take the write lock up front
   * (BEGIN IMMEDIATE): a deferred transaction that reads and then writes fails with
   * SQLITE_BUSY_SNAPSHOT, without waiting, if another process committed in between.
   * PostgreSQL reads use a REPEATABLE READ snapshot so a count and its page agree.
   */
  private tx<T>(mode: 'read' | 'write', fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const begin = this.backend === 'sqlite'
      ? (mode === 'write' ? 'begin immediate' : 'begin')
      : (mode === 'write' ? 'begin' : 'begin isolation level repeatable read read only');
    return this.db.connection().execute(async function inTransaction(conn) {
      await sql.raw(begin).execute(conn);
      let result: T;
      try {
        result = await fn(conn);
      } catch (err) {
        await sql.raw('rollback').execute(conn).catch(function ignoreRollbackFailure() { /* the original error matters */ });
        throw err;
      }
      await sql.raw('commit').execute(conn);
      return result;
    });
  }

  async migrate(): Promise<void> {
    const backend = this.backend;
    const now = this.now();
    const applied = await this.tx('write', async function migrateInTransaction(db) {
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

  // ---- users

  async getUser(name: string): Promise<UserRow | null> {
    const row = await this.db.selectFrom('users')
      .selectAll('users')
      .select(groupsJson(this.backend).as('groups_json'))
      .where('users.name', '=', name)
      .executeTakeFirst();
    return row ? toUserRow(row) : null;
  }

  async listUsers(q: ListUsersQuery = {}): Promise<{ users: UserRow[]; total: number }> {
    const { offset, limit } = pageBounds(q);
    const filter = userFilter(q, this.backend);
    const backend = this.backend;
    return this.tx('read', async function listUsersInTransaction(db) {
      const count = await db.selectFrom('users')
        .$if(filter !== null, (qb) => qb.where(filter!))
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      let page = db.selectFrom('users').$if(filter !== null, (qb) => qb.where(filter!)).selectAll('users').orderBy('users.name');
      // SQLite accepts OFFSET only after a LIMIT; "no limit" is the largest safe integer.
      if (limit !== undefined || offset > 0) page = page.limit(limit ?? Number.MAX_SAFE_INTEGER).offset(offset);
      // Groups are looked up around the page, not inside it: PostgreSQL evaluates a select
      // list's subquery for every row it skips to reach OFFSET (measured: 17 ms at offset 5,000
      // with 10,000 users, 0.6 ms this way).
      const rows = await db.selectFrom(page.as('users'))
        .selectAll('users')
        .select(groupsJson(backend).as('groups_json'))
        .orderBy('users.name')
        .execute();
      return { users: rows.map(toUserRow), total: Number(count.n) };
    });
  }

  async createUsers(names: string[], opts: { admin?: boolean } = {}): Promise<UserRow[]> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return [];
    const created = this.now();
    const rows: UsersTable[] = unique.map((name) => ({
      name, admin: fromBool(opts.admin ?? false), blocked: 0, created, last_activity: null,
    }));
    try {
      await this.tx('write', async function createUsersInTransaction(db) {
        const existing = await firstExisting(db, unique);
        if (existing !== null) throw userExists(existing);
        for (const part of chunks(rows)) await db.insertInto('users').values(part).execute();
      });
    } catch (err) {
      if (constraintKind(err) !== 'unique') throw err;
      // Another writer created one of the names between our check and our insert (PostgreSQL).
      throw userExists((await firstExisting(this.db, unique)) ?? unique[0]!, err);
    }
    return rows.map((r) => toUserRow(r));
  }

  async upsertUser(name: string, fields: Partial<Pick<UserRow, 'admin' | 'blocked' | 'groups' | 'lastActivity'>>): Promise<UserRow> {
    const now = this.now();
    const backend = this.backend;
    const row = await this.tx('write', async function upsertUserInTransaction(db) {
      await db.insertInto('users')
        .values({ name, admin: 0, blocked: 0, created: now, last_activity: null })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const set: Partial<UsersTable> = {};
      if (fields.admin !== undefined) set.admin = fromBool(fields.admin);
      if (fields.blocked !== undefined) set.blocked = fromBool(fields.blocked);
      if (fields.lastActivity !== undefined) set.last_activity = fields.lastActivity;
      if (Object.keys(set).length > 0) await db.updateTable('users').set(set).where('name', '=', name).execute();
      if (fields.groups !== undefined) await syncGroups(db, name, fields.groups);
      return db.selectFrom('users')
        .selectAll('users')
        .select(groupsJson(backend).as('groups_json'))
        .where('users.name', '=', name)
        .executeTakeFirstOrThrow();
    });
    return toUserRow(row);
  }

  async deleteUser(name: string): Promise<boolean> {
    // ON DELETE CASCADE removes servers, tokens, sessions, memberships and identity links in the
    // same statement; role assignments name principals of three kinds, so they have no foreign key.
    const r = await this.tx('write', async function deleteUserInTransaction(db) {
      await db.deleteFrom('role_assignments').where('kind', '=', 'user').where('principal', '=', name).where('source', '=', 'api').execute();
      return db.deleteFrom('users').where('name', '=', name).executeTakeFirst();
    });
    return Number(r.numDeletedRows) > 0;
  }

  // ---- servers

  async getServer(user: string, name: string): Promise<ServerRow | null> {
    const row = await this.db.selectFrom('servers').selectAll()
      .where('user_name', '=', user).where('name', '=', name)
      .executeTakeFirst();
    return row ? toServerRow(row) : null;
  }

  async listServers(user: string): Promise<ServerRow[]> {
    const rows = await this.db.selectFrom('servers').selectAll()
      .where('user_name', '=', user).orderBy('name').execute();
    return rows.map(toServerRow);
  }

  /** Every requested user is a key, with [] when they have no server. */
  async listServersOf(users: string[]): Promise<Map<string, ServerRow[]>> {
    const out = new Map<string, ServerRow[]>();
    for (const u of users) out.set(u, []);
    if (out.size === 0) return out;
    const names = [...out.keys()];
    const readAll = async function readServersOf(db: Kysely<Database>) {
      for (const part of chunks(names)) {
        const rows = await db.selectFrom('servers').selectAll()
          .where('user_name', 'in', part).orderBy('user_name').orderBy('name').execute();
        for (const r of rows) out.get(r.user_name)!.push(toServerRow(r));
      }
    };
    if (names.length <= CHUNK) await readAll(this.db);
    else await this.tx('read', readAll);
    return out;
  }

  async listActiveServers(): Promise<ServerRow[]> {
    const rows = await this.db.selectFrom('servers').selectAll()
      .where('state', '<>', 'stopped').orderBy('user_name').orderBy('name').execute();
    return rows.map(toServerRow);
  }

  async putServer(row: ServerRow): Promise<void> {
    const values = fromServerRow(row);
    const { user_name: _u, name: _n, ...rest } = values;
    try {
      await this.db.insertInto('servers').values(values)
        .onConflict((oc) => oc.columns(['user_name', 'name']).doUpdateSet(rest))
        .execute();
    } catch (err) {
      throw insertError(err, `Server ${row.user}/${row.name}`, row.user);
    }
  }

  async transitionServer(user: string, name: string, from: ServerState, patch: Partial<ServerRow>): Promise<boolean> {
    // One UPDATE … WHERE state = from: atomic on both engines (PostgreSQL re-checks the WHERE
    // after waiting for a concurrent writer's row lock), so exactly one caller wins.
    const set = { state: from, ...serverPatchColumns(patch) };
    const r = await this.db.updateTable('servers').set(set)
      .where('user_name', '=', user).where('name', '=', name).where('state', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Sets the given fields; a missing server is left missing (no error). */
  async updateServer(user: string, name: string, patch: Partial<ServerRow>): Promise<void> {
    const set = serverPatchColumns(patch);
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('servers').set(set)
      .where('user_name', '=', user).where('name', '=', name)
      .execute();
  }

  async deleteServer(user: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('servers')
      .where('user_name', '=', user).where('name', '=', name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- tokens

  async insertToken(row: TokenRow): Promise<void> {
    try {
      await this.db.insertInto('tokens').values(fromTokenRow(row)).execute();
    } catch (err) {
      throw insertError(err, 'A token with this id or hash', row.user);
    }
  }

  async getTokenByHash(hash: string): Promise<TokenRow | null> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toTokenRow(row) : null;
  }

  async getToken(user: string, id: string): Promise<TokenRow | null> {
    const row = await this.db.selectFrom('tokens').selectAll()
      .where('id', '=', id).where('user_name', '=', user)
      .executeTakeFirst();
    return row ? toTokenRow(row) : null;
  }

  /** Oldest first. */
  async listTokens(user: string): Promise<TokenRow[]> {
    const rows = await this.db.selectFrom('tokens').selectAll()
      .where('user_name', '=', user).orderBy('created').orderBy('id').execute();
    return rows.map(toTokenRow);
  }

  async deleteToken(user: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tokens')
      .where('id', '=', id).where('user_name', '=', user)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touchToken(id: string, when: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }

  /** Deletes tokens whose `expiresAt` is before `now` (JupyterHub: `expires_at < now`). */
  async deleteExpiredTokens(now: string): Promise<number> {
    const r = await this.db.deleteFrom('tokens')
      .where('expires_at', 'is not', null).where('expires_at', '<', now)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- sessions

  async insertSession(row: SessionRow): Promise<void> {
    try {
      await this.db.insertInto('sessions').values(fromSessionRow(row)).execute();
    } catch (err) {
      throw insertError(err, 'A session with this hash', row.user);
    }
  }

  async getSession(hash: string): Promise<SessionRow | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toSessionRow(row) : null;
  }

  async deleteSession(hash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('hash', '=', hash).execute();
  }

  async deleteSessionsOf(user: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_name', '=', user).execute();
  }

  /** Not in the Store interface (yet): deletes sessions whose `expiresAt` is before `now`. */
  async deleteExpiredSessions(now: string): Promise<number> {
    const r = await this.db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- login states

  async insertLoginState(row: LoginStateRow): Promise<void> {
    try {
      await this.db.insertInto('login_states').values(fromLoginStateRow(row)).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', 'This login state already exists.', { cause: err });
      throw err;
    }
  }

  async takeLoginState(state: string): Promise<LoginStateRow | null> {
    // DELETE … RETURNING (SQLite ≥ 3.35): of two concurrent callbacks with the same state, only
    // the one whose statement deleted the row gets it back.
    const row = await this.db.deleteFrom('login_states').where('state', '=', state).returningAll().executeTakeFirst();
    return row ? toLoginStateRow(row) : null;
  }

  async deleteLoginStatesBefore(when: string): Promise<number> {
    const r = await this.db.deleteFrom('login_states').where('created', '<', when).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- Dask clusters

  async getCluster(name: string): Promise<ClusterRow | null> {
    const row = await this.db.selectFrom('clusters').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toClusterRow(row) : null;
  }

  async listClusters(q: ListClustersQuery = {}): Promise<ClusterRow[]> {
    if (q.statuses && q.statuses.length === 0) return [];
    const rows = await this.db.selectFrom('clusters').selectAll()
      .$if(q.user !== undefined, (qb) => qb.where('user_name', '=', q.user!))
      .$if(q.statuses !== undefined, (qb) => qb.where('status', 'in', q.statuses!))
      .orderBy('created').orderBy('name')
      .execute();
    return rows.map(toClusterRow);
  }

  async insertCluster(row: ClusterRow): Promise<void> {
    try {
      await this.db.insertInto('clusters').values(fromClusterRow(row)).execute();
    } catch (err) {
      throw insertError(err, `Cluster ${row.name}`, row.user);
    }
  }

  async updateCluster(name: string, patch: Partial<ClusterRow>): Promise<void> {
    const set = clusterPatchColumns(patch);
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('clusters').set(set).where('name', '=', name).execute();
  }

  async transitionCluster(name: string, from: ClusterStatus[], patch: Partial<ClusterRow>): Promise<boolean> {
    if (from.length === 0) return false;
    // One UPDATE … WHERE status IN (…): exactly one of two racing writers wins (see transitionServer).
    const set: Partial<ClustersTable> = clusterPatchColumns(patch);
    // An empty patch still needs a SET clause; name = name changes nothing.
    if (Object.keys(set).length === 0) set.name = name;
    const r = await this.db.updateTable('clusters').set(set)
      .where('name', '=', name).where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteClustersEndedBefore(when: string): Promise<number> {
    const r = await this.db.deleteFrom('clusters')
      .where('status', 'in', ['STOPPED', 'FAILED']).where('stopped', 'is not', null).where('stopped', '<', when)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- groups

  async listGroups(q: { offset?: number; limit?: number; nameContains?: string } = {}): Promise<{ groups: GroupRow[]; total: number }> {
    const { offset, limit } = pageBounds(q);
    const pattern = q.nameContains ? '%' + q.nameContains.replace(/[\\%_]/g, (c) => '\\' + c) + '%' : null;
    const like = sql.raw(this.backend === 'postgres' ? 'ilike' : 'like');
    return this.tx('read', async function listGroupsInTransaction(db) {
      const filtered = <T extends { where: any }>(qb: T): T => (pattern === null ? qb : qb.where(sql<boolean>`${sql.ref('groups.name')} ${like} ${pattern} escape '\\'`));
      const count = await filtered(db.selectFrom('groups')).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      let page = filtered(db.selectFrom('groups'))
        .selectAll('groups')
        .select(sql<number | string>`(select count(*) from user_groups ug where ug.group_name = groups.name)`.as('member_count'))
        .orderBy('groups.name');
      if (limit !== undefined || offset > 0) page = page.limit(limit ?? Number.MAX_SAFE_INTEGER).offset(offset);
      const rows = await page.execute();
      return { groups: rows.map((r) => groupRow(r, [], Number(r.member_count))), total: Number(count.n) };
    });
  }

  async getGroup(name: string): Promise<GroupRow | null> {
    return this.tx('read', async function getGroupInTransaction(db) {
      const row = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) return null;
      const members = await db.selectFrom('user_groups').select('user_name').where('group_name', '=', name).orderBy('user_name').execute();
      return groupRow(row, members.map((m) => m.user_name), members.length);
    });
  }

  async createGroup(name: string, opts: { properties?: Record<string, unknown>; source?: GroupRow['source'] } = {}): Promise<GroupRow> {
    const row = { name, properties: JSON.stringify(opts.properties ?? {}), source: opts.source ?? 'api' };
    try {
      await this.db.insertInto('groups').values(row).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', `Group ${name} already exists.`, { cause: err });
      throw err;
    }
    return groupRow(row, [], 0);
  }

  async deleteGroup(name: string): Promise<boolean> {
    const r = await this.tx('write', async function deleteGroupInTransaction(db) {
      await db.deleteFrom('role_assignments').where('kind', '=', 'group').where('principal', '=', name).where('source', '=', 'api').execute();
      return db.deleteFrom('groups').where('name', '=', name).executeTakeFirst();
    });
    return Number(r.numDeletedRows) > 0;
  }

  async setGroupProperties(name: string, properties: Record<string, unknown>): Promise<void> {
    const r = await this.db.updateTable('groups').set({ properties: JSON.stringify(properties) }).where('name', '=', name).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw fail('GROUP_NOT_FOUND', `No such group: ${name}`);
  }

  async addGroupMembers(group: string, users: string[]): Promise<void> {
    const unique = [...new Set(users)];
    await this.tx('write', async function addMembersInTransaction(db) {
      const g = await db.selectFrom('groups').select('name').where('name', '=', group).executeTakeFirst();
      if (!g) throw fail('GROUP_NOT_FOUND', `No such group: ${group}`);
      const found = new Set<string>();
      for (const part of chunks(unique)) {
        for (const r of await db.selectFrom('users').select('name').where('name', 'in', part).execute()) found.add(r.name);
      }
      const missing = unique.find((u) => !found.has(u));
      if (missing !== undefined) throw fail('USER_NOT_FOUND', `No such user: ${missing}`);
      for (const part of chunks(unique)) {
        await db.insertInto('user_groups').values(part.map((u) => ({ user_name: u, group_name: group })))
          .onConflict((oc) => oc.columns(['user_name', 'group_name']).doNothing()).execute();
      }
    });
  }

  async removeGroupMembers(group: string, users: string[]): Promise<void> {
    const unique = [...new Set(users)];
    await this.tx('write', async function removeMembersInTransaction(db) {
      const g = await db.selectFrom('groups').select('name').where('name', '=', group).executeTakeFirst();
      if (!g) throw fail('GROUP_NOT_FOUND', `No such group: ${group}`);
      for (const part of chunks(unique)) {
        await db.deleteFrom('user_groups').where('group_name', '=', group).where('user_name', 'in', part).execute();
      }
    });
  }

  async apiGroupsAmong(names: string[]): Promise<string[]> {
    const unique = [...new Set(names)];
    const out: string[] = [];
    for (const part of chunks(unique)) {
      const rows = await this.db.selectFrom('groups').select('name').where('source', '=', 'api').where('name', 'in', part).execute();
      out.push(...rows.map((r) => r.name));
    }
    return out.sort();
  }

  // ---- roles

  async listRoles(): Promise<RoleRow[]> {
    const rows = await this.db.selectFrom('roles').selectAll().orderBy('name').execute();
    return rows.map(toRoleRow);
  }

  async listRoleAssignments(): Promise<RoleAssignmentRow[]> {
    const rows = await this.db.selectFrom('role_assignments').selectAll()
      .orderBy('role_name').orderBy('kind').orderBy('principal').orderBy('source').execute();
    return rows.map(toRoleAssignmentRow);
  }

  async putRole(row: RoleRow): Promise<void> {
    const values = fromRoleRow(row);
    const { name: _n, created: _c, ...rest } = values;
    await this.db.insertInto('roles').values(values).onConflict((oc) => oc.column('name').doUpdateSet(rest)).execute();
  }

  async deleteRole(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('roles').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setRoleAssignments(role: string, source: RoleAssignmentRow['source'], kinds: PrincipalKind[], assignments: Array<{ kind: PrincipalKind; principal: string }>): Promise<void> {
    if (kinds.length === 0) return;
    const rows = dedupeAssignments(assignments.map((a) => ({ role_name: role, kind: a.kind, principal: a.principal, source })));
    await this.tx('write', async function setAssignmentsInTransaction(db) {
      const exists = await db.selectFrom('roles').select('name').where('name', '=', role).executeTakeFirst();
      if (!exists) throw fail('ROLE_NOT_FOUND', `No such role: ${role}`);
      await db.deleteFrom('role_assignments').where('role_name', '=', role).where('source', '=', source).where('kind', 'in', kinds).execute();
      for (const part of chunks(rows)) await db.insertInto('role_assignments').values(part).execute();
    });
  }

  async syncDeclaredRoles(roles: RoleRow[], assignments: RoleAssignmentRow[]): Promise<void> {
    const declared = roles.filter((r) => r.source === 'config').map((r) => r.name);
    const rows = dedupeAssignments(assignments.map((a) => ({ role_name: a.role, kind: a.kind, principal: a.principal, source: 'config' })));
    await this.tx('write', async function syncRolesInTransaction(db) {
      let stale = db.deleteFrom('roles').where('source', '=', 'config');
      if (declared.length > 0) stale = stale.where('name', 'not in', declared);
      await stale.execute();
      for (const role of roles) {
        const values = fromRoleRow(role);
        const { name: _n, created: _c, ...rest } = values;
        await db.insertInto('roles').values(values).onConflict((oc) => oc.column('name').doUpdateSet(rest)).execute();
      }
      await db.deleteFrom('role_assignments').where('source', '=', 'config').execute();
      for (const part of chunks(rows)) await db.insertInto('role_assignments').values(part).execute();
    });
  }

  async deleteAssignmentsOf(kind: PrincipalKind, principal: string): Promise<void> {
    await this.db.deleteFrom('role_assignments').where('kind', '=', kind).where('principal', '=', principal).where('source', '=', 'api').execute();
  }

  // ---- service tokens

  async insertServiceToken(row: ServiceTokenRow): Promise<void> {
    try {
      await this.db.insertInto('service_tokens').values(fromServiceTokenRow(row)).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', 'A token with this id or hash already exists.', { cause: err });
      throw err;
    }
  }

  async getServiceTokenByHash(hash: string): Promise<ServiceTokenRow | null> {
    const row = await this.db.selectFrom('service_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toServiceTokenRow(row) : null;
  }

  async listServiceTokens(service: string): Promise<ServiceTokenRow[]> {
    const rows = await this.db.selectFrom('service_tokens').selectAll().where('service_name', '=', service).orderBy('created').orderBy('id').execute();
    return rows.map(toServiceTokenRow);
  }

  async deleteServiceToken(service: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('service_tokens').where('service_name', '=', service).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touchServiceToken(id: string, when: string): Promise<void> {
    await this.db.updateTable('service_tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }

  // ---- identities at external issuers

  async linkIdentity(issuer: string, sub: string, user: string): Promise<void> {
    try {
      await this.db.insertInto('user_identities').values({ issuer, sub, user_name: user, created: this.now() })
        .onConflict((oc) => oc.columns(['issuer', 'sub']).doUpdateSet({ user_name: user })).execute();
    } catch (err) {
      throw insertError(err, 'This identity', user);
    }
  }

  async userOfIdentity(issuer: string, sub: string): Promise<string | null> {
    const row = await this.db.selectFrom('user_identities').select('user_name').where('issuer', '=', issuer).where('sub', '=', sub).executeTakeFirst();
    return row?.user_name ?? null;
  }

  // ---- audit log

  async appendAudit(row: NewAuditRow): Promise<number> {
    const r = await this.db.insertInto('audit_log').values(fromAuditRow(row)).returning('id').executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    let qb = this.db.selectFrom('audit_log').selectAll();
    if (q.beforeId !== undefined) qb = qb.where('id', '<', q.beforeId);
    if (q.actor !== undefined) qb = qb.where('actor', '=', q.actor);
    if (q.action !== undefined) {
      qb = q.action.endsWith('.')
        ? qb.where('action', '>=', q.action).where('action', '<', q.action.slice(0, -1) + '/')
        : qb.where('action', '=', q.action);
    }
    if (q.targetUser !== undefined) qb = qb.where('target_user', '=', q.targetUser);
    if (q.involving !== undefined) {
      const names = q.involving.length > 0 ? q.involving : [''];
      qb = qb.where((eb) => eb.or([eb('actor', 'in', names), eb('target_user', 'in', names)]));
    }
    if (q.outcome !== undefined) qb = qb.where('outcome', '=', q.outcome);
    if (q.since !== undefined) qb = qb.where('time', '>=', q.since);
    if (q.until !== undefined) qb = qb.where('time', '<', q.until);
    const rows = await qb.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(toAuditRow);
  }

  async deleteAuditBefore(time: string): Promise<number> {
    const r = await this.db.deleteFrom('audit_log').where('time', '<', time).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- benchmarks and tests

  /**
   * Seeds many users (with their groups) and servers in one transaction with multi-row
   * inserts. For benchmarks and load tests only; not part of Store.
   */
  async bulkInsertForBench(users: UserRow[], servers: ServerRow[]): Promise<void> {
    await this.tx('write', async function bulkInsert(db) {
      for (const part of chunks(users)) {
        await db.insertInto('users').values(part.map((u) => ({
          name: u.name, admin: fromBool(u.admin), blocked: fromBool(u.blocked), created: u.created, last_activity: u.lastActivity,
        }))).execute();
      }
      const groups = [...new Set(users.flatMap((u) => u.groups))];
      for (const part of chunks(groups)) {
        await db.insertInto('groups').values(part.map((name) => ({ name })))
          .onConflict((oc) => oc.column('name').doNothing()).execute();
      }
      const memberships = users.flatMap((u) => [...new Set(u.groups)].map((g) => ({ user_name: u.name, group_name: g })));
      for (const part of chunks(memberships)) await db.insertInto('user_groups').values(part).execute();
      for (const part of chunks(servers)) await db.insertInto('servers').values(part.map(fromServerRow)).execute();
    });
    // Statistics and visibility maps as autovacuum would leave them after such a load (it
    // vacuums after 1,000 inserts since PostgreSQL 13), so plans measured right after seeding
    // are the plans a running facility gets. VACUUM cannot run inside a transaction.
    await sql.raw(this.backend === 'postgres' ? 'vacuum analyze' : 'analyze').execute(this.db);
  }
}

/** The first of `names` (in their order) that is already a user, or null. */
async function firstExisting(db: Kysely<Database>, names: string[]): Promise<string | null> {
  const found = new Set<string>();
  for (const part of chunks(names)) {
    const rows = await db.selectFrom('users').select('name').where('name', 'in', part).execute();
    for (const r of rows) found.add(r.name);
  }
  return names.find((n) => found.has(n)) ?? null;
}

/** Makes the user's memberships exactly `groups`, creating groups that do not exist yet. */
async function syncGroups(db: Kysely<Database>, user: string, groups: string[]): Promise<void> {
  const want = [...new Set(groups)];
  let removal = db.deleteFrom('user_groups').where('user_name', '=', user);
  if (want.length > 0) removal = removal.where('group_name', 'not in', want);
  await removal.execute();
  for (const part of chunks(want)) {
    await db.insertInto('groups').values(part.map((name) => ({ name })))
      .onConflict((oc) => oc.column('name').doNothing()).execute();
    await db.insertInto('user_groups').values(part.map((g) => ({ user_name: user, group_name: g })))
      .onConflict((oc) => oc.columns(['user_name', 'group_name']).doNothing()).execute();
  }
}

function groupRow(r: { name: string; properties?: string; source?: string }, members: string[], memberCount: number): GroupRow {
  let properties: Record<string, unknown> = {};
  try {
    properties = r.properties ? JSON.parse(r.properties) as Record<string, unknown> : {};
  } catch { /* written only by this store as JSON; an unreadable value shows as {} */ }
  return { name: r.name, properties, source: r.source === 'api' ? 'api' : 'idp', members, memberCount };
}

/** One row per (role, kind, principal, source): the primary key. */
function dedupeAssignments<T extends { role_name: string; kind: string; principal: string; source: string }>(rows: T[]): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.role_name}\0${r.kind}\0${r.principal}\0${r.source}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
  const { backend, dialect } = openDialect(target);
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
