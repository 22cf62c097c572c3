import { ownerRoleScopes, type ScopeSet } from '../scopes.js';
import type { Config } from '../../config/schema.js';
import { log } from '../../log.js';
import type { PrincipalKind, RoleAssignmentRow, RoleRow, Store, UserRow } from '../../store/types.js';
import { BUILTIN_ROLES, BUILTIN_ROLE_NAMES } from './builtin-roles.js';
import { expandRole, mergeInto } from './scope-sets.js';

/** A role as the API shows it (JupyterHub's role model plus where it was declared). */
export interface RoleModel {
  kind: 'role';
  name: string;
  description: string;
  scopes: string[];
  source: RoleRow['source'];
  users: string[];
  groups: string[];
  services: string[];
}

/** Who is asking about their roles: a user (with groups) or a service. */
type Principal = { kind: 'user'; user: Pick<UserRow, 'name' | 'admin' | 'groups'> } | { kind: 'service'; name: string };

/** Cached scope sets at most; a facility has far fewer distinct (user, groups) combinations live. */
const MAX_CACHED = 5000;

/**
 * Roles and who holds them, held in memory (every request needs the caller's scopes; reading them
 * from the store each time would double its queries) and reloaded from the store after every
 * change made through this hub. The store stays the truth: config roles are written to it at
 * start, API changes go to it first.
 *
 * Rules: every user holds `user`; a user flagged admin (config adminUsers, admin groups at login,
 * or the API) holds `admin`; a user holds the roles assigned to them and to any of their groups;
 * a service holds only the roles assigned to it.
 */
export class RoleBook {
  #roles = new Map<string, RoleRow>();
  #assignments: RoleAssignmentRow[] = [];
  #index = new Map<string, Set<string>>();
  #cache = new Map<string, ScopeSet>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store) {}

  /** Writes the built-in roles and the config's roles and assignments to the store, then loads. */
  async syncConfig(config: Pick<Config, 'roles' | 'services'>, now = new Date().toISOString()): Promise<void> {
    const rows: RoleRow[] = BUILTIN_ROLES.map((r) => ({ name: r.name, description: r.description, scopes: [...r.scopes], source: 'builtin', created: now }));
    const assignments: RoleAssignmentRow[] = [];
    for (const role of config.roles) {
      if (!BUILTIN_ROLE_NAMES.has(role.name)) rows.push({ name: role.name, description: role.description, scopes: role.scopes ?? [], source: 'config', created: now });
      for (const u of role.users) assignments.push({ role: role.name, kind: 'user', principal: u, source: 'config' });
      for (const g of role.groups) assignments.push({ role: role.name, kind: 'group', principal: g, source: 'config' });
      for (const s of role.services) assignments.push({ role: role.name, kind: 'service', principal: s, source: 'config' });
    }
    for (const svc of config.services) for (const r of svc.roles) assignments.push({ role: r, kind: 'service', principal: svc.name, source: 'config' });
    await this.store.syncDeclaredRoles(rows, assignments);
    await this.reload();
  }

  /** Re-reads roles and assignments from the store. */
  async reload(): Promise<void> {
    const [roles, assignments] = await Promise.all([this.store.listRoles(), this.store.listRoleAssignments()]);
    this.#roles = new Map(roles.map((r) => [r.name, r]));
    this.#assignments = assignments;
    const index = new Map<string, Set<string>>();
    for (const a of assignments) {
      const key = `${a.kind}\0${a.principal}`;
      let set = index.get(key);
      if (!set) index.set(key, (set = new Set()));
      set.add(a.role);
    }
    this.#index = index;
    this.#cache.clear();
  }

  /** Reloads every `seconds` (changes made by another process, e.g. a second hub), unref'd. */
  startRefresh(seconds: number): void {
    this.#timer = setInterval(() => void this.reload().catch((err: unknown) => log.warn('roles: reload failed', { error: String(err) })), seconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  role(name: string): RoleRow | undefined {
    return this.#roles.get(name);
  }

  /** Names of the roles a principal holds, sorted. */
  rolesOf(p: Principal): string[] {
    const out = new Set<string>();
    if (p.kind === 'user') {
      out.add('user');
      if (p.user.admin) out.add('admin');
      for (const r of this.#index.get(`user\0${p.user.name}`) ?? []) out.add(r);
      for (const g of p.user.groups) for (const r of this.#index.get(`group\0${g}`) ?? []) out.add(r);
    } else {
      for (const r of this.#index.get(`service\0${p.name}`) ?? []) out.add(r);
    }
    return [...out].filter((r) => this.#roles.has(r) || r === 'user' || r === 'admin').sort();
  }

  /** Roles assigned to a group (its members hold them). */
  rolesOfGroup(group: string): string[] {
    return [...(this.#index.get(`group\0${group}`) ?? [])].filter((r) => this.#roles.has(r)).sort();
  }

  /** Roles of a user (`user`, `admin` when admin, and assigned ones). */
  rolesOfUser(user: Pick<UserRow, 'name' | 'admin' | 'groups'>): string[] {
    return this.rolesOf({ kind: 'user', user });
  }

  /** Whether the user is an admin: flagged so, or holding the admin role through an assignment. */
  isAdmin(user: Pick<UserRow, 'name' | 'admin' | 'groups'>): boolean {
    return user.admin || this.rolesOfUser(user).includes('admin');
  }

  /** The scopes a user holds by their roles (what their session and `inherit` tokens get). */
  scopesOfUser(user: Pick<UserRow, 'name' | 'admin' | 'groups'>): ScopeSet {
    const roles = this.rolesOfUser(user);
    const key = `u\0${user.name}\0${roles.join(',')}`;
    return this.#cached(key, () => {
      if (roles.includes('admin')) return expandRole(['*'], { name: user.name, admin: true });
      const set: ScopeSet = new Map();
      for (const r of roles) mergeInto(set, expandRole(r === 'user' ? ['self'] : this.#roles.get(r)?.scopes ?? [], { name: user.name, admin: false }));
      return set;
    });
  }

  /**
   * The scopes of a service. `!user` filters in its roles bind to "service:<name>", a name no
   * user can have, so a service never gets a user's own resources by accident of naming.
   */
  scopesOfService(name: string): ScopeSet {
    const roles = this.rolesOf({ kind: 'service', name });
    return this.#cached(`s\0${name}\0${roles.join(',')}`, () => {
      const owner = { name: `service:${name}`, admin: false };
      if (roles.includes('admin')) return expandRole(['*'], owner);
      const set: ScopeSet = new Map();
      for (const r of roles) mergeInto(set, expandRole(this.#roles.get(r)?.scopes ?? [], owner));
      return set;
    });
  }

  /** Every role with its holders, sorted by name. */
  models(): RoleModel[] {
    return [...this.#roles.keys()].sort().map((n) => this.model(n)!);
  }

  model(name: string): RoleModel | null {
    const role = this.#roles.get(name);
    if (!role) return null;
    const of = (kind: PrincipalKind) => [...new Set(this.#assignments.filter((a) => a.role === name && a.kind === kind).map((a) => a.principal))].sort();
    return {
      kind: 'role',
      name,
      description: role.description,
      scopes: role.scopes.includes('*') ? ownerRoleScopes({ admin: true }).sort() : [...role.scopes],
      source: role.source,
      users: of('user'),
      groups: of('group'),
      services: of('service'),
    };
  }

  /** Assignments of one role from one source (the API edits only its own). */
  assignmentsOf(role: string, source: RoleAssignmentRow['source']): RoleAssignmentRow[] {
    return this.#assignments.filter((a) => a.role === role && a.source === source);
  }

  #cached(key: string, make: () => ScopeSet): ScopeSet {
    let set = this.#cache.get(key);
    if (!set) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
      set = make();
      this.#cache.set(key, set);
    }
    return set;
  }
}
