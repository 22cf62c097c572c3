import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail } from '../errors/catalogue.js';

export type Params = Record<string, string>;
export type Handler<C> = (ctx: C, params: Params) => Promise<void> | void;

interface RouteEntry<C> {
  method: string;
  path: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler<C>;
}

/**
 * A small method + path router. Patterns use `:name` for one path segment and `*name` for the
 * rest of the path. Segments are URL-decoded; a decoded segment containing `/` or a NUL byte is
 * refused with 400 so that names can never smuggle path traversal.
 *
 * @example
 * const r = new Router<Ctx>();
 * r.add('GET', '/hub/api/users/:name', getUser);
 * const m = r.match('GET', '/hub/api/users/alice');
 */
export class Router<C> {
  #routes: RouteEntry<C>[] = [];

  add(method: string, path: string, handler: Handler<C>): this {
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) { keys.push(seg.slice(1)); return '([^/]+)'; }
        if (seg.startsWith('*')) { keys.push(seg.slice(1)); return '(.*)'; }
        return seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.#routes.push({ method, path, pattern: new RegExp(`^${source}$`), keys, handler });
    return this;
  }

  /** Every route as declared (method and pattern), in order: for tests that visit them all. */
  list(): Array<{ method: string; path: string }> {
    return this.#routes.map((r) => ({ method: r.method, path: r.path }));
  }

  /** Returns the handler and params, `null` if no path matches, or throws 405 if only the method is wrong. */
  match(method: string, path: string): { handler: Handler<C>; params: Params; path: string } | null {
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) continue;
      const params: Params = {};
      route.keys.forEach((key, i) => { params[key] = decodeSegment(m[i + 1] ?? '', key); });
      return { handler: route.handler, params, path: route.path };
    }
    if (pathMatched) throw fail('METHOD_NOT_ALLOWED');
    return null;
  }
}

function decodeSegment(raw: string, key: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw fail('BAD_REQUEST', `Malformed percent-encoding in ${key}.`);
  }
  if (value.includes('\0')) throw fail('BAD_REQUEST', `NUL byte in ${key}.`);
  return value;
}

export type { IncomingMessage, ServerResponse };
