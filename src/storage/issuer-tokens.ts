/**
 * Storage tokens from an external issuer (INDIGO-IAM, `storage.tokenSource: oidc`): storage
 * elements of a WLCG site trust the IAM, not this hub's key, so the hub asks the IAM for them.
 *
 * At each login the hub exchanges the user's fresh access token (RFC 8693 token exchange, as IAM
 * does it: `subject_token`, `scope` with the storage scopes and `offline_access`, `audience`) for a
 * refresh token, or (with `storage.oidcExchange: false`) keeps the login's own refresh token. The
 * refresh token is sealed (src/auth/seal.ts) and kept in the store, so a restarted hub and every
 * pod's token file go on. A storage token is then a refresh grant (RFC 6749 §6) asking for the
 * policy's scopes (a subset of what was granted, so the IAM's own scope policies have the last
 * word) and the audience. The IAM's client secret and the refresh token never leave the hub: pods
 * get only the short-lived access token in their token file.
 */
import { decodeJwt } from 'jose';
import { GrantRefused, type OidcLogin } from '../auth/oidc-login.js';
import { seal, sealKey, unseal } from '../auth/seal.js';
import type { Config } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { Store } from '../store/types.js';
import { scopeString, storageGrants, type StorageAction, type StorageGrant, type StoragePolicyConfig } from './policy.js';
import type { StorageToken } from './tokens.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface IssuerTokenOptions {
  /** The issuer URL (auth.oidc.issuer): the store's key for the refresh token. */
  issuer: string;
  oidc: Pick<OidcLogin, 'grant' | 'supportsGrant'>;
  store: Pick<Store, 'putUpstreamToken' | 'getUpstreamToken' | 'deleteUpstreamToken'>;
  /** Sealing key (src/auth/seal.ts). */
  key: Buffer;
  policy: StoragePolicyConfig;
  audience: string;
  /** true: token exchange at login; false: keep the login's refresh token. */
  exchange: boolean;
}

/** The tokens a login brought (src/auth/oidc-login.ts). Secrets. */
export interface LoginTokens { accessToken: string; refreshToken?: string }

/** `storage.read:/a storage.modify:/b` → grants (other scopes ignored). */
export function grantsOfScope(scope: string): StorageGrant[] {
  const out: StorageGrant[] = [];
  for (const s of scope.split(' ')) {
    const m = /^storage\.(read|create|modify):(\/.*)$/.exec(s);
    if (m) out.push({ action: m[1] as StorageAction, path: m[2]! });
  }
  return out;
}

export class IssuerStorageTokens {
  readonly #o: IssuerTokenOptions;
  /** One refresh at a time per user: a rotating issuer invalidates the refresh token a second caller holds. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(opts: IssuerTokenOptions) {
    this.#o = opts;
  }

  #context(user: string): string {
    return `${user}\n${this.#o.issuer}`;
  }

  #scope(user: string, groups: readonly string[]): string {
    return scopeString(storageGrants(this.#o.policy, user, groups));
  }

  #serial<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(user) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#queues.set(user, tail);
    void tail.then(() => { if (this.#queues.get(user) === tail) this.#queues.delete(user); });
    return next;
  }

  async #keep(user: string, refreshToken: string, scope: string): Promise<void> {
    await this.#o.store.putUpstreamToken(user, this.#o.issuer, seal(this.#o.key, refreshToken, this.#context(user)), scope);
  }

  /**
   * After a login: gets and keeps a refresh token that storage tokens can be refreshed from.
   * Never fails the login: without it the user's pods get no storage token (and say why).
   */
  afterLogin(user: string, groups: readonly string[], tokens: LoginTokens): Promise<void> {
    return this.#serial(user, async () => {
      if (!this.#o.exchange) {
        if (tokens.refreshToken) return this.#keep(user, tokens.refreshToken, '');
        log.warn('the login gave no refresh token, so no storage tokens for this user: add offline_access to auth.oidc.scopes', { user, issuer: this.#o.issuer });
        return;
      }
      const scope = `${this.#scope(user, groups)} offline_access`;
      try {
        const r = await this.#o.oidc.grant(TOKEN_EXCHANGE_GRANT, {
          subject_token: tokens.accessToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE,
          scope, audience: this.#o.audience,
        });
        if (r.refreshToken) return await this.#keep(user, r.refreshToken, r.scope ?? '');
        log.warn('the token exchange gave no refresh token (is offline_access allowed for the hub\'s client at the issuer?), so no storage tokens for this user', { user, issuer: this.#o.issuer });
      } catch (err) {
        log.warn('token exchange for storage tokens failed; this user\'s pods get none until the next login', {
          user, issuer: this.#o.issuer, error: err instanceof GrantRefused ? err.message : String(err),
          hint: err instanceof GrantRefused && err.error === 'unauthorized_client' ? 'enable the token exchange grant for the hub\'s client at the issuer' : undefined,
        });
      }
    });
  }

  /** A fresh storage token for `user` from the issuer, by refresh grant. */
  issue(user: string, groups: readonly string[]): Promise<StorageToken> {
    return this.#serial(user, () => this.#issue(user, groups));
  }

  async #issue(user: string, groups: readonly string[]): Promise<StorageToken> {
    const issuer = this.#o.issuer;
    const row = await this.#o.store.getUpstreamToken(user, issuer);
    const refreshToken = row ? unseal(this.#o.key, row.sealed, this.#context(user)) : null;
    if (!refreshToken) {
      if (row) await this.#o.store.deleteUpstreamToken(user, issuer);
      throw fail('STORAGE_TOKEN_UNAVAILABLE', `No storage token for ${user}: the hub holds no refresh token from ${issuer} for you. Log out and log in again.`);
    }
    const scope = this.#scope(user, groups);
    let r;
    try {
      r = await this.#o.oidc.grant('refresh_token', { refresh_token: refreshToken, scope, audience: this.#o.audience });
    } catch (err) {
      if (!(err instanceof GrantRefused)) throw err;
      if (err.error === 'invalid_grant') {
        await this.#o.store.deleteUpstreamToken(user, issuer);
        throw fail('STORAGE_TOKEN_UNAVAILABLE', `No storage token for ${user}: ${issuer} no longer accepts the hub's refresh token for you (expired or revoked). Log out and log in again.`, { detail: err.message });
      }
      if (err.error === 'invalid_scope') {
        throw fail('STORAGE_TOKEN_UNAVAILABLE', `No storage token for ${user}: ${issuer} does not grant the storage scopes asked for (${scope}). The administrator must align storage.* with the issuer's scope policies.`, { detail: err.message });
      }
      throw fail('UPSTREAM_UNAVAILABLE', `The identity provider ${issuer} refused to refresh the storage token (${err.error}). Try again in a moment.`, { detail: err.message });
    }
    if (r.refreshToken && r.refreshToken !== refreshToken) await this.#keep(user, r.refreshToken, row!.scope);
    let claims: Record<string, unknown> = {};
    try {
      claims = decodeJwt(r.accessToken);
    } catch { /* an opaque token: the issuer's answer is all we know */ }
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : now;
    const expiresAt = typeof claims.exp === 'number' ? claims.exp : now + (r.expiresIn ?? 0);
    if (expiresAt <= now) throw fail('UPSTREAM_UNAVAILABLE', `The identity provider ${issuer} gave a storage token without a lifetime.`);
    const granted = typeof claims.scope === 'string' ? claims.scope : r.scope ?? scope;
    return { token: r.accessToken, jti: typeof claims.jti === 'string' ? claims.jti : '', scope: granted, grants: grantsOfScope(granted), issuedAt, expiresAt };
  }
}

/**
 * What StorageService needs for storage.tokenSource oidc (undefined for hub): the token source
 * (its `afterLogin` goes to the login flow), the issuer, and its keys for the embedded XRootD.
 * `sealSecret`: 64 hex digits the hub keeps (`<data>/secrets/upstream-seal-key`).
 */
export function storageTokensFromIssuer(config: Config, store: IssuerTokenOptions['store'], sealSecret: () => string, oidc: Pick<OidcLogin, 'grant' | 'supportsGrant' | 'jwks'>):
  { tokens: IssuerStorageTokens; issuer: string; jwks: OidcLogin['jwks'] } | undefined {
  if (config.storage.tokenSource !== 'oidc' || !config.auth.oidc) return undefined;
  const issuer = config.auth.oidc.issuer;
  const tokens = new IssuerStorageTokens({
    issuer, oidc, store, key: sealKey(sealSecret()),
    policy: config.storage, audience: config.storage.audience, exchange: config.storage.oidcExchange,
  });
  return { tokens, issuer, jwks: () => oidc.jwks() };
}
