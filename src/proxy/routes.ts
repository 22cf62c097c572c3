import { cleanPrefix } from './prefix.js';
import { upstreamTokenDigest } from './token-digest.js';
import { PrefixTrie } from './trie.js';

/** Where a route forwards to, parsed once when the route is added (never per request). */
export interface Target {
  /** The target as given, e.g. `http://127.0.0.1:9001`. */
  readonly href: string;
  readonly secure: boolean;
  /** Host name for connecting (IPv6 without brackets). */
  readonly hostname: string;
  readonly port: number;
  /** Target path without its trailing slash, prepended to the request URL (CHP's prependPath); '' for `/`. */
  readonly pathPrefix: string;
  /** `host:port` as a Host header value, for clients that sent none. */
  readonly hostHeader: string;
  /** Connections are pooled per scheme+host+port (or per socket path). */
  readonly poolKey: string;
  /** An `http+unix://<percent-encoded path>/…` target (as CHP): the Unix socket to connect to. */
  readonly socketPath?: string;
}

/**
 * One entry of the routing table. `data` is what the route API was given (including `target`),
 * as CHP stores it, with one exception: a credential is never part of it. `upstream_token` is
 * kept only in `upstreamToken`, for forwarding; `data` holds `upstream_token_sha256` instead (its
 * lower-case hex SHA-256, `upstreamTokenDigest`, which the hub compares with its own), so whoever
 * reads the routes (anyone with the route API token) can check which token a route has without
 * being able to use it. The edge-auth fields are lifted out of the data once, here.
 */
export interface Route {
  readonly prefix: string;
  readonly target: Target;
  readonly data: Readonly<Record<string, unknown>>;
  /** Epoch ms of the last traffic; written on every chunk, so it is a plain number field. */
  lastActivity: number;
  /** Set when the route belongs to a user's server: requests need a credential (edge auth). */
  readonly user: string | undefined;
  readonly serverName: string;
  /** Sent upstream as `Authorization: token …` on edge-authenticated requests; never shown. */
  readonly upstreamToken: string | undefined;
}

/**
 * The JSON a route is shown as by the route API: its data plus `last_activity`, as CHP
 * (`upstream_token_sha256` in place of `upstream_token`, see Route).
 */
export type RouteJson = Record<string, unknown> & { target: string; last_activity: string };

/**
 * Parses a route target; only absolute http(s) URLs, and CHP's `http+unix://` (or `unix+http://`)
 * with the socket's path percent-encoded as the host, are accepted (CHP would fail later, per
 * request, with a 500). Returns null when the target is unusable.
 */
export function parseTarget(href: string): Target | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.protocol === 'http+unix:' || url.protocol === 'unix+http:') return unixTarget(href, url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.hostname === '') return null;
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  return { href, secure, hostname, port, pathPrefix: path, hostHeader: url.host, poolKey: `${url.protocol}//${hostname}:${port}` };
}

function unixTarget(href: string, url: URL): Target | null {
  let socketPath: string;
  try {
    socketPath = decodeURIComponent(url.host);
  } catch {
    return null;
  }
  if (socketPath === '') return null;
  const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  // Host for clients that sent none: as node's http client does for a socketPath request.
  return { href, secure: false, hostname: 'localhost', port: 0, pathPrefix: path, hostHeader: 'localhost', poolKey: `unix:${socketPath}`, socketPath };
}

/** The routing table: exact lookup by prefix for the API, longest-prefix match for traffic. */
export class RouteTable {
  readonly #byPrefix = new Map<string, Route>();
  readonly #trie = new PrefixTrie<Route>();
  /** Targets are interned: thousands of routes often point at a handful of targets. */
  readonly #targets = new Map<string, Target>();

  get size(): number {
    return this.#byPrefix.size;
  }

  /**
   * Adds or replaces the route at `prefix` (normalised as CHP). `data` must hold a string
   * `target`; throws a TypeError naming the problem otherwise. A string `upstream_token` is
   * kept apart and shown as `upstream_token_sha256` (see Route); `data` itself is not changed.
   * Returns the stored route.
   */
  add(prefix: string, data: Record<string, unknown>, now = Date.now()): Route {
    const key = cleanPrefix(prefix);
    const href = data.target;
    if (typeof href !== 'string') throw new TypeError("Must specify 'target' as string");
    let target = this.#targets.get(href);
    if (target === undefined) {
      const parsed = parseTarget(href);
      if (parsed === null) throw new TypeError("'target' must be an absolute http://, https:// or http+unix:// URL");
      target = parsed;
      if (this.#targets.size > 4096) this.#targets.clear();
      this.#targets.set(href, target);
    }
    const token = data.upstream_token;
    // The token goes into a header line verbatim: only visible ASCII, so it can never split the head.
    if (token !== undefined && token !== null && (typeof token !== 'string' || !/^[\x21-\x7e]*$/.test(token))) {
      throw new TypeError("'upstream_token' must be a string of visible ASCII characters");
    }
    // Object rest copies without `delete` (which would turn the copy into a slow dictionary
    // object), and only when something must go.
    let stored: Record<string, unknown> = data;
    if (typeof token === 'string') {
      const { last_activity: _activity, upstream_token: _token, ...shown } = data;
      shown.upstream_token_sha256 = upstreamTokenDigest(token);
      stored = shown;
    } else if ('last_activity' in data) {
      const { last_activity: _activity, ...shown } = data;
      stored = shown;
    }
    const user = typeof data.user === 'string' && data.user !== '' ? data.user : undefined;
    const route: Route = {
      prefix: key,
      target,
      data: stored,
      lastActivity: now,
      user,
      serverName: typeof data.server_name === 'string' ? data.server_name : '',
      upstreamToken: typeof token === 'string' && token !== '' ? token : undefined,
    };
    this.#byPrefix.set(key, route);
    this.#trie.set(key, route);
    return route;
  }

  /** Removes the route at `prefix`; false when there was none. */
  delete(prefix: string): boolean {
    const key = cleanPrefix(prefix);
    if (!this.#byPrefix.delete(key)) return false;
    this.#trie.delete(key);
    return true;
  }

  /** The route stored at exactly `prefix` (normalised). */
  get(prefix: string): Route | undefined {
    return this.#byPrefix.get(cleanPrefix(prefix));
  }

  /** The route for a request path: the longest matching prefix. */
  match(path: string): Route | undefined {
    return this.#trie.match(path);
  }

  /** All routes, in insertion order. */
  values(): IterableIterator<Route> {
    return this.#byPrefix.values();
  }
}

/** The API view of a route: `{...data, last_activity}` with an ISO 8601 timestamp (no credential in it). */
export function routeJson(route: Route): RouteJson {
  return { ...route.data, last_activity: new Date(route.lastActivity).toISOString() } as RouteJson;
}
