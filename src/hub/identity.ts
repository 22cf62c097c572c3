import type { IncomingMessage } from 'node:http';
import { allows, expandScopes, ownerRoleScopes, type Filter, type ScopeSet, type Target } from '../auth/scopes.js';
import { hashSecret, readCookie, tokenFromAuthorization } from '../auth/tokens.js';
import type { SessionRow, Store, TokenRow, UserRow } from '../store/types.js';

export const SESSION_COOKIE = 'highrate-session';
export const XSRF_COOKIE = '_xsrf';

/** Who is asking, and what they may do: the owner's role scopes intersected with the token's. */
export class Identity {
  readonly ownerScopes: ScopeSet;
  readonly tokenScopes: ScopeSet | null;

  constructor(
    readonly user: UserRow,
    readonly via: 'token' | 'cookie',
    readonly token: TokenRow | null,
    readonly session: SessionRow | null,
  ) {
    this.ownerScopes = expandScopes(ownerRoleScopes(user), user);
    this.tokenScopes = token ? expandScopes(token.scopes.length ? token.scopes : ['inherit'], user, this.ownerScopes) : null;
  }

  get name(): string { return this.user.name; }

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
 * Resolves a credential to an Identity, or null when it is unknown, expired, or its user is gone or
 * blocked. Token activity is written at most every 30 s per token to spare the store.
 */
export async function resolveCredential(store: Store, cred: Credential, now = new Date()): Promise<Identity | null> {
  const hash = hashSecret(cred.value);
  if (cred.kind === 'token') {
    const token = await store.getTokenByHash(hash);
    if (!token || (token.expiresAt && token.expiresAt <= now.toISOString())) return null;
    const user = await store.getUser(token.user);
    if (!user || user.blocked) return null;
    if (!token.lastActivity || now.getTime() - Date.parse(token.lastActivity) > TOUCH_EVERY_MS) {
      await store.touchToken(token.id, now.toISOString());
    }
    return new Identity(user, 'token', token, null);
  }
  const session = await store.getSession(hash);
  if (!session || session.expiresAt <= now.toISOString()) return null;
  const user = await store.getUser(session.user);
  if (!user || user.blocked) return null;
  return new Identity(user, 'cookie', null, session);
}
