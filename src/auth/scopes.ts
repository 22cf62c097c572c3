import { fail } from '../errors/catalogue.js';

/**
 * JupyterHub's RBAC scopes, as data. A scope grants its sub-scopes; a filter (`!user=alice`,
 * `!server=alice/gpu`, `!group=cms`, or `!user`/`!server` meaning "the owner") narrows the objects.
 * `needsScope()` throws at start-up for an unknown scope, so a typo in a route guard cannot ship.
 */
export const SCOPE_TABLE: Record<string, { description: string; subscopes?: string[] }> = {
  'self': { description: 'Your own resources (metascope).' },
  'inherit': { description: "Everything the token's owner can do (metascope)." },
  'admin:users': { description: 'Create, read, change and delete users.', subscopes: ['users', 'admin:server_state'] },
  'users': { description: 'Read and change users.', subscopes: ['read:users', 'list:users', 'users:activity'] },
  'list:users': { description: 'List users (names only).', subscopes: ['read:users:name'] },
  'read:users': { description: 'Read user models.', subscopes: ['read:users:name', 'read:users:groups', 'read:users:activity'] },
  'read:users:name': { description: 'Read user names.' },
  'read:users:groups': { description: "Read users' groups." },
  'read:users:activity': { description: "Read users' last activity." },
  'users:activity': { description: "Update users' activity.", subscopes: ['read:users:activity'] },
  'admin:servers': { description: 'Start, stop and read servers with their state.', subscopes: ['servers', 'admin:server_state'] },
  'admin:server_state': { description: "Read and write servers' internal state." },
  'servers': { description: 'Start, stop and read servers.', subscopes: ['read:servers', 'start:servers', 'delete:servers'] },
  'read:servers': { description: 'Read server models.', subscopes: ['read:users:name'] },
  'start:servers': { description: 'Start servers.' },
  'delete:servers': { description: 'Stop and delete servers.' },
  'access:servers': { description: 'Use servers through the proxy.' },
  'access:services': { description: 'Log in to services through the hub (OAuth).' },
  'tokens': { description: 'Create, read and revoke tokens.', subscopes: ['read:tokens'] },
  'read:tokens': { description: 'Read token models.' },
  'admin:groups': { description: 'Create and delete groups.', subscopes: ['groups'] },
  'groups': { description: 'Read and change groups.', subscopes: ['read:groups', 'list:groups'] },
  'read:groups': { description: 'Read group models.' },
  'list:groups': { description: 'List groups.' },
  'read:metrics': { description: 'Read Prometheus metrics.' },
  'proxy': { description: 'Read and sync the proxy routing table.' },
  'read:hub': { description: 'Read detailed information about the hub (`GET /hub/api/info`).' },
  'admin-ui': { description: 'Use the admin pages.' },
  'shutdown': { description: 'Shut the hub down.' },
  // Dask clusters (dask-gateway's operations): create/scale/stop, read, connect and view dashboards.
  'admin:clusters': { description: "Create, scale, stop and read clusters, with their internal state.", subscopes: ['clusters'] },
  'clusters': { description: 'Create, scale and stop clusters.', subscopes: ['read:clusters'] },
  'read:clusters': { description: 'Read cluster models.', subscopes: ['read:users:name'] },
  'access:clusters': { description: 'Connect to clusters and view their dashboards.' },
  'admin:roles': { description: 'Create, change, assign and delete roles.', subscopes: ['read:roles'] },
  'read:roles': { description: 'Read roles and their assignments.' },
  'admin:services': { description: 'Issue and revoke service tokens.', subscopes: ['read:services'] },
  'read:services': { description: 'Read service models.', subscopes: ['list:services'] },
  'list:services': { description: 'List services.' },
  'read:audit': { description: 'Read the audit log (with !user=: entries by or about that user).' },
  // Data in Rucio, acting as the user's Rucio account: search and read; stage (add and delete rules).
  'write:data': { description: 'Make data available at the facility (add and delete Rucio rules).', subscopes: ['read:data'] },
  'read:data': { description: 'Search Rucio, read replicas, rules and quota.' },
};

/** What the user role grants: JupyterHub's `self`, expanded with the owner filter. */
const SELF_SCOPES = ['read:users!user', 'users:activity!user', 'servers!user', 'access:servers!user', 'tokens!user', 'read:users:groups!user', 'clusters!user', 'access:clusters!user', 'read:audit!user', 'write:data!user'];

export type Filter = '*' | `user=${string}` | `server=${string}` | `group=${string}` | `service=${string}`;
/** scope name → the filters under which it is held ('*' = all objects). */
export type ScopeSet = Map<string, Set<Filter>>;

/** The object a request acts on, for filter checks. */
export interface Target { user?: string; server?: string; groups?: readonly string[]; service?: string }

export function isKnownScope(scope: string): boolean {
  const base = scope.split('!')[0]!;
  return base in SCOPE_TABLE;
}

/** Validates scope syntax against the table; throws INVALID_SCOPE naming the first bad one. */
export function validateScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw fail('INVALID_SCOPE', 'scopes must be a list of strings');
  for (const s of scopes as string[]) {
    const [base, filter, ...rest] = s.split('!');
    if (!base || !(base in SCOPE_TABLE) || rest.length) throw fail('INVALID_SCOPE', `Unknown scope: ${s}`);
    if (filter !== undefined && !/^(user|server)(=[^!]+)?$/.test(filter) && !/^(group|service)=[^!]+$/.test(filter)) throw fail('INVALID_SCOPE', `Bad filter in scope: ${s}`);
  }
  return scopes as string[];
}

/**
 * Expands scope strings for an owner into a ScopeSet: metascopes resolved, sub-scopes added,
 * owner filters (`!user`, `!server`) bound to the owner's name.
 */
export function expandScopes(scopes: readonly string[], owner: { name: string; admin: boolean }, ownerScopes?: ScopeSet): ScopeSet {
  const out: ScopeSet = new Map();
  const add = (scope: string, filter: Filter) => {
    let set = out.get(scope);
    if (!set) out.set(scope, (set = new Set()));
    set.add(filter);
    for (const sub of SCOPE_TABLE[scope]?.subscopes ?? []) add(sub, filter);
  };
  for (const raw of scopes) {
    const [base, filterRaw] = raw.split('!') as [string, string | undefined];
    if (base === 'inherit') {
      const inherited = ownerScopes ?? expandScopes(ownerRoleScopes(owner), owner);
      for (const [s, fs] of inherited) for (const f of fs) add(s, f);
      continue;
    }
    if (base === 'self') {
      for (const s of expandScopes(SELF_SCOPES, owner)) for (const f of s[1]) add(s[0], f);
      continue;
    }
    let filter: Filter = '*';
    if (filterRaw === 'user') filter = `user=${owner.name}`;
    else if (filterRaw === 'server') filter = `user=${owner.name}`;
    else if (filterRaw) filter = filterRaw as Filter;
    add(base, filter);
  }
  return out;
}

/** The scopes a user holds by their role: admins hold everything, others `self`. */
export function ownerRoleScopes(owner: { admin: boolean }): string[] {
  return owner.admin ? Object.keys(SCOPE_TABLE).filter((s) => s !== 'self' && s !== 'inherit') : ['self'];
}

/** Whether a ScopeSet holds `scope` for `target`. */
export function allows(set: ScopeSet, scope: string, target: Target = {}): boolean {
  const filters = set.get(scope);
  if (!filters) return false;
  if (filters.has('*')) return true;
  for (const f of filters) {
    const eq = f.indexOf('=');
    const kind = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (kind === 'user' && target.user === value) return true;
    if (kind === 'server' && target.user !== undefined && target.server !== undefined && value === `${target.user}/${target.server}`) return true;
    if (kind === 'group' && target.groups?.includes(value)) return true;
    if (kind === 'service' && target.service === value) return true;
  }
  return false;
}

/** Whether `set` holds every scope (with its filter) of `requested`: a token may not exceed its owner. */
export function covers(set: ScopeSet, requested: ScopeSet): string | null {
  for (const [scope, filters] of requested) {
    const held = set.get(scope);
    if (!held) return scope;
    if (held.has('*')) continue;
    for (const f of filters) {
      if (f === '*' || !held.has(f)) {
        // a server filter is covered by its user's filter
        if (f.startsWith('server=') && held.has(`user=${f.slice(7).split('/')[0]}` as Filter)) continue;
        return `${scope}${f === '*' ? '' : '!' + f}`;
      }
    }
  }
  return null;
}

/** Lists a ScopeSet back as scope strings (for token models). */
export function listScopes(set: ScopeSet): string[] {
  const out: string[] = [];
  for (const [scope, filters] of set) for (const f of filters) out.push(f === '*' ? scope : `${scope}!${f}`);
  return out.sort();
}

/** A route guard's scope, checked against the table when the route is declared. */
export function needsScope(scope: string): string {
  if (!(scope in SCOPE_TABLE)) throw new Error(`needsScope: unknown scope "${scope}"`);
  return scope;
}
