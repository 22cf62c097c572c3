import type { ScopeSet } from './scopes.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { Store, UserRow } from '../store/types.js';
import { Identity, type CredentialResolver } from './identity.js';
import type { JwtAccessTokens } from './jwt-access.js';
import { RoleBook } from './roles/role-book.js';

const TOUCH_EVERY_MS = 30_000;

/**
 * The hub's authorization state: roles (RoleBook), the services declared in the config, and the
 * external issuer's JWT access tokens when enabled. It is what `resolveCredential` consults to
 * turn a credential into an Identity with its scopes.
 */
export class Rbac implements CredentialResolver {
  readonly roles: RoleBook;
  readonly services: ReadonlyMap<string, ServiceConfig>;

  constructor(private readonly deps: { config: Config; store: Store; jwt?: JwtAccessTokens }) {
    this.roles = new RoleBook(deps.store);
    this.services = new Map(deps.config.services.map((s) => [s.name, s]));
  }

  /** Writes config roles to the store and loads them; call once at start. */
  async start(): Promise<void> {
    await this.roles.syncConfig(this.deps.config);
    this.roles.startRefresh(60);
  }

  stop(): void {
    this.roles.stop();
  }

  ownerScopes(user: UserRow): ScopeSet {
    return this.roles.scopesOfUser(user);
  }

  /** A user model's `admin` and `roles` as the API shows them. */
  userRoles(user: Pick<UserRow, 'name' | 'admin' | 'groups'>): { admin: boolean; roles: string[] } {
    const roles = this.roles.rolesOfUser(user);
    return { admin: roles.includes('admin'), roles };
  }

  /** A service's token; the service must still be declared in the config. */
  async serviceToken(hash: string, now: Date): Promise<Identity | null> {
    const token = await this.deps.store.getServiceTokenByHash(hash);
    if (!token || (token.expiresAt && token.expiresAt <= now.toISOString())) return null;
    const svc = this.services.get(token.service);
    if (!svc) return null;
    if (!token.lastActivity || now.getTime() - Date.parse(token.lastActivity) > TOUCH_EVERY_MS) {
      await this.deps.store.touchServiceToken(token.id, now.toISOString());
    }
    return serviceIdentity(svc.name, this.roles.scopesOfService(svc.name), token.scopes);
  }

  acceptsJwt(value: string): boolean {
    return this.deps.jwt?.looksLikeJwt(value) ?? false;
  }

  async jwtToken(value: string): Promise<Identity | null> {
    const verified = await this.deps.jwt?.verify(value);
    if (!verified) return null;
    const scopes = this.deps.config.auth.oidc?.accessTokens.scopes ?? [];
    return new Identity(verified.user, 'token', null, null, { ownerScopes: this.ownerScopes(verified.user), tokenScopes: scopes, jwt: true });
  }
}

/** The Identity of a service: its "user" is named "service:<name>", which no user can be. */
export function serviceIdentity(name: string, ownerScopes: ScopeSet, tokenScopes: readonly string[]): Identity {
  const row: UserRow = { name: `service:${name}`, admin: false, blocked: false, created: '', lastActivity: null, groups: [] };
  return new Identity(row, 'token', null, null, { ownerScopes, kind: 'service', service: name, tokenScopes });
}
