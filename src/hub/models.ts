import type { ServerRow, TokenRow, UserRow } from '../store/types.js';
import type { Target } from '../auth/scopes.js';

/** `/user/alice/` or `/user/alice/gpu/`, as JupyterHub builds server URLs. */
export function serverPath(user: string, server: string): string {
  return `/user/${encodeURIComponent(user)}/${server ? encodeURIComponent(server) + '/' : ''}`;
}

/** A route prefix as the proxy API lists it (CHP's canonical form: no trailing slash). */
export function routeKey(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

export function progressPath(user: string, server: string): string {
  const u = encodeURIComponent(user);
  return server ? `/hub/api/users/${u}/servers/${encodeURIComponent(server)}/progress` : `/hub/api/users/${u}/server/progress`;
}

/** JupyterHub's `pending`: the action a server is busy with. */
function pendingOf(row: ServerRow): 'spawn' | 'stop' | null {
  return row.state === 'starting' ? 'spawn' : row.state === 'stopping' ? 'stop' : null;
}

/** JupyterHub's server model. `state` is shown only with admin:server_state. */
export function serverModel(row: ServerRow, opts: { withState?: boolean } = {}) {
  const pending = pendingOf(row);
  const model: Record<string, unknown> = {
    name: row.name,
    ready: row.state === 'running',
    stopped: row.state === 'stopped',
    pending,
    url: serverPath(row.user, row.name),
    progress_url: progressPath(row.user, row.name),
    started: row.state === 'stopped' ? null : row.started,
    last_activity: row.lastActivity,
    user_options: row.userOptions,
  };
  if (row.failure && row.state === 'stopped') model.failure = row.failure;
  if (opts.withState) model.state = { executor: row.executor, pod_uid: row.podUid, ...row.spawnState };
  return model;
}

/** What a caller may see of a model: anything that answers `can(scope, target)`, as an Identity. */
export interface ModelViewer {
  can(scope: string, target?: Target): boolean;
}

/**
 * The keys of the user model each scope reveals: JupyterHub 4.1's access map (`user_model` in its
 * apihandlers/base.py), plus highrate's `blocked` with read:users. A caller sees the union over the
 * scopes it holds on the user. `admin` comes with the name because jupyterhub-idle-culler reads it
 * to spare admins; JupyterHub's read:roles:users is highrate's read:roles.
 */
export const USER_MODEL_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'read:users': ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity', 'blocked'],
  'read:users:name': ['kind', 'name', 'admin'],
  'read:users:groups': ['kind', 'name', 'groups'],
  'read:users:activity': ['kind', 'name', 'last_activity'],
  'read:servers': ['kind', 'name', 'servers'],
  'read:roles': ['kind', 'name', 'roles', 'admin'],
};

export interface UserModelOptions {
  /** Stopped servers too (JupyterHub's `include_stopped_servers`). */
  includeStopped?: boolean;
  /** `admin` and `roles` as the role book has them; default: from the user row alone. */
  roles?: { admin: boolean; roles: string[] };
}

/**
 * JupyterHub's user model as `viewer` may see it (null: all of it, for answers to callers already
 * checked to hold admin:users). Fields follow USER_MODEL_FIELDS; `servers` holds the active servers
 * (with `includeStopped`, the stopped ones too) on which the viewer holds read:servers, and is
 * present, maybe empty, whenever read:servers is held on the user. `{}` when nothing is visible.
 */
export function userModel(user: UserRow, servers: readonly ServerRow[], viewer: ModelViewer | null, opts: UserModelOptions = {}): Record<string, unknown> {
  const target = { user: user.name, groups: user.groups };
  const roles = opts.roles ?? { admin: user.admin, roles: user.admin ? ['admin', 'user'] : ['user'] };
  const def = servers.find((s) => s.name === '' && s.state !== 'stopped');
  const full: Record<string, unknown> = {
    kind: 'user',
    name: user.name,
    admin: roles.admin,
    roles: roles.roles,
    groups: user.groups,
    server: def?.state === 'running' ? serverPath(user.name, '') : null,
    pending: def ? pendingOf(def) : null,
    created: user.created,
    last_activity: user.lastActivity,
    blocked: user.blocked,
  };
  const allowed = new Set<string>();
  for (const [scope, keys] of Object.entries(USER_MODEL_FIELDS)) {
    if (!viewer || viewer.can(scope, target)) for (const k of keys) allowed.add(k);
  }
  const model: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(full)) if (allowed.has(k)) model[k] = v;
  if (Object.keys(model).length === 0) return model;
  const visible: Record<string, unknown> = {};
  for (const s of servers) {
    if (s.state === 'stopped' && !opts.includeStopped) continue;
    const at = { ...target, server: s.name };
    if (viewer && !viewer.can('read:servers', at)) continue;
    visible[s.name] = serverModel(s, { withState: viewer?.can('admin:server_state', at) ?? false });
  }
  if (allowed.has('servers') || Object.keys(visible).length > 0) model.servers = visible;
  return model;
}

/** JupyterHub's token model (never the token itself, except once at creation). */
export function tokenModel(row: TokenRow) {
  return {
    id: row.id,
    kind: 'api_token',
    user: row.user,
    note: row.note,
    scopes: row.scopes,
    roles: [],
    created: row.created,
    last_activity: row.lastActivity,
    expires_at: row.expiresAt,
    // JupyterHub's: the browser session an OAuth token was issued in, and its client (here the
    // client's id, e.g. jupyterhub-user-alice; JupyterHub shows the client's description).
    session_id: row.sessionId ?? null,
    oauth_client: row.oauthClient ?? null,
    prefix: row.prefix,
  };
}
