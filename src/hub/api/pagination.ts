import type { IncomingMessage } from 'node:http';
import { fail } from '../../errors/catalogue.js';
import { header, type RequestContext } from '../request.js';

/** The media type by which a client asks for `{items, _pagination}` (JupyterHub 2.0+). */
export const PAGINATION_MEDIA = 'application/jupyterhub-pagination+json';
/** JupyterHub's `api_page_default_limit` and `api_page_max_limit`. */
export const PAGE_DEFAULT_LIMIT = 50;
export const PAGE_MAX_LIMIT = 200;

export interface Page {
  offset: number;
  limit: number;
}

/** Whether `Accept` lists the pagination media type as one of its comma-separated entries. */
export function acceptsPagination(req: IncomingMessage): boolean {
  const accept = header(req, 'accept') ?? '';
  return accept.split(',').some((entry) => entry.trim().toLowerCase() === PAGINATION_MEDIA);
}

/**
 * `offset` and `limit` as JupyterHub reads them: the limit defaults to 50 for clients that accept
 * pagination and to the maximum (200) for those that do not (they would silently miss the rest),
 * and is clamped to [1, 200]. A value that is not an integer is 400.
 */
export function pageOf(ctx: RequestContext): Page {
  const read = (name: string, def: number): number => {
    const raw = ctx.url.searchParams.get(name);
    if (raw === null) return def;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < 0) throw fail('BAD_REQUEST', 'Invalid argument type, offset and limit must be integers ≥ 0.');
    return n;
  };
  const offset = read('offset', 0);
  const limit = Math.min(Math.max(read('limit', acceptsPagination(ctx.req) ? PAGE_DEFAULT_LIMIT : PAGE_MAX_LIMIT), 1), PAGE_MAX_LIMIT);
  return { offset: Math.min(offset, Number.MAX_SAFE_INTEGER), limit };
}

/** A DNS name, IPv4 address or bracketed IPv6 address, with an optional port: nothing else is echoed. */
const HOST = /^(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The scheme and host the client addressed, as JupyterHub builds `next.url` (tornado's
 * `full_url()`: the request's Host, and the scheme the proxy reports in X-Forwarded-Proto). A
 * client that reached the hub by another name than the public URL's (the hub's own port, an
 * internal service name) is sent on at that same name. Without a usable Host, the public URL.
 */
export function requestOrigin(ctx: RequestContext): string {
  const pub = new URL(ctx.hub.publicUrl);
  const host = header(ctx.req, 'host');
  if (!host || !HOST.test(host) || host.toLowerCase() === pub.host.toLowerCase()) return pub.origin;
  // The first entry is what the client used; proxies in between append theirs.
  const forwarded = header(ctx.req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const scheme = forwarded === 'https' || forwarded === 'http' ? forwarded : 'http';
  return `${scheme}://${host}`;
}

/**
 * JupyterHub's paginated answer. `next.url` is the full URL of the next page: this request's own,
 * every other query parameter kept, with `offset` and `limit` replaced (jupyterhub-idle-culler
 * follows it verbatim).
 */
export function paginated<T>(ctx: RequestContext, items: T, page: Page, total: number) {
  const nextOffset = page.offset + page.limit;
  let next: { offset: number; limit: number; url: string } | null = null;
  if (nextOffset < total) {
    const query = new URLSearchParams(ctx.url.search);
    query.set('offset', String(nextOffset));
    query.set('limit', String(page.limit));
    next = { offset: nextOffset, limit: page.limit, url: `${requestOrigin(ctx)}${ctx.url.pathname}?${query}` };
  }
  return { items, _pagination: { offset: page.offset, limit: page.limit, total, next } };
}
