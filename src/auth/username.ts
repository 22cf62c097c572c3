/**
 * Usernames as highrate uses them: in URLs (`/user/<name>/`), route keys, paths on disk and labels.
 *
 * The rule: 1–64 characters from `a-z 0-9 - _ .`, starting with a letter or digit.
 *
 * Normalising only lowercases ASCII. Nothing is trimmed, cut or transliterated: an identity
 * provider's name either maps one-to-one onto a valid username or it is refused. Two rules follow
 * from that:
 * - non-ASCII input is refused before lowercasing, because Unicode case mapping turns look-alikes
 *   into ASCII (KELVIN SIGN U+212A lowercases to `k`, U+0130 to `i` + a combining dot), and a
 *   look-alike must never become someone else's account;
 * - an email address (`Alice@INFN.it`) is refused rather than cut to its local part, since two
 *   domains can share a local part.
 */

const VALID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ASCII_ONLY = /^[\x20-\x7e]*$/;

/** True when `s` is already a normalised, valid username. */
export function isValidUsername(s: unknown): s is string {
  return typeof s === 'string' && VALID.test(s);
}

/**
 * The username for a raw name from an identity provider or an admin, or null when it cannot be
 * used as given (see the module comment for why nothing is mangled).
 */
export function normaliseUsername(raw: string): string | null {
  if (typeof raw !== 'string' || !ASCII_ONLY.test(raw)) return null;
  const lowered = raw.toLowerCase();
  return VALID.test(lowered) ? lowered : null;
}

/**
 * A short, user-safe reason why `raw` is not a usable username (for messages), or null when it is.
 */
export function usernameProblem(raw: unknown): string | null {
  if (typeof raw !== 'string') return 'it is not a text value';
  if (raw.length === 0) return 'it is empty';
  if (!ASCII_ONLY.test(raw)) return 'it contains characters outside plain ASCII (letters with accents or look-alike letters from other scripts are not accepted)';
  const lowered = raw.toLowerCase();
  if (lowered.length > 64) return 'it is longer than 64 characters';
  if (!/^[a-z0-9]/.test(lowered)) return 'it must start with a letter or a digit';
  const bad = [...new Set(lowered.replace(/[a-z0-9._-]/g, ''))].map(function quote(c) { return c === ' ' ? 'space' : `"${c}"`; });
  if (bad.length) return `it contains ${bad.join(', ')}; only letters, digits, "-", "_" and "." are allowed`;
  return null;
}
