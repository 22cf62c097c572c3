/**
 * What the store's aggregates (users.ts, servers.ts, …) share: one Kysely instance, the engine,
 * the clock, and transactions. KyselyStore makes one context and hands the same one to every
 * aggregate. A second Kysely over the same dialect would be a second driver: on SQLite, two
 * mutexes over one better-sqlite3 connection, so transactions could interleave.
 */
import { sql, type Kysely } from 'kysely';
import type { Backend, Database } from './schema.js';

/**
 * Rows per multi-row INSERT or IN list. SQLite allows 32,766 bound parameters and PostgreSQL
 * 65,535; 500 rows of the widest table (12 columns) stay far below both.
 */
export const CHUNK = 500;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `fn` in one transaction on one connection. SQLite writes take the write lock up front
 * (BEGIN IMMEDIATE): a deferred transaction that reads and then writes fails with
 * SQLITE_BUSY_SNAPSHOT, without waiting, if another process committed in between.
 * PostgreSQL reads use a REPEATABLE READ snapshot so a count and its page agree.
 */
export function transaction<T>(db: Kysely<Database>, backend: Backend, mode: 'read' | 'write', fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const begin = backend === 'sqlite'
    ? (mode === 'write' ? 'begin immediate' : 'begin')
    : (mode === 'write' ? 'begin' : 'begin isolation level repeatable read read only');
  return db.connection().execute(async function inTransaction(conn) {
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

/** The one database connection of a store, its engine and its clock. */
export interface StoreContext {
  readonly db: Kysely<Database>;
  readonly backend: Backend;
  /** `now` is injectable so tests can pin timestamps. */
  readonly now: () => string;
}

/** Base of the store's aggregates: the context as `this.db`, `this.backend`, `this.now()`, `this.tx()`. */
export abstract class Aggregate {
  protected readonly db: Kysely<Database>;
  protected readonly backend: Backend;
  protected readonly now: () => string;

  constructor(context: StoreContext) {
    this.db = context.db;
    this.backend = context.backend;
    this.now = context.now;
  }

  protected tx<T>(mode: 'read' | 'write', fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return transaction(this.db, this.backend, mode, fn);
  }
}
