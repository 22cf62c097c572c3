/**
 * Route prefixes and request paths, normalised the way configurable-http-proxy (CHP) 5 does,
 * so that a hub written against CHP sees the same keys from us.
 */

/**
 * CHP's canonical form of a route prefix: it starts with `/` and does not end with `/` (except the
 * root itself). `user/alice/` → `/user/alice`, `` → `/`. Inner slashes are kept as they are.
 */
export function cleanPrefix(prefix: string): string {
  let p = prefix.length === 0 || prefix.charCodeAt(0) !== 47 ? '/' + prefix : prefix;
  if (p.length > 1 && p.charCodeAt(p.length - 1) === 47) p = p.slice(0, -1);
  return p;
}

/**
 * The path a request is routed by. Like CHP it is the WHATWG-URL pathname (dot segments
 * resolved, `\` read as `/`), then percent-decoded. The common case (a plain absolute path)
 * skips the URL parser. Returns `null` when the path cannot be decoded (malformed `%`).
 */
export function routingPath(url: string): string | null {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path.charCodeAt(0) === 47 && !path.includes('%') && !path.includes('/.') && !path.includes('\\') && !path.includes('#')) {
    return path;
  }
  try {
    return decodeURIComponent(new URL(url, 'http://proxy.invalid').pathname);
  } catch {
    return null;
  }
}
