/**
 * Online copies of SQLite databases (the store, the IdP's accounts) while a hub writes to them.
 * SQLite's backup API (better-sqlite3's `db.backup()`) copies pages in steps; when another
 * connection writes between two steps it starts over, so the copy is always one committed state,
 * never a torn file. A plain file copy of a WAL database is not: the last commits may sit in the
 * -wal file, and the pair can change mid-copy.
 */
import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { fail } from '../errors/catalogue.js';

/** Pages per backup step: small enough that the hub's writers are never held up for long. */
const PAGES_PER_STEP = 256;

/**
 * Copies the database `source` into `dest` (created 0600, must not exist) and checks the copy with
 * `PRAGMA integrity_check`. `onProgress` gets the fraction done after each step.
 */
export async function backupSqlite(source: string, dest: string, onProgress: (done: number) => void = () => {}): Promise<{ schemaVersion: number | null; bytes: number }> {
  if (!fs.existsSync(source)) throw fail('BAD_REQUEST', `No database at ${source}: nothing to back up.`);
  // Read-only and without a WAL switch: the backup must not change the hub's file in any way.
  const db = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    fs.closeSync(fs.openSync(dest, 'wx', 0o600));
    let previous = Infinity;
    let restarted = false;
    await db.backup(dest, {
      progress({ totalPages, remainingPages }) {
        onProgress(totalPages === 0 ? 1 : (totalPages - remainingPages) / totalPages);
        // A write by the hub between two steps restarts the copy; a hub that writes all the time
        // would restart it forever. After one restart the rest goes in one step: in WAL mode the
        // step's read lock does not block the hub's writers, it only pins a snapshot meanwhile.
        if (remainingPages > previous) restarted = true;
        previous = remainingPages;
        return restarted ? Math.max(totalPages, 1) : PAGES_PER_STEP;
      },
    });
  } finally {
    db.close();
  }
  const copy = new BetterSqlite3(dest, { fileMustExist: true });
  try {
    // The copy is a rollback-journal database; the hub switches it back to WAL when it opens it.
    copy.pragma('journal_mode = DELETE');
    checkIntegrity(copy, dest);
    return { schemaVersion: schemaVersionOf(copy), bytes: fs.statSync(dest).size };
  } finally {
    copy.close();
  }
}

/** Throws unless `PRAGMA integrity_check` answers exactly "ok". */
export function checkIntegrity(db: BetterSqlite3.Database, what: string): void {
  const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const result = rows.map((r) => r.integrity_check);
  if (result.length !== 1 || result[0] !== 'ok') {
    throw fail('BAD_REQUEST', `The database ${what} is damaged (integrity_check: ${result.slice(0, 3).join('; ')}).`);
  }
}

/** The highest schema version recorded in a store database, null when it has none (the IdP's). */
export function schemaVersionOf(db: BetterSqlite3.Database): number | null {
  const has = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'schema_version'").get();
  if (!has) return null;
  const row = db.prepare('select max(version) as v from schema_version').get() as { v: number | null };
  return row.v == null ? null : Number(row.v);
}

/** Opens a staged database file to check it (restore), closing it afterwards. */
export function inspectSqlite(file: string): { schemaVersion: number | null } {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    checkIntegrity(db, file);
    return { schemaVersion: schemaVersionOf(db) };
  } finally {
    db.close();
  }
}
