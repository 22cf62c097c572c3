import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { fail } from '../errors/catalogue.js';
import { loadOrCreateJwks } from '../idp/keys.js';
import { scopeString, storageGrants, type StorageGrant, type StoragePolicyConfig } from './policy.js';

/** WLCG Common JWT Profile version these tokens follow (claim `wlcg.ver`). */
export const WLCG_VERSION = '1.0';
/** The WLCG profile's audience meaning "any storage element" (accepted by every WLCG SE). */
export const WLCG_ANY_AUDIENCE = 'https://wlcg.cern.ch/jwt/v1/any';
/** Clock skew tolerated by verifiers: `nbf` is set this far in the past. */
const NBF_SKEW_S = 5;

/** The key that signs storage tokens: the embedded IdP's own RS256 key, so its JWKS verifies them. */
export interface StorageSigner {
  issuer: string;
  kid: string;
  alg: string;
  key: CryptoKey;
  /** The public JWKS (no private parts): what storage elements are provisioned with. */
  publicJwks: { keys: JWK[] };
}

/** The public half of a private JWK (RSA or EC): only the members a verifier needs. */
export function publicJwk(jwk: JWK): JWK {
  const pub: JWK = { kty: jwk.kty, kid: jwk.kid, alg: jwk.alg, use: 'sig' };
  if (jwk.kty === 'RSA') Object.assign(pub, { n: jwk.n, e: jwk.e });
  else Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  return pub;
}

/**
 * Loads the IdP's signing key from `<dataDir>/idp/jwks.json` (creating it as the IdP would when it
 * does not exist yet, e.g. with an external OIDC issuer for logins) and binds it to `issuer`, the
 * embedded IdP's issuer URL (`<publicUrl>/oidc`).
 */
export async function loadStorageSigner(dataDir: string, issuer: string): Promise<StorageSigner> {
  const idpDir = join(dataDir, 'idp');
  mkdirSync(idpDir, { recursive: true, mode: 0o700 });
  const jwks = await loadOrCreateJwks(idpDir);
  const jwk = jwks.keys[0]!;
  if (!jwk.kid || !jwk.alg) throw fail('CONFIG_INVALID', 'The identity provider\'s signing key has no kid or alg; delete idp/jwks.json to issue a new one.');
  const key = await importJWK(jwk, jwk.alg) as CryptoKey;
  return { issuer, kid: jwk.kid, alg: jwk.alg, key, publicJwks: { keys: jwks.keys.map(publicJwk) } };
}

export interface StorageTokenRequest {
  user: string;
  groups: readonly string[];
  policy: StoragePolicyConfig;
  audience: string | string[];
  /** Seconds. */
  lifetime: number;
  /** For tests: the issue time (seconds since the epoch). */
  now?: number;
}

export interface StorageToken {
  /** The compact JWT. A secret: never log it, never put it in a URL. */
  token: string;
  jti: string;
  scope: string;
  grants: StorageGrant[];
  issuedAt: number;
  expiresAt: number;
}

/**
 * Signs a WLCG-profile access token for `user`: `wlcg.ver`, `sub` (the username), `iss`, `aud`,
 * `scope` (storage.read/create/modify by policy), `iat`, `nbf` (a few seconds back, for skew),
 * `exp` (`lifetime` later) and a fresh `jti`; header `typ: JWT` with the key's `kid`, so XRootD's
 * SciTokens plugin finds the key in its cache.
 */
export async function signStorageToken(signer: StorageSigner, req: StorageTokenRequest): Promise<StorageToken> {
  if (!Number.isInteger(req.lifetime) || req.lifetime < 1) throw fail('BAD_REQUEST', 'A storage token needs a lifetime of at least one second.');
  const now = req.now ?? Math.floor(Date.now() / 1000);
  const grants = storageGrants(req.policy, req.user, req.groups);
  const scope = scopeString(grants);
  const jti = randomUUID();
  const token = await new SignJWT({ 'wlcg.ver': WLCG_VERSION, scope, jti })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
    .setIssuer(signer.issuer)
    .setSubject(req.user)
    .setAudience(req.audience)
    .setIssuedAt(now)
    .setNotBefore(now - NBF_SKEW_S)
    .setExpirationTime(now + req.lifetime)
    .sign(signer.key);
  return { token, jti, scope, grants, issuedAt: now, expiresAt: now + req.lifetime };
}
