import net from 'node:net';
import tls from 'node:tls';
import { Http1Parser, type ResponseSink } from './http1-parser.js';
import type { Target } from './routes.js';

/** One request/response on an upstream connection, seen from the forwarding side. */
export interface UpstreamExchange extends ResponseSink {
  /**
   * The exchange failed before its response ended. `silent` is true when the connection was a
   * reused one and not a byte came back: the target most likely closed it while idle, so a
   * request without a body may safely be retried on a fresh connection.
   */
  onFailure(err: NodeJS.ErrnoException, silent: boolean): void;
}

export interface UpstreamPoolOptions {
  /** Give up connecting after this long (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * A connected target must start its response (send the status line) within this long (ms) of
   * the last byte written to it, else the exchange fails with code `ETARGETTIMEOUT` and the
   * connection is dropped (--target-timeout). 0 = never (CHP's behaviour). Default 0.
   */
  headTimeoutMs?: number;
  /** Close idle connections after this long when the target gave no Keep-Alive hint (ms). Default 15 s. */
  idleTimeoutMs?: number;
  /** Idle connections kept per target. Default 1024. */
  maxIdlePerTarget?: number;
  /** TLS towards https targets: CHP's --insecure (rejectUnauthorized false) and --client-ssl-* (key, cert, ca). */
  targetTls?: tls.ConnectionOptions;
}

/**
 * One keep-alive connection to a target. It carries one exchange at a time (no pipelining) and
 * goes back to its pool only when the response ended cleanly, the request was fully sent, and
 * the target allows reuse.
 */
export class UpstreamConnection implements ResponseSink {
  readonly socket: net.Socket;
  readonly key: string;
  readonly #pool: UpstreamPool;
  readonly #parser = new Http1Parser('response');
  #exchange: UpstreamExchange | null = null;
  #requestSent = false;
  /** Whether this connection already carried a response (a stale-socket failure is then possible). */
  reused = false;
  dead = false;
  idleSince = 0;
  /** How long it may stay idle in the pool (ms). */
  idleLimit = 0;
  #connected = false;
  /** An exchange is waiting for the response's status line (the only phase --target-timeout times). */
  #awaitingHead = false;

  constructor(pool: UpstreamPool, target: Target, connectTimeoutMs: number, headTimeoutMs: number, targetTls: tls.ConnectionOptions) {
    this.#pool = pool;
    this.key = target.poolKey;
    this.socket = target.secure
      ? tls.connect({ host: target.hostname, port: target.port, servername: net.isIP(target.hostname) ? undefined : target.hostname, ALPNProtocols: ['http/1.1'], ...targetTls })
      : target.socketPath !== undefined ? net.connect(target.socketPath) : net.connect(target.port, target.hostname);
    this.socket.setNoDelay(true);
    this.socket.setTimeout(connectTimeoutMs);
    const conn = this;
    // Once connected, the socket's own inactivity timer (refreshed by node on every read and
    // write, so nothing is allocated per request) times the wait for a response head; it fires
    // harmlessly while the connection streams a body or idles in the pool. Without
    // --target-timeout only connecting is timed, as CHP.
    this.socket.once(target.secure ? 'secureConnect' : 'connect', function onConnected() {
      conn.#connected = true;
      conn.socket.setTimeout(headTimeoutMs);
    });
    this.socket.on('timeout', function onUpstreamSilence() {
      if (!conn.#connected) conn.#fail(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
      else if (conn.#awaitingHead && conn.#exchange !== null) conn.#fail(Object.assign(new Error(`no response within ${headTimeoutMs} ms (--target-timeout)`), { code: 'ETARGETTIMEOUT' }));
    });
    this.socket.on('data', function onUpstreamData(data: Buffer) {
      try {
        conn.#parser.execute(data);
      } catch (err) {
        conn.#fail(err as NodeJS.ErrnoException);
      }
    });
    this.socket.on('end', function onUpstreamEnd() {
      try {
        conn.#parser.end();
      } catch (err) {
        conn.#fail(err as NodeJS.ErrnoException);
      }
      conn.destroy();
    });
    this.socket.on('error', function onUpstreamError(err: NodeJS.ErrnoException) {
      conn.#fail(err);
    });
    this.socket.on('close', function onUpstreamClose() {
      conn.#fail(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
    });
  }

  /** Starts an exchange: the response to a `method` request will go to `exchange`. */
  begin(exchange: UpstreamExchange, method: string): void {
    this.#exchange = exchange;
    this.#requestSent = false;
    this.#awaitingHead = true;
    this.#parser.begin(this, method);
  }

  /** The whole request (head and body) has been written. */
  requestSent(): void {
    this.#requestSent = true;
  }

  /** Drops the connection (the client went away mid-exchange, or the pool closes). */
  destroy(): void {
    this.dead = true;
    this.#exchange = null;
    this.socket.destroy();
  }

  onHead(status: number, reason: string, headers: string[]): void {
    this.#awaitingHead = false;
    this.#exchange?.onHead(status, reason, headers);
  }

  onBody(chunk: Buffer | null, last: boolean): void {
    const exchange = this.#exchange;
    if (last) {
      this.#exchange = null;
      this.reused = true;
      if (this.#parser.keepAlive && this.#requestSent) {
        // Backpressure may have paused the socket with the last bytes already read: undo it.
        if (this.socket.isPaused()) this.socket.resume();
        this.#pool.release(this, this.#parser.idleHintMs);
      } else {
        this.destroy();
      }
    }
    exchange?.onBody(chunk, last);
  }

  #fail(err: NodeJS.ErrnoException): void {
    const exchange = this.#exchange;
    // A timed-out target is not "silent": it may have seen the request (and must not get it twice).
    const silent = this.reused && !this.#parser.received && err.code !== 'ETARGETTIMEOUT';
    this.destroy();
    exchange?.onFailure(err, silent);
  }
}

/**
 * Keep-alive connections to targets, keyed by scheme+host+port and reused last-in first-out
 * (a few warm connections stay busy). A once-a-second sweep closes connections idle beyond the
 * target's Keep-Alive hint (minus a second of margin) or the default idle timeout, so no timer
 * is armed per request.
 */
export class UpstreamPool {
  readonly #idle = new Map<string, UpstreamConnection[]>();
  readonly #connectTimeoutMs: number;
  readonly #headTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxIdle: number;
  readonly #targetTls: tls.ConnectionOptions;
  readonly #sweeper: NodeJS.Timeout;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.#headTimeoutMs = opts.headTimeoutMs ?? 0;
    this.#idleTimeoutMs = opts.idleTimeoutMs ?? 15_000;
    this.#maxIdle = opts.maxIdlePerTarget ?? 1024;
    this.#targetTls = opts.targetTls ?? {};
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), 1000);
    this.#sweeper.unref();
  }

  /** A live idle connection to `target`, or a new one. */
  acquire(target: Target): UpstreamConnection {
    const list = this.#idle.get(target.poolKey);
    if (list !== undefined) {
      while (list.length > 0) {
        const conn = list.pop()!;
        if (!conn.dead && !conn.socket.destroyed) return conn;
      }
    }
    return new UpstreamConnection(this, target, this.#connectTimeoutMs, this.#headTimeoutMs, this.#targetTls);
  }

  /** Takes a connection back after a clean exchange. */
  release(conn: UpstreamConnection, hintMs: number | undefined): void {
    // Close a second before the target would, so we never pick a socket it is closing.
    const limit = hintMs === undefined ? this.#idleTimeoutMs : Math.min(this.#idleTimeoutMs, hintMs - 1000);
    if (limit <= 0) {
      conn.destroy();
      return;
    }
    let list = this.#idle.get(conn.key);
    if (list === undefined) {
      list = [];
      this.#idle.set(conn.key, list);
    }
    if (list.length >= this.#maxIdle) {
      conn.destroy();
      return;
    }
    conn.idleSince = Date.now();
    conn.idleLimit = limit;
    list.push(conn);
  }

  /** Idle connections currently kept (for tests). */
  get idleCount(): number {
    let n = 0;
    for (const list of this.#idle.values()) for (const c of list) if (!c.dead) n++;
    return n;
  }

  /** Closes every idle connection and stops the sweep. Busy connections end with their exchange. */
  close(): void {
    clearInterval(this.#sweeper);
    for (const list of this.#idle.values()) for (const conn of list) conn.destroy();
    this.#idle.clear();
  }

  #sweep(now: number): void {
    for (const [key, list] of this.#idle) {
      const kept = list.filter((conn) => {
        if (conn.dead) return false;
        if (now - conn.idleSince >= conn.idleLimit) {
          conn.destroy();
          return false;
        }
        return true;
      });
      if (kept.length === 0) this.#idle.delete(key);
      else if (kept.length !== list.length) this.#idle.set(key, kept);
    }
  }
}
