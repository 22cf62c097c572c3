import net from 'node:net';
import tls from 'node:tls';
import { fail } from '../errors/catalogue.js';
import type { DaskPortJson } from './dask-api.js';
import { Http1Parser, type ResponseSink } from './http1-parser.js';
import { parseTarget, type Target } from './routes.js';

/**
 * A route as the route API shows it: the data it was added with, its target and `last_activity`.
 * Our proxy shows `upstream_token_sha256` (hex) in place of an `upstream_token` it was given.
 */
export interface ProxyRoute {
  target: string;
  /** ISO 8601 time of the last traffic through the route. */
  last_activity: string;
  [key: string]: unknown;
}

interface ApiAnswer {
  status: number;
  body: string;
}

export interface ProxyClientOptions {
  /** Give up on a call when its connection is silent this long (ms). Default 20 s. */
  timeoutMs?: number;
  /** Connections kept to the route API. Default 2. */
  maxConnections?: number;
}

/** The route API calls the client times for its observer: a route added, a route deleted, all routes read. */
export type RouteApiCall = 'add' | 'delete' | 'poll';

/** Calls queued on one connection before another one is opened. */
const PIPELINE_SPREAD = 8;

/**
 * The hub's client for a configurable-http-proxy route API: ours or the real CHP, the same calls.
 * Prefixes come back in CHP's canonical form (`/user/alice`, no trailing slash).
 *
 * A reconcile after a hub restart may re-add thousands of routes, so calls made together are
 * pipelined (RFC 9112 §9.3.2) on a couple of kept-alive connections and leave in one write;
 * every route API call is idempotent (a POST sets the route), so calls lost with a connection are
 * sent once more on a fresh one. Failures reject with UPSTREAM_UNAVAILABLE (detail for logs only).
 */
export class ProxyClient {
  readonly #target: Target;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #maxConnections: number;
  readonly #connections: ApiConnection[] = [];

  /**
   * @param apiUrl the route API's base, e.g. `http://127.0.0.1:8001`
   * @param token CONFIGPROXY_AUTH_TOKEN
   */
  constructor(apiUrl: string, token: string, opts: ProxyClientOptions = {}) {
    const target = parseTarget(apiUrl);
    if (target === null) throw fail('CONFIG_INVALID', `Not an http(s) URL: ${apiUrl}`);
    this.#target = target;
    this.#authorization = `token ${token}`;
    this.#timeoutMs = opts.timeoutMs ?? 20_000;
    this.#maxConnections = Math.max(1, opts.maxConnections ?? 2);
  }

  /**
   * Told how long each route add, route delete and read of all routes took, and whether it
   * succeeded (the hub's metrics: JupyterHub's proxy_add/delete/poll_duration_seconds).
   */
  observer: ((call: RouteApiCall, ok: boolean, seconds: number) => void) | undefined;

  async #timed<T>(call: RouteApiCall, fn: () => Promise<T>): Promise<T> {
    const observer = this.observer;
    if (!observer) return fn();
    const started = performance.now();
    let ok = false;
    try {
      const out = await fn();
      ok = true;
      return out;
    } finally {
      observer(call, ok, (performance.now() - started) / 1000);
    }
  }

  /** All routes, keyed by prefix; with `inactiveSince`, only routes idle since before then. */
  getRoutes(inactiveSince?: Date): Promise<Record<string, ProxyRoute>> {
    return this.#timed('poll', async () => {
      const query = inactiveSince === undefined ? '' : `?inactive_since=${encodeURIComponent(inactiveSince.toISOString())}`;
      const answer = await this.#call('GET', `/api/routes${query}`);
      if (answer.status !== 200) throw unexpected('GET /api/routes', answer);
      return JSON.parse(answer.body) as Record<string, ProxyRoute>;
    });
  }

  /** One route, or undefined when there is none at exactly `prefix`. */
  async getRoute(prefix: string): Promise<ProxyRoute | undefined> {
    const answer = await this.#call('GET', routePath(prefix));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw unexpected('GET route', answer);
    return JSON.parse(answer.body) as ProxyRoute;
  }

  /** Adds or replaces the route at `prefix`. `data` is kept with the route (e.g. user, server_name). */
  addRoute(prefix: string, target: string, data: Record<string, unknown> = {}): Promise<void> {
    return this.#timed('add', async () => {
      const answer = await this.#call('POST', routePath(prefix), JSON.stringify({ ...data, target }));
      if (answer.status !== 201) throw unexpected('POST route', answer);
    });
  }

  /** Removes the route at `prefix`; false when there was none (not an error, as JupyterHub treats it). */
  deleteRoute(prefix: string): Promise<boolean> {
    return this.#timed('delete', async () => {
      const answer = await this.#call('DELETE', routePath(prefix));
      if (answer.status === 204) return true;
      if (answer.status === 404) return false;
      throw unexpected('DELETE route', answer);
    });
  }

  /**
   * Drops the proxy's cached edge decisions (highrate's `DELETE /api/auth-cache`), so a revoked
   * credential stops working at once. A proxy without the extension (real CHP) answers 404: fine.
   */
  async flushAuthCache(): Promise<void> {
    const answer = await this.#call('DELETE', '/api/auth-cache');
    if (answer.status !== 204 && answer.status !== 404) throw unexpected('DELETE /api/auth-cache', answer);
  }

  /**
   * The Dask port (highrate's `GET /api/dask`): its bound port and routes. A proxy without the
   * extension (real CHP) has none: `{port: null}`.
   */
  async getDask(): Promise<DaskPortJson> {
    const answer = await this.#call('GET', '/api/dask');
    if (answer.status === 404) return { port: null, routes: {}, routed: 0, refused: 0 };
    if (answer.status !== 200) throw unexpected('GET /api/dask', answer);
    return JSON.parse(answer.body) as DaskPortJson;
  }

  /** Routes Dask connections with SNI `daskgateway-<cluster>` to `host:port` (replacing an earlier route). */
  async setDaskRoute(cluster: string, host: string, port: number): Promise<void> {
    const answer = await this.#call('POST', `/api/dask/routes/${encodeURIComponent(cluster)}`, JSON.stringify({ host, port }));
    if (answer.status !== 201) throw unexpected('POST /api/dask/routes', answer);
  }

  /** Removes a cluster's Dask route and cuts its connections; false when there was none. */
  async deleteDaskRoute(cluster: string): Promise<boolean> {
    const answer = await this.#call('DELETE', `/api/dask/routes/${encodeURIComponent(cluster)}`);
    if (answer.status === 204) return true;
    if (answer.status === 404) return false;
    throw unexpected('DELETE /api/dask/routes', answer);
  }

  /** Closes the connections; calls still waiting fail. */
  close(): void {
    for (const conn of this.#connections.splice(0)) conn.destroy();
  }

  #call(method: string, path: string, body?: string): Promise<ApiAnswer> {
    const target = this.#target;
    let head = `${method} ${target.pathPrefix}${path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\nAuthorization: ${this.#authorization}\r\nAccept: application/json\r\n`;
    head += body === undefined ? 'Content-Length: 0\r\n\r\n' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return new Promise<ApiAnswer>((resolve, reject) => {
      this.#dispatch({ method, payload: body === undefined ? head : head + body, retried: false, status: 0, chunks: [], resolve, reject });
    });
  }

  /** Puts a call on the least busy live connection, opening one when all are busy enough. */
  #dispatch(call: ApiCall): void {
    let best: ApiConnection | undefined;
    for (let i = this.#connections.length - 1; i >= 0; i--) {
      const conn = this.#connections[i]!;
      if (!conn.usable) {
        this.#connections.splice(i, 1);
        continue;
      }
      if (best === undefined || conn.inFlight < best.inFlight) best = conn;
    }
    if (best === undefined || (best.inFlight >= PIPELINE_SPREAD && this.#connections.length < this.#maxConnections)) {
      best = new ApiConnection(this.#target, this.#timeoutMs, (lost) => this.#redispatch(lost));
      this.#connections.push(best);
    }
    best.send(call);
  }

  /** Calls whose connection went away before they were answered: once more, then give up. */
  #redispatch(lost: ApiCall[]): void {
    for (const call of lost) {
      if (call.retried || call.timedOut) {
        call.reject(fail('UPSTREAM_UNAVAILABLE', 'The proxy is not reachable.', { detail: `${call.method} ${this.#target.href}: ${call.error ?? 'connection lost'}` }));
      } else {
        call.retried = true;
        call.status = 0;
        call.chunks = [];
        this.#dispatch(call);
      }
    }
  }
}

interface ApiCall {
  readonly method: string;
  readonly payload: string;
  retried: boolean;
  timedOut?: boolean;
  error?: string;
  status: number;
  chunks: Buffer[];
  resolve(a: ApiAnswer): void;
  reject(e: Error): void;
}

/**
 * One kept-alive connection carrying pipelined calls; responses come back in order. Writes made
 * in the same tick are corked into one.
 */
class ApiConnection implements ResponseSink {
  readonly #socket: net.Socket;
  readonly #parser = new Http1Parser('response');
  readonly #queue: ApiCall[] = [];
  readonly #onLost: (calls: ApiCall[]) => void;
  #closed = false;
  #corked = false;

  constructor(target: Target, timeoutMs: number, onLost: (calls: ApiCall[]) => void) {
    this.#onLost = onLost;
    this.#socket = target.secure
      ? tls.connect({ host: target.hostname, port: target.port, servername: net.isIP(target.hostname) ? undefined : target.hostname })
      : net.connect(target.port, target.hostname);
    this.#socket.setNoDelay(true);
    this.#socket.setTimeout(timeoutMs);
    const conn = this;
    this.#socket.on('data', function onApiAnswer(data: Buffer) {
      try {
        conn.#parser.execute(data);
      } catch (err) {
        conn.#lose((err as Error).message);
      }
    });
    this.#socket.on('timeout', function onApiSilence() {
      if (conn.#queue.length === 0) {
        conn.destroy();
        return;
      }
      for (const call of conn.#queue) call.timedOut = true;
      conn.#lose(`no answer within ${timeoutMs} ms`);
    });
    this.#socket.on('end', function onApiEnd() {
      try {
        conn.#parser.end();
      } catch {
        // reported below, with the calls still waiting
      }
      conn.#lose('connection closed');
    });
    this.#socket.on('error', function onApiError(err) {
      conn.#lose(err.message);
    });
    this.#socket.on('close', function onApiClose() {
      conn.#lose('connection closed');
    });
  }

  get usable(): boolean {
    return !this.#closed;
  }

  get inFlight(): number {
    return this.#queue.length;
  }

  send(call: ApiCall): void {
    this.#queue.push(call);
    if (this.#queue.length === 1) this.#parser.begin(this, call.method);
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(call.payload, 'utf8');
  }

  destroy(): void {
    this.#lose('client closed', false);
  }

  onHead(status: number): void {
    this.#queue[0]!.status = status;
  }

  onBody(chunk: Buffer | null, last: boolean): void {
    const call = this.#queue[0]!;
    if (chunk !== null) call.chunks.push(chunk);
    if (!last) return;
    this.#queue.shift();
    if (!this.#parser.keepAlive) {
      // The proxy closes after this answer: what was pipelined behind it goes elsewhere.
      this.#closed = true;
      this.#socket.end();
    } else if (this.#queue.length > 0) {
      this.#parser.begin(this, this.#queue[0]!.method);
    }
    call.resolve({ status: call.status, body: Buffer.concat(call.chunks).toString('utf8') });
    if (this.#closed) this.#lose('connection closed by the proxy');
  }

  #lose(reason: string, retry = true): void {
    this.#closed = true;
    this.#parser.stop();
    const lost = this.#queue.splice(0);
    this.#socket.destroy();
    if (lost.length === 0) return;
    for (const call of lost) call.error = reason;
    if (retry) this.#onLost(lost);
    else for (const call of lost) call.reject(fail('UPSTREAM_UNAVAILABLE', 'The proxy client was closed.'));
  }
}

/** `/api/routes/<prefix>` with each segment percent-encoded (both proxies decode the path). */
function routePath(prefix: string): string {
  const clean = prefix.startsWith('/') ? prefix.slice(1) : prefix;
  return '/api/routes/' + clean.split('/').map(encodeURIComponent).join('/');
}

function unexpected(what: string, answer: ApiAnswer) {
  const hint = answer.status === 403 ? ' (wrong CONFIGPROXY_AUTH_TOKEN?)' : '';
  return fail('UPSTREAM_UNAVAILABLE', 'The proxy refused a route change.', {
    detail: `${what} answered HTTP ${answer.status}${hint}: ${answer.body.slice(0, 200)}`,
  });
}
