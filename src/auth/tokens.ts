import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new secret: 32 random bytes, hex. Used for API tokens, session cookies and upstream tokens. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

/** Tokens and session cookies are stored only as this hash. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A token's public id, shaped like JupyterHub's ("a12"), random so ids leak nothing. */
export function newTokenId(): string {
  return 'a' + randomBytes(6).readUIntBE(0, 6).toString();
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Parses `Authorization: token X` / `Bearer X` (case-insensitive scheme, as JupyterHub). */
export function tokenFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(header);
  return m ? m[2]! : null;
}

/** Reads one cookie from a Cookie header without allocating a map of them all. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null; // malformed percent-encoding: no valid credential, not a server error
      }
    }
  }
  return null;
}
