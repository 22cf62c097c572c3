import type { ServerRow, TokenRow, UserRow } from '../store/types.js';
import type { Identity } from './identity.js';

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

/** JupyterHub's server model. `state` is shown only with admin:server_state. */
export function serverModel(row: ServerRow, opts: { withState?: boolean } = {}) {
  const pending = row.state === 'starting' ? 'spawn' : row.state === 'stopping' ? 'stop' : null;
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

/**
 * JupyterHub's user model. `servers` is included for callers holding read:servers on the user;
 * stopped servers only when asked (`include_stopped_servers`).
 */
export function userModel(user: UserRow, servers: ServerRow[] | undefined, viewer: Identity | null, opts: { includeStopped?: boolean } = {}) {
  const target = { user: user.name, groups: user.groups };
  const model: Record<string, unknown> = {
    kind: 'user',
    name: user.name,
    admin: user.admin,
    roles: user.admin ? ['admin', 'user'] : ['user'],
    groups: !viewer || viewer.can('read:users:groups', target) ? user.groups : [],
    created: user.created,
    last_activity: user.lastActivity,
    blocked: user.blocked,
    pending: null,
    server: null,
  };
  if (servers && (!viewer || viewer.can('read:servers', target))) {
    const withState = viewer?.can('admin:server_state', target) ?? false;
    const out: Record<string, unknown> = {};
    for (const s of servers) {
      if (s.state === 'stopped' && !opts.includeStopped) continue;
      out[s.name] = serverModel(s, { withState });
    }
    model.servers = out;
    const def = servers.find((s) => s.name === '');
    if (def && def.state !== 'stopped') {
      model.pending = def.state === 'starting' ? 'spawn' : def.state === 'stopping' ? 'stop' : null;
      if (def.state === 'running') model.server = serverPath(user.name, '');
    }
  }
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
    session_id: null,
    prefix: row.prefix,
  };
}
