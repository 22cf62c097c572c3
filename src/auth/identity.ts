import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { allows, expandScopes, ownerRoleScopes, type Filter, type ScopeSet, type Target } from './scopes.js';
import { hashSecret, readCookie, tokenFromAuthorization } from './tokens.js';
import { log } from '../log.js';
import type { SessionRow, Store, TokenRow, UserRow } from '../store/types.js';

export const SESSION_COOKIE = 'highrate-session';
export const XSRF_COOKIE = '_xsrf';

/** How an Identity came to be, beyond its credential: roles, services, JWT access tokens. */
export interface IdentityOptions {
  /** The owner's scopes from their roles (RoleBook); default: admin → everything, else `self`. */
  ownerScopes?: ScopeSet;
  /** A user, or a service (then `user.name` is "service:<name>", never a valid username). */
  kind?: 'user' | 'service';
  /** The service's name, for services. */
  service?: string;
  /** Scopes a token without a TokenRow is limited to (service and JWT access tokens); empty: inherit. */
  tokenScopes?: readonly string[];
  /** The credential was the issuer's JWT access token. */
  jwt?: boolean;
}

/** Who is asking, and what they may do: the owner's role scopes intersected with the token's. */
export class Identity {
  readonly ownerScopes: ScopeSet;
  readonly tokenScopes: ScopeSet | null;
  readonly kind: 'user' | 'service';
  readonly service: string | undefined;
  readonly jwt: boolean;

  constructor(
    readonly user: UserRow,
    readonly via: 'token' | 'cookie',
    readonly token: TokenRow | null,
    readonly session: SessionRow | null,
    opts: IdentityOptions = {},
  ) {
    this.kind = opts.kind ?? 'user';
    this.service = opts.service;
    this.jwt = opts.jwt ?? false;
    this.ownerScopes = opts.ownerScopes ?? expandScopes(ownerRoleScopes(user), user);
    const scopes = token ? token.scopes : opts.tokenScopes;
    this.tokenScopes = token || opts.tokenScopes ? expandScopes(scopes?.length ? scopes : ['inherit'], user, this.ownerScopes) : null;
  }

  get name(): string { return this.user.name; }

  /** Holds `scope` under any filter (for listings that then filter row by row, as JupyterHub's). */
  holdsAny(scope: string): boolean {
    const own = this.ownerScopes.get(scope);
    if (!own || own.size === 0) return false;
    if (this.tokenScopes === null) return true;
    const tok = this.tokenScopes.get(scope);
    return !!tok && tok.size > 0;
  }

  /** Held by the owner's role and (for tokens) by the token too. */
  can(scope: string, target: Target = {}): boolean {
    return allows(this.ownerScopes, scope, target) && (this.tokenScopes === null || allows(this.tokenScopes, scope, target));
  }

  /** The effective scopes (owner's role ∩ token's), for `GET /hub/api/user`. */
  effectiveScopes(): ScopeSet {
    if (!this.tokenScopes) return this.ownerScopes;
    const out: ScopeSet = new Map();
    for (const [scope, filters] of this.tokenScopes) {
      const owner = this.ownerScopes.get(scope);
      if (!owner) continue;
      const kept = new Set<Filter>();
      for (const f of filters) {
        if (owner.has('*')) kept.add(f);
        else if (f === '*') owner.forEach((o) => kept.add(o));
        else if (owner.has(f)) kept.add(f);
        // a server filter is held where its user's filter is (JupyterHub's intersection keeps it)
        else if (f.startsWith('server=') && owner.has(`user=${f.slice(7).split('/')[0]}` as Filter)) kept.add(f);
      }
      if (kept.size) out.set(scope, kept);
    }
    return out;
  }
}

export type Credential = { kind: 'token' | 'cookie'; value: string };

/** The credential a request carries: an Authorization token first, else the session cookie. */
export function credentialOf(req: IncomingMessage): Credential | null {
  const token = tokenFromAuthorization(req.headers.authorization);
  if (token) return { kind: 'token', value: token };
  const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (cookie) return { kind: 'cookie', value: cookie };
  return null;
}

const TOUCH_EVERY_MS = 30_000;

/**
 * What resolution needs beyond the store (implemented by the hub's Rbac): role-based scopes, and
 * the credentials that are not user tokens or sessions.
 */
export interface CredentialResolver {
  /** The user's scopes by their roles. */
  ownerScopes(user: UserRow): ScopeSet;
  /** A token that is no user's: a service token (by hash), or null. */
  serviceToken(hash: string, now: Date): Promise<Identity | null>;
  /** Whether the value is shaped like a JWT and JWT access tokens are accepted. */
  acceptsJwt(value: string): boolean;
  /** A JWT access token from the external issuer, verified, or null. */
  jwtToken(value: string, now: Date): Promise<Identity | null>;
}

/**
 * Resolves a credential to an Identity, or null when it is unknown, expired, or its user is gone or
 * blocked. Activity of the token and of its user (JupyterHub's `_record_activity`) is written at
 * most every 30 s each (JupyterHub's `activity_resolution`) to spare the store.
 */
export async function resolveCredential(store: Store, cred: Credential, now = new Date(), ext?: CredentialResolver): Promise<Identity | null> {
  if (cred.kind === 'token' && ext?.acceptsJwt(cred.value)) return ext.jwtToken(cred.value, now);
  const hash = hashSecret(cred.value);
  if (cred.kind === 'token') {
    const token = await store.getTokenByHash(hash);
    if (!token) return ext ? ext.serviceToken(hash, now) : null;
    if (token.expiresAt && token.expiresAt <= now.toISOString()) return null;
    const user = await store.getUser(token.user);
    if (!user || user.blocked) return null;
    if (due(token.lastActivity, now)) await bestEffort(store.touchToken(token.id, now.toISOString()), 'token', token.id);
    const active = isServerToken(token) ? user : await recordActivity(store, user, now);
    return new Identity(active, 'token', token, null, { ownerScopes: ext?.ownerScopes(active) });
  }
  const session = await store.getSession(hash);
  if (!session || session.expiresAt <= now.toISOString()) return null;
  const user = await store.getUser(session.user);
  if (!user || user.blocked) return null;
  const active = await recordActivity(store, user, now);
  return new Identity(active, 'cookie', null, session, { ownerScopes: ext?.ownerScopes(active) });
}

/** Whether activity last recorded at `last` is older than the resolution (never when it is ahead). */
function due(last: string | null, now: Date): boolean {
  return !last || now.getTime() - Date.parse(last) > TOUCH_EVERY_MS;
}

/**
 * A notebook server's own token (its note is JupyterHub's "Server at …"): what the server asks
 * with it is the server's activity, which it reports itself, not its owner's.
 */
function isServerToken(token: TokenRow): boolean {
  return token.note.startsWith('Server at ');
}

/** The user's activity, recorded as JupyterHub records it for each request with their token or cookie. */
async function recordActivity(store: Store, user: UserRow, now: Date): Promise<UserRow> {
  if (!due(user.lastActivity, now)) return user;
  const at = now.toISOString();
  return (await bestEffort(store.touchUser(user.name, at), 'user', user.name)) ? { ...user, lastActivity: at } : user;
}

/**
 * Activity is a record, not the request: a store that cannot write now (a full disk, a database
 * restarting) must not turn a read into an error. The failure is logged; the next request tries again.
 */
async function bestEffort(write: Promise<unknown>, what: string, id: string): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    log.debug('activity not recorded', { [what]: id, error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

/**
 * JupyterHub's `session_id` of a browser session: stable for the session's life, not a secret
 * (a digest of the stored hash, never the cookie value), shared by the OAuth tokens issued in it.
 */
export function sessionIdOf(session: Pick<SessionRow, 'hash'>): string {
  return createHash('sha256').update(`session-id:${session.hash}`).digest('hex').slice(0, 32);
}
