/** The cookie the hub sets at login; the proxy reads it and never forwards it to a user server. */
export const SESSION_COOKIE = 'highrate-session';

/** A credential presented by a client, as the hub's authorize endpoint expects it. */
export interface Credential {
  readonly kind: 'cookie' | 'token';
  readonly value: string;
}

const AUTH_SCHEME = /^\s*(?:token|bearer)\s+(\S+)\s*$/i;

/**
 * Finds the credential of a request, in JupyterHub's order: an `Authorization: token|bearer`
 * header, then (WebSocket upgrades only, as JupyterHub) a `?token=` query parameter, then the
 * session cookie. Reads `rawHeaders` directly so the hot path builds no header object.
 */
export function findCredential(rawHeaders: string[], url: string, upgrade: boolean): Credential | null {
  let cookie: string | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      const m = AUTH_SCHEME.exec(rawHeaders[i + 1]!);
      if (m !== null) return { kind: 'token', value: m[1]! };
    } else if (cookie === null && name.length === 6 && name.toLowerCase() === 'cookie') {
      cookie = sessionCookieValue(rawHeaders[i + 1]!);
    }
  }
  if (upgrade) {
    const token = queryToken(url);
    if (token !== null) return { kind: 'token', value: token };
  }
  return cookie === null ? null : { kind: 'cookie', value: cookie };
}

/** The value of the session cookie in one Cookie header, or null. */
export function sessionCookieValue(header: string): string | null {
  let at = 0;
  for (;;) {
    const found = header.indexOf(SESSION_COOKIE, at);
    if (found === -1) return null;
    // The name must start the header or follow a ';' (RFC 6265 §4.2.1), and be followed by '='.
    let before = found - 1;
    while (before >= 0 && (header.charCodeAt(before) === 32 || header.charCodeAt(before) === 9)) before--;
    let eq = found + SESSION_COOKIE.length;
    while (eq < header.length && header.charCodeAt(eq) === 32) eq++;
    if ((before < 0 || header.charCodeAt(before) === 59) && header.charCodeAt(eq) === 61) {
      const end = header.indexOf(';', eq + 1);
      const value = (end === -1 ? header.slice(eq + 1) : header.slice(eq + 1, end)).trim();
      return value === '' ? null : value;
    }
    at = found + SESSION_COOKIE.length;
  }
}

/** A Cookie header without the session cookie; null when nothing else is left. */
export function withoutSessionCookie(header: string): string | null {
  if (!header.includes(SESSION_COOKIE)) return header;
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim();
    if (name !== SESSION_COOKIE) kept.push(trimmed);
  }
  return kept.length === 0 ? null : kept.join('; ');
}

/** The first non-empty `token` query parameter of a URL, decoded; null if none. */
export function queryToken(url: string): string | null {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('token=', q)) return null;
  const token = new URLSearchParams(url.slice(q + 1)).get('token');
  return token === null || token === '' ? null : token;
}

/** The URL with every `token` query parameter removed (other parameters keep their encoding). */
export function withoutQueryToken(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const kept = url
    .slice(q + 1)
    .split('&')
    .filter(function isNotToken(pair) {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // a malformed name is not `token`; keep it as it came
      }
      return name !== 'token';
    });
  return kept.length === 0 ? url.slice(0, q) : url.slice(0, q + 1) + kept.join('&');
}
