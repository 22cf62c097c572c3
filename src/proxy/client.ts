import { fail } from '../errors/catalogue.js';
import { parseTarget, type Target } from './routes.js';
import { UpstreamPool, type UpstreamExchange } from './upstream-pool.js';

/** A route as the route API shows it: the data it was added with, its target and `last_activity`. */
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

/**
 * The hub's client for a configurable-http-proxy route API: ours or the real CHP, the same calls.
 * Prefixes come back in CHP's canonical form (`/user/alice`, no trailing slash).
 * It talks HTTP/1.1 over kept-alive connections with the proxy's own lean client (a reconcile
 * after a hub restart may re-add thousands of routes). Network failures and unexpected statuses
 * reject with UPSTREAM_UNAVAILABLE (the detail goes to logs only).
 */
export class ProxyClient {
  readonly #target: Target;
  readonly #basePath: string;
  readonly #authorization: string;
  readonly #pool: UpstreamPool;

  /**
   * @param apiUrl the route API's base, e.g. `http://127.0.0.1:8001`
   * @param token CONFIGPROXY_AUTH_TOKEN
   */
  constructor(apiUrl: string, token: string, opts: { timeoutMs?: number } = {}) {
    const target = parseTarget(apiUrl);
    if (target === null) throw fail('CONFIG_INVALID', `Not an http(s) URL: ${apiUrl}`);
    this.#target = target;
    this.#basePath = target.pathPrefix;
    this.#authorization = `token ${token}`;
    // Idle connections go before CHP's 5 s keep-alive would close them under us.
    this.#pool = new UpstreamPool({ idleTimeoutMs: 4_000, silenceTimeoutMs: opts.timeoutMs ?? 20_000, connectTimeoutMs: opts.timeoutMs ?? 20_000 });
  }

  /** All routes, keyed by prefix; with `inactiveSince`, only routes idle since before then. */
  async getRoutes(inactiveSince?: Date): Promise<Record<string, ProxyRoute>> {
    const query = inactiveSince === undefined ? '' : `?inactive_since=${encodeURIComponent(inactiveSince.toISOString())}`;
    const answer = await this.#call('GET', `/api/routes${query}`);
    if (answer.status !== 200) throw unexpected('GET /api/routes', answer);
    return JSON.parse(answer.body) as Record<string, ProxyRoute>;
  }

  /** One route, or undefined when there is none at exactly `prefix`. */
  async getRoute(prefix: string): Promise<ProxyRoute | undefined> {
    const answer = await this.#call('GET', routePath(prefix));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw unexpected('GET route', answer);
    return JSON.parse(answer.body) as ProxyRoute;
  }

  /** Adds or replaces the route at `prefix`. `data` is kept with the route (e.g. user, server_name). */
  async addRoute(prefix: string, target: string, data: Record<string, unknown> = {}): Promise<void> {
    const answer = await this.#call('POST', routePath(prefix), JSON.stringify({ ...data, target }));
    if (answer.status !== 201) throw unexpected('POST route', answer);
  }

  /** Removes the route at `prefix`; false when there was none (not an error, as JupyterHub treats it). */
  async deleteRoute(prefix: string): Promise<boolean> {
    const answer = await this.#call('DELETE', routePath(prefix));
    if (answer.status === 204) return true;
    if (answer.status === 404) return false;
    throw unexpected('DELETE route', answer);
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#pool.close();
  }

  #call(method: string, path: string, body?: string): Promise<ApiAnswer> {
    const fullPath = this.#basePath + path;
    let head = `${method} ${fullPath} HTTP/1.1\r\nHost: ${this.#target.hostHeader}\r\nAuthorization: ${this.#authorization}\r\nAccept: application/json\r\n`;
    head += body === undefined ? 'Content-Length: 0\r\n\r\n' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const payload = body === undefined ? head : head + body;
    return new Promise<ApiAnswer>((resolve, reject) => {
      new ApiCall(this.#pool, this.#target, method, payload, resolve, reject).send();
    });
  }
}

/**
 * One route API call on a pooled connection. Every route API call is idempotent (a POST sets
 * the route), so a call that failed silently on a reused connection is sent once more.
 * The pool's silence timeout bounds how long a call can wait.
 */
class ApiCall implements UpstreamExchange {
  #status = 0;
  #chunks: Buffer[] = [];
  #retried = false;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly target: Target,
    private readonly method: string,
    private readonly payload: string,
    private readonly resolve: (a: ApiAnswer) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  send(): void {
    const conn = this.pool.acquire(this.target);
    this.#status = 0;
    this.#chunks = [];
    conn.begin(this, this.method);
    conn.socket.write(this.payload, 'utf8');
    conn.requestSent();
  }

  onHead(status: number): void {
    this.#status = status;
  }

  onBody(chunk: Buffer | null, last: boolean): void {
    if (chunk !== null) this.#chunks.push(chunk);
    if (!last) return;
    this.resolve({ status: this.#status, body: Buffer.concat(this.#chunks).toString('utf8') });
  }

  onFailure(err: NodeJS.ErrnoException, silent: boolean): void {
    if (silent && !this.#retried) {
      this.#retried = true;
      this.send();
      return;
    }
    this.reject(fail('UPSTREAM_UNAVAILABLE', 'The proxy is not reachable.', { detail: `${this.method} ${this.target.href}: ${err.message}`, cause: err }));
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
