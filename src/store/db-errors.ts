/**
 * Constraint violations, recognised the same way on both engines so callers can turn them into
 * catalogue errors (USER_EXISTS, USER_NOT_FOUND, CONFLICT) instead of 500s.
 * better-sqlite3 sets `code` to SQLite's extended result code name; pg sets the SQLSTATE.
 */
import { fail, HighrateError } from '../errors/catalogue.js';

export type ConstraintKind = 'unique' | 'foreign-key';

export function constraintKind(err: unknown): ConstraintKind | null {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case '23505': // unique_violation
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case 'SQLITE_CONSTRAINT_UNIQUE':
      return 'unique';
    case '23503': // foreign_key_violation
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return 'foreign-key';
    default:
      return null;
  }
}

/** Turns a foreign-key or unique violation on insert into the catalogue error a client sees. */
export function insertError(err: unknown, what: string, user: string): unknown {
  const kind = constraintKind(err);
  if (kind === 'foreign-key') return fail('USER_NOT_FOUND', `No such user: ${user}`, { cause: err });
  if (kind === 'unique') return fail('CONFLICT', `${what} already exists.`, { cause: err });
  return err;
}

/**
 * Codes that mean "no space left" for the store: SQLite's SQLITE_FULL (a write found the disk or
 * its quota full), PostgreSQL's disk_full SQLSTATE, and the file system's own errno for files we
 * write beside the database.
 */
const STORAGE_FULL_CODES = new Set(['SQLITE_FULL', '53100', 'ENOSPC', 'EDQUOT']);

/** True when `err`, or an error it wraps (`cause`), says the storage is full. */
export function isStorageFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_FULL_CODES.has(code)) return true;
  }
  return false;
}

/**
 * A full disk as the catalogue error clients see: 507 Insufficient Storage (RFC 4918 §11.5, "unable
 * to store the representation needed to complete the request"), not a 500 (nothing is broken in
 * the code) nor a 503 (clients and the proxy's own "starting" answers treat 503 as "retry in a
 * moment", which a full disk does not fix). Reads keep working. Other errors are returned as they are.
 */
export function storageFullError(err: unknown): unknown {
  if (err instanceof HighrateError && err.code === 'STORAGE_FULL') return err;
  if (!isStorageFull(err)) return err;
  return fail('STORAGE_FULL', 'The hub\'s storage is full, so this change was not saved (nothing was changed). An operator must free space on the file system of the hub\'s data directory or database; see docs/operations.md#full-disk.', {
    detail: `${(err as { code?: string }).code ?? ''} ${(err as Error)?.message ?? String(err)}`.trim(), cause: err,
  });
}

/**
 * Codes that mean "the database is there but did not answer": PostgreSQL's query_canceled (our
 * statement_timeout), admin_shutdown / crash_shutdown / cannot_connect_now (a restart) and the
 * connection_exception class. SQLite's SQLITE_BUSY (the busy timeout ran out) is the same for a
 * client. Bare socket errors (ECONNREFUSED…) are not here: any hop can raise them, and saying
 * "database" for another hop's failure would mislead.
 */
const STORE_UNAVAILABLE_CODES = new Set(['57014', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004', 'SQLITE_BUSY']);
/**
 * pg's own client-side failures carry no code, only these messages. "not queryable": a query on a
 * client whose connection broke while it was checked out (a transaction when the database went
 * away): seen once as a 500 in the PostgreSQL chaos test.
 */
const STORE_UNAVAILABLE_MESSAGES = /^(Query read timeout|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)/;

function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STORE_UNAVAILABLE_CODES.has(code)) return true;
    if ((e as { storeConnect?: boolean }).storeConnect === true) return true;
    if (STORE_UNAVAILABLE_MESSAGES.test((e as Error).message ?? '')) return true;
  }
  return false;
}

/**
 * What a client sees of a store failure that is not its fault: a full disk (507 STORAGE_FULL) or a
 * database that did not answer (503 STORE_UNAVAILABLE, retry later: a restart, a deadline), not a
 * 500. Catalogue errors and other errors are returned as they are.
 */
export function storeFailureError(err: unknown): unknown {
  const full = storageFullError(err);
  if (full !== err || err instanceof HighrateError || !isStoreUnavailable(err)) return full;
  return fail('STORE_UNAVAILABLE', undefined, { extra: { retryAfter: 5 }, detail: `${(err as { code?: string }).code ?? ''} ${(err as Error)?.message ?? String(err)}`.trim(), cause: err });
}
