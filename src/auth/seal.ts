/**
 * Sealing secrets kept at rest (refresh tokens from an external issuer): AES-256-GCM under a key
 * the hub keeps in `<data>/secrets/` (src/hub/secrets.ts), bound by the associated data to what
 * the secret belongs to, so a sealed value copied to another row does not open. A database copy
 * alone (a backup, a replica, a leaked dump) gives out nothing usable.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** A 32-byte key from a hex secret (src/hub/secrets.ts `loadSecret`, 64 hex digits). */
export function sealKey(hex: string): Buffer {
  const key = Buffer.from(hex, 'hex');
  if (key.length !== 32) throw new Error('a sealing key has 32 bytes (64 hex digits)');
  return key;
}

/** `v1.<iv>.<ciphertext+tag>`, base64url. `context`: what the secret belongs to (e.g. user and issuer). */
export function seal(key: Buffer, plain: string, context: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** The plain text, or null when `sealed` is not ours: another key, another context, altered. */
export function unseal(key: Buffer, sealed: string, context: string): string | null {
  const [v, ivText, bodyText] = sealed.split('.');
  if (v !== VERSION || !ivText || !bodyText) return null;
  try {
    const body = Buffer.from(bodyText, 'base64url');
    if (body.length < 16) return null;
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}
