/**
 * Constraint violations, recognised the same way on both engines so callers can turn them into
 * catalogue errors (USER_EXISTS, USER_NOT_FOUND, CONFLICT) instead of 500s.
 * better-sqlite3 sets `code` to SQLite's extended result code name; pg sets the SQLSTATE.
 */
import { fail } from '../errors/catalogue.js';

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
