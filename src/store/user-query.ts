/**
 * SQL pieces for reading users: the state/name filter of the user list and the groups of each
 * user as one JSON array per row (one statement per page instead of one query per user).
 */
import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from 'kysely';
import { fail } from '../errors/catalogue.js';
import type { ListUsersQuery } from './types.js';
import type { Backend, Database } from './schema.js';

const ACTIVE_STATES = ['starting', 'running', 'stopping'] as const;

/** `groups_json`: the user's group names as a JSON array text ('[]' when none). */
export function groupsJson(backend: Backend): RawBuilder<string> {
  return backend === 'postgres'
    ? sql<string>`(select coalesce(json_agg(ug.group_name)::text, '[]') from user_groups ug where ug.user_name = users.name)`
    : sql<string>`(select json_group_array(ug.group_name) from user_groups ug where ug.user_name = users.name)`;
}

/** Escapes LIKE wildcards so `nameContains` matches literally (escape character: backslash). */
function likePattern(s: string): string {
  return '%' + s.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/**
 * The WHERE of a user list (null: no condition), as JupyterHub's GET /users filters:
 * active = has a server starting/running/stopping; ready = has a running server;
 * inactive = has no server other than stopped ones. `nameContains` is a case-insensitive
 * (ASCII) substring match, like JupyterHub's `name_filter` (ILIKE '%x%').
 */
export function userFilter(q: ListUsersQuery, backend: Backend): ((eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>) | null {
  if (q.state !== undefined && q.state !== 'active' && q.state !== 'ready' && q.state !== 'inactive') {
    throw fail('BAD_REQUEST', `Unknown user state filter: ${JSON.stringify(q.state)} (use active, ready or inactive).`);
  }
  const activeSince = q.activeSince === undefined ? undefined : instant(q.activeSince);
  if (!q.state && !q.nameContains && q.admin === undefined && activeSince === undefined) return null;
  return function filterUsers(eb: ExpressionBuilder<Database, 'users'>): Expression<SqlBool> {
    const conds: Expression<SqlBool>[] = [];
    const namesInState = (states: readonly string[]) =>
      eb.selectFrom('servers').select('servers.user_name').where('servers.state', 'in', states);
    if (q.state === 'ready') conds.push(eb('users.name', 'in', namesInState(['running'])));
    else if (q.state === 'active') conds.push(eb('users.name', 'in', namesInState(ACTIVE_STATES)));
    else if (q.state === 'inactive') conds.push(eb('users.name', 'not in', namesInState(ACTIVE_STATES)));
    if (q.nameContains) {
      // SQLite's LIKE is ASCII case-insensitive already; PostgreSQL needs ILIKE for the same.
      const op = sql.raw(backend === 'postgres' ? 'ilike' : 'like');
      conds.push(sql<SqlBool>`${sql.ref('users.name')} ${op} ${likePattern(q.nameContains)} escape '\\'`);
    }
    if (q.admin !== undefined) conds.push(eb('users.admin', '=', q.admin ? 1 : 0));
    // Activity is stored as toISOString() text, so text order is time order.
    if (activeSince !== undefined) conds.push(eb('users.last_activity', '>=', activeSince));
    return eb.and(conds);
  };
}

/** An ISO 8601 instant in the form activity is stored in (toISOString). */
function instant(v: string): string {
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw fail('BAD_REQUEST', `activeSince must be an ISO 8601 timestamp, not ${JSON.stringify(v)}.`);
  return new Date(t).toISOString();
}

/** Validated offset/limit; a negative or fractional value is bad input, not a 500. */
export function pageBounds(q: ListUsersQuery): { offset: number; limit: number | undefined } {
  const offset = q.offset ?? 0;
  const limit = q.limit;
  if (!Number.isSafeInteger(offset) || offset < 0) throw fail('BAD_REQUEST', 'offset must be a non-negative integer.');
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw fail('BAD_REQUEST', 'limit must be a non-negative integer.');
  return { offset, limit };
}
