import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';

/** Where the embedded IdP keeps its secrets inside its data directory. */
export const JWKS_FILE = 'jwks.json';
export const COOKIE_KEYS_FILE = 'cookie-keys.json';

/**
 * Writes a secret file readable by its owner only. The file is created 0600 under a temporary name
 * and renamed, so a crash never leaves a half-written key that would fail the next start.
 */
export function writeSecretFile(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Reads a secret file, tightening its mode to 0600 if someone loosened it. */
function readSecretFile(file: string): string {
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) {
    log.warn('idp secret file was readable by others; mode set to 0600', { file });
    fs.chmodSync(file, 0o600);
  }
  return fs.readFileSync(file, 'utf8');
}

/**
 * The provider's signing keys (private JWKS). Generated once (RS256, the algorithm every OIDC client
 * supports by default) and kept, so ID tokens issued before a restart still verify after it.
 * A damaged file stops the start instead of being replaced: a silent new key would invalidate every
 * token already handed out.
 */
export async function loadOrCreateJwks(dataDir: string): Promise<{ keys: JWK[] }> {
  const file = path.join(dataDir, JWKS_FILE);
  if (fs.existsSync(file)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readSecretFile(file));
    } catch (cause) {
      throw fail('CONFIG_INVALID', `The identity provider's key file ${file} is not valid JSON; restore it from a backup or delete it to issue new keys (existing logins end).`, { cause });
    }
    const keys = (parsed as { keys?: unknown }).keys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every(function isPrivateJwk(k) { return typeof k === 'object' && k !== null && typeof (k as JWK).d === 'string'; })) {
      throw fail('CONFIG_INVALID', `The identity provider's key file ${file} holds no private keys; restore it from a backup or delete it to issue new keys (existing logins end).`);
    }
    return { keys: keys as JWK[] };
  }
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const jwks = { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] };
  writeSecretFile(file, JSON.stringify(jwks, null, 2) + '\n');
  log.info('idp signing key created', { file, kid });
  return jwks;
}

/**
 * Keys that sign the provider's cookies (Koa keygrip). Kept across restarts so that interaction and
 * session cookies set before a restart stay valid. The first key signs; later ones still verify.
 */
export function loadOrCreateCookieKeys(dataDir: string): string[] {
  const file = path.join(dataDir, COOKIE_KEYS_FILE);
  if (fs.existsSync(file)) {
    let keys: unknown;
    try {
      keys = JSON.parse(readSecretFile(file));
    } catch (cause) {
      throw fail('CONFIG_INVALID', `The identity provider's cookie key file ${file} is not valid JSON; delete it to create new keys (open logins end).`, { cause });
    }
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every(function isKey(k) { return typeof k === 'string' && k.length >= 32; })) {
      throw fail('CONFIG_INVALID', `The identity provider's cookie key file ${file} is malformed; delete it to create new keys (open logins end).`);
    }
    return keys as string[];
  }
  const keys = [randomBytes(32).toString('base64url')];
  writeSecretFile(file, JSON.stringify(keys) + '\n');
  return keys;
}
