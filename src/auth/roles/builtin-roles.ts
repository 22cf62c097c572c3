/**
 * The roles every hub has, as JupyterHub's defaults: `user` (everyone's own resources, held by
 * every user), `admin` (every scope), and `idle-culler` (exactly what jupyterhub-idle-culler
 * documents it needs). Their scopes are fixed; who holds them is configurable.
 */
export const BUILTIN_ROLES: ReadonlyArray<{ name: string; description: string; scopes: readonly string[] }> = [
  { name: 'user', description: 'Every user: their own servers, clusters, tokens and activity.', scopes: ['self'] },
  { name: 'admin', description: 'Everything, on every object.', scopes: ['*'] },
  { name: 'idle-culler', description: 'Find idle servers and stop them (the scopes jupyterhub-idle-culler needs).', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'] },
];

export const BUILTIN_ROLE_NAMES: ReadonlySet<string> = new Set(BUILTIN_ROLES.map((r) => r.name));
