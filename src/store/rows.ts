/**
 * The one place stored values become the plain objects of types.ts and back: integers to
 * booleans, JSON text to objects, snake_case to camelCase. Nothing else in the store converts.
 */
import type { AuditRow, LoginStateRow, NewAuditRow, RoleAssignmentRow, RoleRow, ServerRow, ServerState, ServiceTokenRow, SessionRow, TokenRow, UnixIdentityRow, UserRow } from './types.js';
import type { AuditLogTable, LoginStatesTable, RoleAssignmentsTable, RolesTable, ServersTable, ServiceTokensTable, SessionsTable, TokensTable, UnixIdentitiesTable, UsersTable } from './schema.js';

export function toBool(v: number | boolean | string): boolean {
  // pg could hand back a string for numeric types; SQLite gives 0/1.
  return v === true || v === 1 || v === '1';
}

export function fromBool(v: boolean): number {
  return v ? 1 : 0;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text == null || text === '') return fallback;
  return JSON.parse(text) as T;
}

/** Sorted like SQLite's BINARY and PostgreSQL's "C" collation for ASCII names. */
function sortedNames(names: string[]): string[] {
  return [...names].sort();
}

export function toUserRow(r: UsersTable & { groups_json?: string | null }): UserRow {
  return {
    name: r.name,
    admin: toBool(r.admin),
    blocked: toBool(r.blocked),
    created: r.created,
    lastActivity: r.last_activity ?? null,
    groups: sortedNames(parseJson<string[]>(r.groups_json ?? null, [])),
  };
}

export function toServerRow(r: ServersTable): ServerRow {
  return {
    user: r.user_name,
    name: r.name,
    state: r.state as ServerState,
    userOptions: parseJson<Record<string, unknown>>(r.user_options, {}),
    started: r.started ?? null,
    lastActivity: r.last_activity ?? null,
    url: r.url ?? null,
    executor: r.executor ?? null,
    podUid: r.pod_uid ?? null,
    secret: r.secret ?? null,
    failure: r.failure ?? null,
    spawnState: parseJson<Record<string, unknown>>(r.spawn_state, {}),
  };
}

export function fromServerRow(s: ServerRow): ServersTable {
  return {
    user_name: s.user,
    name: s.name,
    state: s.state,
    user_options: JSON.stringify(s.userOptions ?? {}),
    started: s.started ?? null,
    last_activity: s.lastActivity ?? null,
    url: s.url ?? null,
    executor: s.executor ?? null,
    pod_uid: s.podUid ?? null,
    secret: s.secret ?? null,
    failure: s.failure ?? null,
    spawn_state: JSON.stringify(s.spawnState ?? {}),
  };
}

/**
 * Columns to set for a partial server update. Keys that are absent or `undefined` are left
 * alone; `null` clears a nullable column. `user` and `name` identify the row and are never
 * changed by a patch (renaming a server is not an operation the hub has).
 */
export function serverPatchColumns(p: Partial<ServerRow>): Partial<ServersTable> {
  const out: Partial<ServersTable> = {};
  if (p.state !== undefined) out.state = p.state;
  if (p.userOptions !== undefined) out.user_options = JSON.stringify(p.userOptions ?? {});
  if (p.started !== undefined) out.started = p.started;
  if (p.lastActivity !== undefined) out.last_activity = p.lastActivity;
  if (p.url !== undefined) out.url = p.url;
  if (p.executor !== undefined) out.executor = p.executor;
  if (p.podUid !== undefined) out.pod_uid = p.podUid;
  if (p.secret !== undefined) out.secret = p.secret;
  if (p.failure !== undefined) out.failure = p.failure;
  if (p.spawnState !== undefined) out.spawn_state = JSON.stringify(p.spawnState ?? {});
  return out;
}

export function toTokenRow(r: TokensTable): TokenRow {
  return {
    id: r.id,
    user: r.user_name,
    hash: r.hash,
    prefix: r.prefix,
    scopes: parseJson<string[]>(r.scopes, []),
    note: r.note,
    kind: r.kind as TokenRow['kind'],
    created: r.created,
    expiresAt: r.expires_at ?? null,
    lastActivity: r.last_activity ?? null,
    oauthClient: r.oauth_client ?? null,
    sessionId: r.session_id ?? null,
  };
}

export function fromTokenRow(t: TokenRow): TokensTable {
  return {
    id: t.id,
    user_name: t.user,
    hash: t.hash,
    prefix: t.prefix,
    scopes: JSON.stringify(t.scopes ?? []),
    note: t.note ?? '',
    kind: t.kind,
    created: t.created,
    expires_at: t.expiresAt ?? null,
    last_activity: t.lastActivity ?? null,
    oauth_client: t.oauthClient ?? null,
    session_id: t.sessionId ?? null,
  };
}

export function toSessionRow(r: SessionsTable): SessionRow {
  return { hash: r.hash, user: r.user_name, xsrf: r.xsrf, created: r.created, expiresAt: r.expires_at };
}

export function fromSessionRow(s: SessionRow): SessionsTable {
  return { hash: s.hash, user_name: s.user, xsrf: s.xsrf, created: s.created, expires_at: s.expiresAt };
}

export function toLoginStateRow(r: LoginStatesTable): LoginStateRow {
  return { state: r.state, codeVerifier: r.code_verifier, nonce: r.nonce, next: r.next, created: r.created };
}

export function fromLoginStateRow(l: LoginStateRow): LoginStatesTable {
  return { state: l.state, code_verifier: l.codeVerifier, nonce: l.nonce, next: l.next, created: l.created };
}

export function toRoleRow(r: RolesTable): RoleRow {
  return { name: r.name, description: r.description, scopes: parseJson<string[]>(r.scopes, []), source: r.source as RoleRow['source'], created: r.created };
}

export function fromRoleRow(r: RoleRow): RolesTable {
  return { name: r.name, description: r.description, scopes: JSON.stringify(r.scopes), source: r.source, created: r.created };
}

export function toRoleAssignmentRow(r: RoleAssignmentsTable): RoleAssignmentRow {
  return { role: r.role_name, kind: r.kind as RoleAssignmentRow['kind'], principal: r.principal, source: r.source as RoleAssignmentRow['source'] };
}

export function toServiceTokenRow(r: ServiceTokensTable): ServiceTokenRow {
  return {
    id: r.id, service: r.service_name, hash: r.hash, prefix: r.prefix, scopes: parseJson<string[]>(r.scopes, []), note: r.note,
    created: r.created, expiresAt: r.expires_at ?? null, lastActivity: r.last_activity ?? null,
  };
}

export function fromServiceTokenRow(t: ServiceTokenRow): ServiceTokensTable {
  return {
    id: t.id, service_name: t.service, hash: t.hash, prefix: t.prefix, scopes: JSON.stringify(t.scopes ?? []), note: t.note ?? '',
    created: t.created, expires_at: t.expiresAt ?? null, last_activity: t.lastActivity ?? null,
  };
}

export function toAuditRow(r: Omit<AuditLogTable, 'id'> & { id: number | string | bigint }): AuditRow {
  return {
    id: Number(r.id), time: r.time, actor: r.actor, actorKind: r.actor_kind as AuditRow['actorKind'], action: r.action,
    target: r.target ?? null, targetUser: r.target_user ?? null, outcome: r.outcome as AuditRow['outcome'], code: r.code ?? null,
    detail: parseJson<Record<string, unknown>>(r.detail, {}), ip: r.ip ?? null,
  };
}

export function fromAuditRow(a: NewAuditRow): Omit<AuditLogTable, 'id'> {
  return {
    time: a.time, actor: a.actor, actor_kind: a.actorKind, action: a.action, target: a.target ?? null, target_user: a.targetUser ?? null,
    outcome: a.outcome, code: a.code ?? null, detail: JSON.stringify(a.detail ?? {}), ip: a.ip ?? null,
  };
}

export function toUnixIdentityRow(r: UnixIdentitiesTable): UnixIdentityRow {
  return { user: r.user_name, uid: Number(r.uid), gid: Number(r.gid), created: r.created };
}
