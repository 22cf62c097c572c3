/**
 * The cross-origin check for edge-authenticated requests that carry the session cookie.
 *
 * Why the proxy does it: it swaps the session cookie for the server's upstream token, so the
 * notebook sees a token-authenticated request and skips its own Origin and XSRF checks (Jupyter
 * exempts token authentication from both). A page on another port of the same host, or on a
 * sibling subdomain, is "same-site": SameSite=Lax cookies are sent with its WebSocket handshakes
 * and POSTs. The Origin header tells such pages apart. The rule is jupyter_server's
 * `check_origin` (the Origin's host[:port] must be the request's Host), plus Fetch Metadata
 * (`Sec-Fetch-Site`) for browser requests that carry no Origin.
 */

/**
 * Methods that never change state (RFC 9110 §9.2.1) skip the check, so that links and
 * navigations from other sites keep working; WebSocket handshakes are GETs and are always checked.
 */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * An origin (`http://host[:port]`) in the canonical form `allowOrigins` are compared in:
 * scheme, host and port, lower-case, the port always written. Throws a TypeError naming the
 * problem when `url` is not an http(s) origin (a path, query, fragment or user name is refused:
 * an origin has none).
 */
export function canonicalOrigin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`not an http(s) origin: ${url}`);
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '' || (u.pathname !== '/' && u.pathname !== '')) {
    throw new TypeError(`an origin is scheme://host[:port] only: ${url}`);
  }
  return `${u.protocol}//${u.hostname}:${u.port || defaultPort(u.protocol)}`;
}

/**
 * Decides whether a state-changing request (or WebSocket handshake) authenticated by the session
 * cookie comes from this site. Returns null when it may pass, else the message to refuse it with.
 * - With `Origin`: it must not be `null`, and its host and port must be the request's `Host`
 *   (compared case-insensitively with default ports filled in; the scheme alone may differ, as
 *   behind a TLS terminator) or it must be one of `allowed` (canonical origins, see above).
 * - Without `Origin`: refused when `Sec-Fetch-Site` says another site sent it (anything but
 *   `same-origin` or `none`); allowed otherwise, as non-browser clients send neither.
 * Reads `rawHeaders` directly, as the credential lookup does.
 */
export function originRefusal(rawHeaders: string[], allowed: ReadonlySet<string>): string | null {
  let origin: string | undefined;
  let origins = 0;
  let host: string | undefined;
  let fetchSite: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    switch (name.length) {
      case 4:
        if (host === undefined && name.toLowerCase() === 'host') host = rawHeaders[i + 1]!;
        break;
      case 6:
        if (name.toLowerCase() === 'origin') {
          origins++;
          origin ??= rawHeaders[i + 1]!;
        }
        break;
      case 14:
        if (fetchSite === undefined && name.toLowerCase() === 'sec-fetch-site') fetchSite = rawHeaders[i + 1]!;
        break;
    }
  }
  if (origin === undefined) {
    if (fetchSite === undefined) return null;
    const site = fetchSite.trim().toLowerCase();
    if (site === 'same-origin' || site === 'none') return null;
    return `Cross-site request refused: it came from another site's page (Sec-Fetch-Site: ${shown(site)}). ${ADVICE}`;
  }
  // A browser sends one Origin; two cannot both be believed.
  if (origins > 1) return `Cross-origin request refused: it has more than one Origin header. ${ADVICE}`;
  const value = origin.trim().toLowerCase();
  const here = host === undefined ? 'no Host header' : shown(host);
  if (value === 'null') {
    return `Cross-origin request refused: Origin null (a sandboxed page, a file or a redirect from another site) is not this site (${here}). ${ADVICE}`;
  }
  const m = ORIGIN.exec(value);
  if (m !== null) {
    const scheme = m[1]!;
    const hostPort = withPort(m[2]!, scheme);
    if (hostPort !== null) {
      if (allowed.size > 0 && allowed.has(`${scheme}://${hostPort}`)) return null;
      if (host !== undefined && withPort(host.trim().toLowerCase(), scheme) === hostPort) return null;
    }
  }
  return `Cross-origin request refused: Origin ${shown(origin)} is not this site (${here}). ${ADVICE}`;
}

const ADVICE = "Open the notebook from the platform's own address, or use a token.";

/** `http(s)://authority` and nothing else: an Origin has no path, and no user name. */
const ORIGIN = /^(https?):\/\/([^/?#@\s]+)$/;

function defaultPort(protocol: string): string {
  return protocol === 'https:' || protocol === 'https' ? '443' : '80';
}

/**
 * `host:port` with the scheme's default port filled in (a Host header carries no scheme, so the
 * Origin's is used for both sides: `Host: h` equals `http://h` and `https://h`, `Host: h:80`
 * equals `http://h`); IPv6 literals keep their brackets. Null when the port is not a number.
 */
function withPort(authority: string, scheme: string): string | null {
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || colon < authority.lastIndexOf(']')) return `${authority}:${defaultPort(scheme)}`;
  const port = authority.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port)) return null;
  return `${authority.slice(0, colon)}:${Number(port)}`;
}

/** A header value as quoted in a message: short, whatever the client sent. */
function shown(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
