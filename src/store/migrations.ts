/**
 * Versioned schema migrations. Each migration runs once, in order, inside the one write
 * transaction `applyMigrations` is called in, and is recorded in `schema_version`. Both engines
 * have transactional DDL, so a failed migration leaves the previous version intact.
 * Never edit a released migration: add the next version.
 */
import { sql, type Kysely, type Expression } from 'kysely';
import { fail } from '../errors/catalogue.js';
import type { Backend, Database } from './schema.js';

interface Migration {
  version: number;
  description: string;
  // Kysely<any>: a migration sees the schema as it was at its version, not today's types.
  up(db: Kysely<any>, backend: Backend): Promise<void>;
}

/** Type of columns holding names that are ordered or joined on (see schema.ts on collation). */
function nameType(backend: Backend): 'text' | Expression<unknown> {
  return backend === 'postgres' ? sql`text collate "C"` : 'text';
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, groups, servers, tokens, sessions, login states',
    async up(db, backend) {
      const name = nameType(backend);
      await db.schema.createTable('users')
        .addColumn('name', name, (c) => c.primaryKey())
        .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('last_activity', 'text')
        .execute();

      await db.schema.createTable('groups')
        .addColumn('name', name, (c) => c.primaryKey())
        .execute();

      await db.schema.createTable('user_groups')
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('group_name', name, (c) => c.notNull().references('groups.name').onDelete('cascade'))
        .addPrimaryKeyConstraint('user_groups_pk', ['user_name', 'group_name'])
        .execute();
      await db.schema.createIndex('user_groups_group').on('user_groups').column('group_name').execute();

      await db.schema.createTable('servers')
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('name', name, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('user_options', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('started', 'text')
        .addColumn('last_activity', 'text')
        .addColumn('url', 'text')
        .addColumn('executor', 'text')
        .addColumn('pod_uid', 'text')
        .addColumn('secret', 'text')
        .addColumn('failure', 'text')
        .addColumn('spawn_state', 'text', (c) => c.notNull().defaultTo('{}'))
        .addPrimaryKeyConstraint('servers_pk', ['user_name', 'name'])
        .addCheckConstraint('servers_state', sql`state in ('stopped', 'starting', 'running', 'stopping')`)
        .execute();
      // The user-list state filters select user names by server state ("which users have a
      // running server"); (state, user_name) answers that from the index alone.
      await db.schema.createIndex('servers_state_user').on('servers').columns(['state', 'user_name']).execute();

      await db.schema.createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_activity', 'text')
        .addCheckConstraint('tokens_kind', sql`kind in ('api', 'session')`)
        .execute();
      await db.schema.createIndex('tokens_user').on('tokens').column('user_name').execute();
      await db.schema.createIndex('tokens_expires').on('tokens').column('expires_at').execute();

      await db.schema.createTable('sessions')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('xsrf', 'text', (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_name').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

      await db.schema.createTable('login_states')
        .addColumn('state', 'text', (c) => c.primaryKey())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('next', 'text', (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_states_created').on('login_states').column('created').execute();
    },
  },
  {
    version: 2,
    description: 'roles and assignments, group properties, service tokens, external identities, audit log',
    async up(db, backend) {
      const name = nameType(backend);
      // Groups made through the API (source 'api') keep their members across logins; groups
      // from the identity provider (source 'idp') are re-synced from its claims at every login.
      await db.schema.alterTable('groups').addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('groups').addColumn('source', 'text', (c) => c.notNull().defaultTo('idp')).execute();

      await db.schema.createTable('roles')
        .addColumn('name', name, (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .addCheckConstraint('roles_source', sql`source in ('builtin', 'config', 'api')`)
        .execute();
      await db.schema.createTable('role_assignments')
        .addColumn('role_name', name, (c) => c.notNull().references('roles.name').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal', name, (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_assignments_pk', ['role_name', 'kind', 'principal', 'source'])
        .addCheckConstraint('role_assignments_kind', sql`kind in ('user', 'group', 'service')`)
        .addCheckConstraint('role_assignments_source', sql`source in ('config', 'api')`)
        .execute();
      await db.schema.createIndex('role_assignments_principal').on('role_assignments').columns(['kind', 'principal']).execute();

      await db.schema.createTable('service_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service_name', name, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_activity', 'text')
        .execute();
      await db.schema.createIndex('service_tokens_service').on('service_tokens').column('service_name').execute();

      // Which account at an issuer (iss, sub) is which user: JWT access tokens often carry only `sub`.
      await db.schema.createTable('user_identities')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('sub', 'text', (c) => c.notNull())
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('created', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_identities_pk', ['issuer', 'sub'])
        .execute();
      await db.schema.createIndex('user_identities_user').on('user_identities').column('user_name').execute();

      // Append-only; `id` orders entries (times can tie) and is the cursor of the audit API.
      await db.schema.createTable('audit_log')
        .addColumn('id', backend === 'postgres' ? 'bigserial' : 'integer', (c) => (backend === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', name, (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('target_user', name)
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('ip', 'text')
        .addCheckConstraint('audit_outcome', sql`outcome in ('ok', 'denied', 'failed')`)
        .execute();
      await db.schema.createIndex('audit_time').on('audit_log').column('time').execute();
      await db.schema.createIndex('audit_actor').on('audit_log').columns(['actor', 'id']).execute();
      await db.schema.createIndex('audit_target_user').on('audit_log').columns(['target_user', 'id']).execute();
      await db.schema.createIndex('audit_action').on('audit_log').columns(['action', 'id']).execute();
    },
  },
  {
    version: 3,
    description: 'Dask clusters',
    async up(db, backend) {
      const name = nameType(backend);
      await db.schema.createTable('clusters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created', 'text', (c) => c.notNull())
        .addColumn('stopped', 'text')
        .addColumn('failure', 'text')
        .addColumn('tls_cert', 'text', (c) => c.notNull())
        .addColumn('tls_key', 'text', (c) => c.notNull())
        .addColumn('http_token', 'text', (c) => c.notNull())
        .addColumn('desired_workers', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('adaptive', 'text')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('{}'))
        .addCheckConstraint('clusters_status', sql`status in ('PENDING', 'RUNNING', 'STOPPING', 'STOPPED', 'FAILED')`)
        .execute();
      // A user's clusters by status (list, quota) and the active ones at every reconcile.
      await db.schema.createIndex('clusters_user_status').on('clusters').columns(['user_name', 'status']).execute();
      await db.schema.createIndex('clusters_status').on('clusters').column('status').execute();
    },
  },
  {
    version: 4,
    description: 'Unix identities of users',
    async up(db, backend) {
      // No foreign key to users, on purpose: the row outlives its user, so a deleted user's uid
      // (which still owns files on shared storage) is never handed to someone else. The unique
      // uid and the primary key are what keep two hubs allocating at once apart. Linux uids go
      // up to 2^32 - 2, past PostgreSQL's integer; SQLite's integer has 64 bits.
      const id = backend === 'postgres' ? 'bigint' : 'integer';
      await db.schema.createTable('unix_identities')
        .addColumn('user_name', nameType(backend), (c) => c.primaryKey())
        .addColumn('uid', id, (c) => c.notNull().unique())
        .addColumn('gid', id, (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 5,
    description: 'OAuth clients, authorization codes, and OAuth tokens (the hub as JupyterHub\'s OAuth provider)',
    async up(db, backend) {
      const name = nameType(backend);
      // The client a token was issued to, and the browser session it was issued in: a server's
      // stop revokes its client's tokens, a logout the session's.
      await db.schema.alterTable('tokens').addColumn('oauth_client', 'text').execute();
      await db.schema.alterTable('tokens').addColumn('session_id', 'text').execute();
      await db.schema.createIndex('tokens_oauth_client').on('tokens').column('oauth_client').execute();
      await db.schema.createIndex('tokens_session_id').on('tokens').column('session_id').execute();
      await db.schema.createTable('oauth_clients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('allowed_scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('user_name', name, (c) => c.references('users.name').onDelete('cascade'))
        .addColumn('server_name', name)
        .addColumn('service_name', 'text')
        .addColumn('created', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('oauth_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.id').onDelete('cascade'))
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('session_id', 'text')
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('token_expires_at', 'text', (c) => c.notNull())
        .addColumn('created', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 6,
    description: 'refresh tokens from the external issuer, sealed, for storage tokens (storage.tokenSource oidc)',
    async up(db, backend) {
      const name = nameType(backend);
      // One per user and issuer. `sealed` is AES-256-GCM under a key in <data>/secrets/: a copy of
      // the database alone (a backup, a replica) does not give out working refresh tokens.
      await db.schema.createTable('upstream_tokens')
        .addColumn('user_name', name, (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('updated', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('upstream_tokens_pk', ['user_name', 'issuer'])
        .execute();
    },
  },
];

/** The schema version this code writes and expects. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema to SCHEMA_VERSION. Must run inside a write transaction that already
 * excludes other migrators (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so two
 * processes starting at once apply each migration exactly once. Returns the versions applied.
 */
export async function applyMigrations(db: Kysely<Database>, backend: Backend, now: string): Promise<number[]> {
  await db.schema.createTable('schema_version').ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey())
    .addColumn('applied', 'text', (c) => c.notNull())
    .execute();
  const row = await db.selectFrom('schema_version')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  const current = row?.v == null ? 0 : Number(row.v);
  if (current > SCHEMA_VERSION) {
    // A newer highrate migrated this database; running older code against it could lose data.
    throw fail('CONFIG_INVALID', `The store's schema is version ${current}, newer than this highrate understands (${SCHEMA_VERSION}); upgrade highrate.`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    await m.up(db as Kysely<any>, backend);
    await db.insertInto('schema_version').values({ version: m.version, applied: now }).execute();
    applied.push(m.version);
  }
  return applied;
}
