import type { IncomingMessage, ServerResponse } from 'node:http';
import { log, redactUrl } from '../log.js';
import type { UpstreamHead } from './headers.js';
import type { ErrorPages } from './error-pages.js';
import { sendProblem } from './responses.js';
import type { Route } from './routes.js';
import { isHubRoute, sendHubStarting } from './starting.js';
import type { UpstreamConnection, UpstreamExchange, UpstreamPool } from './upstream-pool.js';

/** What every forwarded request shares: made once per proxy, so an exchange holds one reference. */
export interface ForwardContext {
  readonly pool: UpstreamPool;
  /** CHP's prependPath: the target's own path goes before the request's (default true). */
  readonly prependPath: boolean;
  /** CHP's --proxy-timeout: a target silent this long (ms) gets the client a 503; 0 = never. */
  readonly proxyTimeoutMs: number;
  /** 503s (unreachable target) go through the configured error pages. */
  readonly errors: ErrorPages;
  /** CHP's --auto-rewrite / --protocol-rewrite; null when neither is given (nothing is looked at). */
  readonly locationRewrite: LocationRewrite | null;
  /**
   * --default-target, whose `/` route is the hub's until the hub adds its own (starting.ts): a hub
   * route whose target cannot be reached answers 503 HUB_STARTING with Retry-After.
   */
  readonly defaultTarget?: string | undefined;
}

export interface LocationRewrite {
  readonly autoRewrite: boolean;
  readonly protocol: string | undefined;
}

/**
 * http-proxy's redirect rewriting, as CHP uses it: in a 201/301/302/307/308 whose Location points
 * at the target's own host:port, the host becomes the client's Host (autoRewrite) and/or the scheme
 * `protocol`. Relative and foreign Locations are left alone. `headers` is node's flat raw array.
 */
function rewriteLocation(rw: LocationRewrite, status: number, headers: string[], targetHost: string, clientHost: string | undefined): void {
  if (status !== 201 && status !== 301 && status !== 302 && status !== 307 && status !== 308) return;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length !== 8 || headers[i]!.toLowerCase() !== 'location') continue;
    let url: URL;
    try {
      url = new URL(headers[i + 1]!);
    } catch {
      return;
    }
    if (url.host !== targetHost) return;
    if (rw.autoRewrite) url.host = clientHost ?? '';
    if (rw.protocol !== undefined) url.protocol = rw.protocol;
    headers[i + 1] = url.toString();
    return;
  }
}

const kExchange = Symbol('highrate.exchange');
type TrackedResponse = ServerResponse & { [kExchange]?: HttpExchange };

/**
 * Forwards one HTTP request to the route's target over a pooled keep-alive connection and
 * streams the answer back, both directions with backpressure. A target that cannot be reached
 * is a 503 (JSON, or HTML for browsers).
 *
 * `last_activity` follows CHP's intent: request body chunks and response chunks of successful
 * (< 300) responses stamp the route; error floods (404/503…) do not make a server look active.
 * @param path the URL path+query to request on the target (below the target's own path)
 */
export function forwardHttp(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: Route, head: UpstreamHead, path: string): void {
  const exchange = new HttpExchange(ctx, req, res, route, head, path);
  (res as TrackedResponse)[kExchange] = exchange;
  res.on('close', onClientClose);
  exchange.start();
}

/** The client went away before its response was complete: the upstream connection cannot be reused. */
function onClientClose(this: TrackedResponse): void {
  if (!this.writableFinished) this[kExchange]?.abort();
}

/** One proxied request: one object, its methods on the prototype, so nothing else is allocated per request. */
class HttpExchange implements UpstreamExchange {
  readonly #ctx: ForwardContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #route: Route;
  readonly #head: UpstreamHead;
  readonly #path: string;
  #conn: UpstreamConnection | null = null;
  #retried = false;
  #active = false;
  #status = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(ctx: ForwardContext, req: IncomingMessage, res: ServerResponse, route: Route, head: UpstreamHead, path: string) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#route = route;
    this.#head = head;
    this.#path = path;
  }

  start(): void {
    const target = this.#route.target;
    const ctx = this.#ctx;
    const conn = ctx.pool.acquire(target);
    this.#conn = conn;
    this.#active = true;
    const method = this.#req.method ?? 'GET';
    conn.begin(this, method);
    if (ctx.proxyTimeoutMs > 0) this.#armTimer(ctx.proxyTimeoutMs);
    conn.socket.write(`${method} ${ctx.prependPath ? target.pathPrefix : ''}${this.#path} HTTP/1.1\r\n${this.#head.lines}\r\n`, 'latin1');
    if (this.#head.hasBody) this.#sendBody(conn);
    else conn.requestSent();
  }

  abort(): void {
    if (this.#active) {
      this.#active = false;
      this.#stopTimer();
      this.#conn?.destroy();
    }
  }

  /** --proxy-timeout: an idle timer on the target (reset by each response chunk), as http-proxy's proxyTimeout. */
  #armTimer(ms: number): void {
    if (this.#timer !== null) {
      this.#timer.refresh();
      return;
    }
    const exchange = this;
    this.#timer = setTimeout(function onProxyTimeout() {
      exchange.#timer = null;
      exchange.onFailure(Object.assign(new Error(`no answer within ${ms} ms (--proxy-timeout)`), { code: 'ETIMEDOUT' }), false);
    }, ms);
  }

  #stopTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  onHead(status: number, reason: string, headers: string[]): void {
    this.#status = status;
    if (this.#timer !== null) this.#timer.refresh();
    const rewrite = this.#ctx.locationRewrite;
    if (rewrite !== null) rewriteLocation(rewrite, status, headers, this.#route.target.hostHeader, this.#req.headers.host);
    try {
      this.#res.writeHead(status, reason, headers);
    } catch (err) {
      // node refuses header names/values that are not valid HTTP: the target's fault.
      log.warn('invalid response from target', { route: this.#route.prefix, error: (err as Error).message });
      this.#active = false;
      this.#conn?.destroy();
      this.#res.removeHeader('content-length');
      sendProblem(this.#req, this.#res, 'UPSTREAM_UNAVAILABLE', 'The server behind this address sent an invalid response.');
    }
  }

  onBody(chunk: Buffer | null, last: boolean): void {
    if (!this.#active) return;
    if (this.#status < 300) this.#route.lastActivity = Date.now();
    const res = this.#res;
    if (this.#timer !== null) this.#timer.refresh();
    if (last) {
      this.#active = false;
      this.#stopTimer();
      if (chunk === null) res.end();
      else res.end(chunk);
      return;
    }
    if (!res.write(chunk!)) {
      const socket = this.#conn!.socket;
      socket.pause();
      res.once('drain', function onClientDrain() {
        socket.resume();
      });
    }
  }

  onFailure(err: NodeJS.ErrnoException, silent: boolean): void {
    if (!this.#active) return;
    this.#active = false;
    this.#stopTimer();
    const res = this.#res;
    if (err.code === 'ETIMEDOUT' || err.code === 'ETARGETTIMEOUT') this.#conn?.destroy();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A pooled connection the target had closed while idle: the request was never seen, and
    // without a body it can be sent again on a fresh connection.
    if (silent && !this.#retried && !this.#head.hasBody) {
      this.#retried = true;
      this.start();
      return;
    }
    const route = this.#route;
    const url = redactUrl(this.#req.url ?? '');
    if (err.code === 'ETARGETTIMEOUT') {
      // --target-timeout: the target accepted and stayed silent (a wedged server); its connection is gone.
      log.warn('target timed out', { route: route.prefix, target: route.target.href, url, error: err.message });
      this.#req.resume();
      sendProblem(this.#req, res, 'PROXY_TARGET_TIMEOUT', 'The server behind this address did not answer in time.');
      return;
    }
    const ctx = this.#ctx;
    if (isHubRoute(route, ctx.defaultTarget)) {
      // Refused or reset by the hub: it is starting, restarting or was killed; clients retry.
      log.info('hub not reachable', { url, error: err.code ?? err.message });
      sendHubStarting(this.#req, res, ctx.errors);
      return;
    }
    log.warn('target unreachable', { route: route.prefix, target: route.target.href, url, error: err.code ?? err.message });
    ctx.errors.send(this.#req, res, 503, 'UPSTREAM_UNAVAILABLE', 'The server behind this address is not reachable.');
  }

  /** Streams the request body upstream; node has decoded any chunking, so it is re-chunked. */
  #sendBody(conn: UpstreamConnection): void {
    const req = this.#req;
    const route = this.#route;
    const chunked = this.#head.chunked;
    const socket = conn.socket;
    req.on('data', function onRequestChunk(chunk: Buffer) {
      route.lastActivity = Date.now();
      let ok: boolean;
      if (chunked) {
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) {
        req.pause();
        socket.once('drain', function onUpstreamDrain() {
          req.resume();
        });
      }
    });
    req.on('end', function onRequestEnd() {
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      conn.requestSent();
    });
  }
}
