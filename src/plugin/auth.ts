import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { fail } from '../errors/catalogue.js';

/**
 * Bearer-token authentication for `highrate plugin serve`, doing what interLink deployments put
 * oauth2-proxy in front for (`--skip-jwt-bearer-tokens`, `--oidc-issuer-url`,
 * `--oidc-extra-audience`, `--oidc-groups-claim`, `--allowed-group`): the token is a JWT signed
 * by a key of the issuer's JWKS, with the issuer, an accepted audience, a valid lifetime and,
 * when groups are configured, one of the allowed groups in its groups claim.
 *
 * No or bad token → 401 UNAUTHENTICATED; a valid token without an allowed group → 403 FORBIDDEN.
 */
export interface BearerAuthConfig {
  /** The issuer URL (`iss`), e.g. https://iam.example.org/. Its discovery document names the JWKS. */
  issuer: string;
  /** Accepted `aud` values (interLink's documented ones: "interlink" for EGI, "users" for IAM). */
  audience: string | string[];
  /** Claim listing groups; a literal key ("wlcg.groups" is one key at IAM). Default "groups". */
  groupsClaim?: string;
  /** Groups allowed in; empty: any valid token. IAM writes groups as "/cms", both forms match. */
  allowedGroups?: string[];
  /** JWKS URL, skipping discovery. */
  jwksUri?: string;
  /** Clock skew tolerated for exp/nbf, seconds (default 30). */
  clockTolerance?: number;
}

/** What a request authenticated as (for logs: never the token). */
export interface BearerPrincipal { subject: string; groups: string[] }

export type BearerAuthenticator = (req: IncomingMessage) => Promise<BearerPrincipal>;

/** The bearer token of a request, or null. Only the Bearer scheme counts (RFC 6750 §2.1). */
export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

function groupsOf(payload: JWTPayload, claim: string): string[] {
  const raw = payload[claim];
  if (Array.isArray(raw)) return raw.filter((g): g is string => typeof g === 'string');
  if (typeof raw === 'string') return raw.split(/[\s,]+/).filter(Boolean);
  return [];
}

/** "/cms" and "cms" name the same group (IAM prefixes a slash, other issuers don't). */
function sameGroup(a: string, b: string): boolean {
  return a.replace(/^\//, '') === b.replace(/^\//, '');
}

/** Builds the authenticator; the JWKS location is discovered on first use and then cached. */
export function createBearerAuth(cfg: BearerAuthConfig): BearerAuthenticator {
  const audiences = Array.isArray(cfg.audience) ? cfg.audience : [cfg.audience];
  if (audiences.length === 0 || audiences.some((a) => !a)) throw fail('CONFIG_INVALID', 'Plugin authentication needs at least one audience.');
  const claim = cfg.groupsClaim ?? 'groups';
  const allowed = cfg.allowedGroups ?? [];
  let keys: Promise<JWTVerifyGetKey> | undefined;

  async function discover(): Promise<JWTVerifyGetKey> {
    if (cfg.jwksUri) return createRemoteJWKSet(new URL(cfg.jwksUri));
    const url = cfg.issuer.replace(/\/$/, '') + '/.well-known/openid-configuration';
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`discovery at ${url} answered ${res.status}`);
    const doc = (await res.json()) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error(`discovery at ${url} names no jwks_uri`);
    return createRemoteJWKSet(new URL(doc.jwks_uri));
  }

  return async function authenticateBearer(req) {
    const token = bearerToken(req);
    if (!token) throw fail('UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer <token>).');
    if (!keys) keys = discover().catch((err: unknown) => { keys = undefined; throw err; });
    let getKey: JWTVerifyGetKey;
    try {
      getKey = await keys;
    } catch (err) {
      throw fail('UPSTREAM_UNAVAILABLE', 'The token issuer could not be reached to verify the token.', { detail: String(err) });
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { issuer: cfg.issuer, audience: audiences, clockTolerance: cfg.clockTolerance ?? 30 }));
    } catch (err) {
      if (err instanceof joseErrors.JWKSTimeout) throw fail('UPSTREAM_UNAVAILABLE', 'The token issuer\'s keys could not be fetched.', { detail: String(err) });
      throw fail('UNAUTHENTICATED', `The bearer token is not valid: ${reason(err)}.`, { detail: String(err) });
    }
    const groups = groupsOf(payload, claim);
    if (allowed.length > 0 && !groups.some((g) => allowed.some((a) => sameGroup(a, g)))) {
      throw fail('FORBIDDEN', `The token's subject is in none of the allowed groups (claim "${claim}").`);
    }
    return { subject: String(payload.sub ?? ''), groups };
  };
}

/** A short reason safe to show: which check failed, never the token. */
function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim "${err.claim}" check failed`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'signed by an unknown key';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'malformed';
  return 'verification failed';
}
