/**
 * Store URLs and the Kysely dialect each one opens. Accepted:
 *   sqlite:///absolute/path.sqlite   a file (created with mode 0600: it holds token hashes and
 *                                    server secrets)
 *   sqlite::memory:                  a private in-memory database (tests, throwaway runs)
 *   postgres://… / postgresql://…    a PostgreSQL database (libpq URL, as `pg` understands it)
 */
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { Backend } from './schema.js';

/** A parsed store URL. */
export type StoreTarget =
  | { backend: 'sqlite'; file: string }
  | { backend: 'postgres'; url: string };

const HELP = 'use sqlite:///absolute/path.sqlite, sqlite::memory: or postgres://user@host:port/database';

/** Parses a store URL; anything else is CONFIG_INVALID. Never echoes a PostgreSQL URL (password). */
export function parseStoreUrl(url: string): StoreTarget {
  if (url === 'sqlite::memory:') return { backend: 'sqlite', file: ':memory:' };
  if (url.startsWith('sqlite:')) {
    if (!url.startsWith('sqlite:///')) {
      throw fail('CONFIG_INVALID', `Invalid SQLite store URL "${url}": the path must be absolute (sqlite:///absolute/path.sqlite) or use sqlite::memory:.`);
    }
    let file: string;
    try {
      file = decodeURIComponent(url.slice('sqlite://'.length));
    } catch {
      throw fail('CONFIG_INVALID', `Invalid SQLite store URL "${url}": bad percent-encoding.`);
    }
    if (file.includes('\0') || file.endsWith('/')) {
      throw fail('CONFIG_INVALID', `Invalid SQLite store URL "${url}": not a file path.`);
    }
    return { backend: 'sqlite', file: path.normalize(file) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      new URL(url);
    } catch {
      throw fail('CONFIG_INVALID', 'Invalid PostgreSQL store URL: it does not parse as a URL.');
    }
    return { backend: 'postgres', url };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw fail('CONFIG_INVALID', scheme
    ? `Unknown store URL scheme "${scheme}:"; ${HELP}.`
    : `The store URL has no scheme; ${HELP}.`);
}

/** SQLite lock wait: long enough to ride out another process's migration or write burst. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database a target names and returns the Kysely dialect over it. The PostgreSQL
 * driver is loaded only for a postgres:// store: evaluating it (and Node's tls it pulls in) was
 * 30 ms of every SQLite hub's start (issue 14).
 */
export async function openDialect(target: StoreTarget): Promise<{ backend: Backend; dialect: Dialect }> {
  if (target.backend === 'sqlite') return { backend: 'sqlite', dialect: new SqliteDialect({ database: openSqlite(target.file) }) };
  const { default: driver } = await import('pg');
  return { backend: 'postgres', dialect: new PostgresDialect({ pool: openPool(driver, target.url) }) };
}

/**
 * `journal_mode = WAL`, retried while another process holds the lock: SQLite does not call the
 * busy handler when two connections would wait on each other (both holding a shared lock and
 * wanting more), as happens when several processes open a fresh file at once; it answers
 * SQLITE_BUSY at once instead. Seen in the three-process migration test under load.
 */
function switchToWal(db: BetterSqlite3.Database): void {
  const deadline = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
      Atomics.wait(pause, 0, 0, 10 + Math.floor(Math.random() * 40));
    }
  }
}

function openSqlite(file: string): BetterSqlite3.Database {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Create it 0600 before SQLite does (umask would make it world-readable); SQLite gives the
    // -wal and -shm files the main file's permissions.
    fs.closeSync(fs.openSync(file, 'a', 0o600));
  }
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(file);
    // busy_timeout first: switching to WAL takes a lock another process may briefly hold.
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    // WAL lets readers (the hub, a CLI) proceed while one writer commits; NORMAL sync is the
    // documented safe pairing with WAL (a crash may lose the last commits, never corrupts).
    if (file !== ':memory:') switchToWal(db);
    db.pragma('synchronous = NORMAL');
    // Off by default in SQLite; the cascades from users to servers/tokens/sessions depend on it.
    db.pragma('foreign_keys = ON');
    cacheStatements(db);
  } catch (err) {
    db?.close();
    const e = err as { code?: string; message?: string };
    throw fail('CONFIG_INVALID', `Cannot use the SQLite store at ${file}.`, { detail: `${e.code ?? ''} ${e.message ?? String(err)}`.trim(), cause: err });
  }
  return db;
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query anew; preparing cost 13% of the hub's CPU for
 * `GET /hub/api/user` (measured). better-sqlite3 statements are reusable and the driver uses each
 * synchronously, so identical SQL shares one prepared statement (bounded, oldest dropped first).
 */
function cacheStatements(db: BetterSqlite3.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, BetterSqlite3.Statement>();
  (db as { prepare: (sql: string) => BetterSqlite3.Statement }).prepare = function cachedPrepare(sql: string) {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}

/** Wait for a PostgreSQL connection (new, or free in the pool) at most this long. */
const STORE_CONNECT_TIMEOUT_MS = 15_000;
/** Longest a PostgreSQL statement may run (statement_timeout). */
const STORE_STATEMENT_TIMEOUT_MS = 60_000;

function openPool(driver: typeof pg, url: string): pg.Pool {
  const pool = new driver.Pool({
    connectionString: url,
    max: 10,
    idleTimeoutMillis: 30_000,
    // The store's queries are all small; JIT compiling one costs milliseconds (measured 5.6 ms
    // on a 200-row page) and only triggers when the planner overestimates. A URL that sets
    // ?options=… replaces this.
    options: '-c jit=off',
    // Deadlines (issue 14: every hop has one). A database that does not accept a connection, or
    // a pool exhausted for this long, fails the call instead of holding the request.
    connectionTimeoutMillis: STORE_CONNECT_TIMEOUT_MS,
    // The server cancels a statement running this long (SQLSTATE 57014); the store's statements
    // take milliseconds, migrations of large tables seconds.
    statement_timeout: STORE_STATEMENT_TIMEOUT_MS,
    // A server that stopped answering (network partition, frozen host): the client gives up a
    // little after the server-side limit would have fired.
    query_timeout: STORE_STATEMENT_TIMEOUT_MS + 5_000,
    // Dead TCP to the database is noticed by the OS instead of never.
    keepAlive: true,
  });
  // An idle client losing its connection (server restart) emits 'error' on the pool; without a
  // listener that would crash the hub. The pool drops the client and opens a new one on demand.
  pool.on('error', function onIdleClientError(err: Error & { code?: string }) {
    log.warn('store: idle PostgreSQL connection failed', { code: err.code, error: err.message });
  });
  // A client checked out of the pool has no pool listener (pg-pool removes it while the client is
  // lent): a restart of the database cutting it then was an uncaught 'error' that ended the hub.
  // The query it was running fails on its own; this only keeps the process alive.
  pool.on('connect', function listenOnClient(client: pg.PoolClient) {
    client.on('error', function onClientError(err: Error & { code?: string }) {
      log.warn('store: PostgreSQL connection failed', { code: err.code, error: err.message });
    });
  });
  // Connecting is the store's own hop: its failures (refused, timed out) are marked so the API
  // answers 503 STORE_UNAVAILABLE rather than 500 (db-errors.ts), without blaming the database
  // for any other hop's ECONNREFUSED.
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  (pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async function connectToStore() {
    try {
      return await connect();
    } catch (err) {
      if (err !== null && typeof err === 'object') (err as { storeConnect?: boolean }).storeConnect = true;
      throw err;
    }
  };
  return pool;
}
