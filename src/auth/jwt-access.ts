/**
 * API access with the external issuer's JWT access tokens (INDIGO-IAM issues RFC 9068-style JWTs
 * with `wlcg.groups`). What real deployments got wrong, and this does not: groups read from a token
 * decoded without checking its signature. Here every token is verified before anything in it is
 * believed:
 * - signature against the issuer's JWKS (found by discovery on the configured issuer; asymmetric
 *   algorithms only, so `alg: none` and HS256-with-the-public-key tricks fail);
 * - `iss` exactly the configured issuer, `exp`/`nbf` (30 s leeway), `aud` one of the configured
 *   audiences (a token minted for another service is refused), and no `nonce` (an ID token is
 *   not an access token);
 * - then the login policy on its groups claim (allowed groups, blocked users, admin groups).
 * The user is the one linked to (iss, sub) at their last browser login, else the username claim.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { groupsFromClaim } from './oidc-login.js';
import { normaliseUsername } from './username.js';
import type { Config } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { Store, UserRow } from '../store/types.js';
import { decideLogin } from './login-policy.js';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Three base64url segments, the header starting `{"` (eyJ): a compact JWS. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A failed discovery is retried after this long, not on every request. */
const DISCOVERY_RETRY_MS = 10_000;

export interface JwtAccessOptions {
  issuer: string;
  audiences: readonly string[];
  usernameClaim: string;
  groupsClaim: string;
  allowHttp: boolean;
}

/** Why a token was refused (logged and audited, never shown in detail to the caller). */
export type JwtRefusal = 'malformed' | 'signature' | 'audience' | 'issuer' | 'expired' | 'claims' | 'id-token' | 'unknown-user' | 'not-in-allowed-group' | 'blocked';

export interface JwtVerified {
  user: UserRow;
  groups: string[];
}

/** Verifies JWT access tokens of one issuer and maps them to users (creating or syncing them as a login does). */
export class JwtAccessTokens {
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  #discovery: Promise<void> | undefined;
  #failedAt = 0;

  constructor(
    private readonly opts: JwtAccessOptions,
    private readonly deps: { config: Pick<Config, 'auth'>; store: Store; onRefused?: (reason: JwtRefusal, sub: string | undefined, detail: string) => void },
  ) {}

  /** A compact JWS; only such values are tried here (hub tokens are hex). */
  looksLikeJwt(value: string): boolean {
    return value.length < 16_384 && JWT_SHAPE.test(value);
  }

  /** The user the token acts as, or null when it is refused. Throws UPSTREAM_UNAVAILABLE when the issuer's keys cannot be fetched. */
  async verify(token: string): Promise<JwtVerified | null> {
    const jwks = await this.#keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: this.opts.issuer,
        audience: [...this.opts.audiences],
        algorithms: ALGORITHMS,
        clockTolerance: 30,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout || (err instanceof TypeError && err.message === 'fetch failed')) {
        throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider could not be asked for its keys; try again shortly.', { detail: String(err) });
      }
      return this.#refuse(classify(err), undefined, err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err));
    }
    const sub = String(payload.sub);
    if ('nonce' in payload) return this.#refuse('id-token', sub, 'an ID token was presented as an access token');
    const { store, config } = this.deps;
    let name = await store.userOfIdentity(this.opts.issuer, sub);
    const linked = name !== null;
    if (name === null) {
      const raw = payload[this.opts.usernameClaim];
      name = typeof raw === 'string' ? normaliseUsername(raw) : null;
    }
    if (name === null) return this.#refuse('unknown-user', sub, 'no user is linked to this subject and the token has no usable username claim');
    const existing = await store.getUser(name);
    const hasGroups = this.opts.groupsClaim in payload;
    if (!hasGroups && !existing) return this.#refuse('unknown-user', sub, `new user ${name} without a ${this.opts.groupsClaim} claim`);
    const claimed = hasGroups ? groupsFromClaim(payload[this.opts.groupsClaim]) : existing!.groups;
    const decision = await decideLogin(config, store, name, claimed, existing);
    if (!decision.allowed) return this.#refuse(decision.reason, sub, decision.message);
    const same = existing && existing.admin === decision.admin && existing.groups.join('\0') === decision.groups.join('\0');
    const user = same ? existing : await store.upsertUser(name, { admin: decision.admin, groups: decision.groups });
    if (!linked) await store.linkIdentity(this.opts.issuer, sub, name);
    return { user, groups: decision.groups };
  }

  #refuse(reason: JwtRefusal, sub: string | undefined, detail: string): null {
    log.info('jwt access token refused', { reason, sub, detail });
    this.deps.onRefused?.(reason, sub, detail);
    return null;
  }

  /** The issuer's JWKS, from its discovery document (fetched once; a failure is retried after 10 s). */
  async #keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.#jwks) return this.#jwks;
    if (!this.#discovery && Date.now() - this.#failedAt < DISCOVERY_RETRY_MS) {
      throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider is not reachable right now; try again shortly.');
    }
    this.#discovery ??= this.#discover().finally(() => { this.#discovery = undefined; });
    await this.#discovery;
    return this.#jwks!;
  }

  async #discover(): Promise<void> {
    const url = `${this.opts.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // The document must name exactly the configured issuer (OIDC Discovery §4.3).
      if (doc.issuer !== this.opts.issuer) throw new Error(`discovery names issuer ${JSON.stringify(doc.issuer)}`);
      if (typeof doc.jwks_uri !== 'string') throw new Error('no jwks_uri');
      const jwksUri = new URL(doc.jwks_uri);
      if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && this.opts.allowHttp)) throw new Error('jwks_uri is not https');
      this.#jwks = createRemoteJWKSet(jwksUri, { timeoutDuration: 10_000, cooldownDuration: 30_000 });
    } catch (err) {
      this.#failedAt = Date.now();
      log.warn('jwt access tokens: discovery failed', { issuer: this.opts.issuer, error: String(err) });
      throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider is not reachable right now; try again shortly.', { detail: String(err) });
    }
  }
}

function classify(err: unknown): JwtRefusal {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'audience';
    if (err.claim === 'iss') return 'issuer';
    return 'claims';
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JOSEAlgNotAllowed) return 'signature';
  return 'malformed';
}
