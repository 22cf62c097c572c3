/**
 * Where a start comes back to: the link that led to a stopped server (`?next=` on the home and
 * start pages), kept only when it is a path inside that server, so `next` can never send the
 * browser to another site or to a hub page that acts on a GET.
 */

/** The URL of a server as the hub builds it: `/user/alice/` or `/user/alice/gpu/`. */
export function serverUrl(user: string, server: string): string {
  return `/user/${encodeURIComponent(user)}/${server === '' ? '' : `${encodeURIComponent(server)}/`}`;
}

/** `next` as a same-origin path (query and fragment kept) when it lies under `prefix`, else null. */
export function linkWithin(next: string | null, prefix: string): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return null;
  let url: URL;
  try {
    url = new URL(next, window.location.origin);
  } catch {
    return null;
  }
  // Parsed, not compared as text: "/user/alice/../../hub/logout" is /hub/logout.
  if (url.origin !== window.location.origin) return null;
  const bare = prefix.replace(/\/$/, '');
  if (url.pathname !== bare && !url.pathname.startsWith(prefix)) return null;
  return url.pathname + url.search + url.hash;
}

/** A portal start page that brings the browser to `next` once the server is ready. */
export function withNext(page: string, next: string | null): string {
  return next === null ? page : `${page}?next=${encodeURIComponent(next)}`;
}
