/** URL builders for the hub API; every name is percent-encoded as a single path segment. */

const seg = encodeURIComponent;

/** The user model, with stopped servers listed too (JupyterHub's include_stopped_servers). */
export const currentUserPath = '/hub/api/user?include_stopped_servers=1';

/** Another user's model (admins spawning for someone else). */
export function userPath(user: string): string {
  return `/hub/api/users/${seg(user)}?include_stopped_servers=1`;
}

/** Start (POST) / stop (DELETE) URL of a server; "" is the default server. */
export function serverPath(user: string, server: string): string {
  return server === ''
    ? `/hub/api/users/${seg(user)}/server`
    : `/hub/api/users/${seg(user)}/servers/${seg(server)}`;
}

/** The progress stream, used only when the user model lacks progress_url. */
export function progressPath(user: string, server: string): string {
  return `${serverPath(user, server)}/progress`;
}

export const profilesPath = '/hub/api/profiles';

export function tokensPath(user: string): string {
  return `/hub/api/users/${seg(user)}/tokens`;
}

export function tokenPath(user: string, id: string): string {
  return `${tokensPath(user)}/${seg(id)}`;
}

/** Portal page where a server is started; the default server has the short form. */
export function spawnPagePath(user: string, server: string, ownName: string): string {
  if (server === '' && user === ownName) return '/hub/spawn';
  return server === '' ? `/hub/spawn/${seg(user)}` : `/hub/spawn/${seg(user)}/${seg(server)}`;
}

/** Login page, carrying where to come back to. */
export function loginPath(next: string | null): string {
  return next ? `/hub/login?next=${encodeURIComponent(next)}` : '/hub/login';
}
