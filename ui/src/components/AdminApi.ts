/** The admin portal's view of the hub API: models it reads and URL builders (names encoded as one segment). */

const seg = encodeURIComponent;

export interface AdminUser {
  name: string;
  admin: boolean;
  blocked: boolean;
  groups: string[];
  roles: string[];
  created: string | null;
  last_activity: string | null;
  servers?: Record<string, { ready: boolean; pending: string | null; started: string | null; last_activity: string | null }>;
}

export interface Paginated<T> {
  items: T[];
  _pagination: { offset: number; limit: number; total: number; next: { offset: number } | null };
}

export interface AdminGroup {
  name: string;
  source: 'idp' | 'api';
  member_count: number;
  roles: string[];
  properties: Record<string, unknown>;
  users?: string[];
}

export interface AdminWorkload {
  kind: string;
  user: string;
  name: string;
  state: string;
  started: string | null;
  last_activity: string | null;
  cores: number;
  memory_bytes: number;
  profile?: string | null;
  url?: string;
  detail?: Record<string, unknown>;
  stop_url: string | null;
}

export interface AdminActivity {
  servers: AdminWorkload[];
  others: AdminWorkload[];
  providers: string[];
  errors: string[];
}

export interface AuditEntry {
  id: number;
  time: string;
  actor: string;
  actor_kind: string;
  action: string;
  target: string | null;
  target_user: string | null;
  outcome: 'ok' | 'denied' | 'failed';
  code: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
}

export interface AuditPage {
  items: AuditEntry[];
  _pagination: { limit: number; next: { before: number } | null };
}

export interface RoleModel {
  name: string;
  description: string;
  scopes: string[];
  source: 'builtin' | 'config' | 'api';
  users: string[];
  groups: string[];
  services: string[];
}

export const PAGINATION_ACCEPT = 'application/jupyterhub-pagination+json';

/** `POST` here with `{usernames, admin}` adds users, as JupyterHub's admin page does. */
export const CREATE_USERS_PATH = '/hub/api/users';

/** Names typed into the add-user field: separated by spaces, commas or new lines, each once. */
export function parseUsernames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((n) => n.trim()).filter((n) => n !== ''))];
}

export function usersPath(offset: number, limit: number, nameFilter: string): string {
  const q = new URLSearchParams({ offset: String(offset), limit: String(limit), include_stopped_servers: '1' });
  if (nameFilter !== '') q.set('name_filter', nameFilter);
  return `/hub/api/users?${q.toString()}`;
}

export function userAdminPath(name: string): string {
  return `/hub/api/users/${seg(name)}`;
}

export function groupsPath(offset: number, limit: number): string {
  return `/hub/api/groups?offset=${offset}&limit=${limit}`;
}

export function groupPath(name: string): string {
  return `/hub/api/groups/${seg(name)}`;
}

export function groupUsersPath(name: string): string {
  return `${groupPath(name)}/users`;
}

export const activityPath = '/hub/api/admin/activity';
export const rolesPath = '/hub/api/roles';

export function auditPath(filters: { user: string; action: string; outcome: string }, before: number | null): string {
  const q = new URLSearchParams({ limit: '50' });
  if (filters.user !== '') q.set('user', filters.user);
  if (filters.action !== '') q.set('action', filters.action);
  if (filters.outcome !== '') q.set('outcome', filters.outcome);
  if (before !== null) q.set('before', String(before));
  return `/hub/api/audit?${q.toString()}`;
}
