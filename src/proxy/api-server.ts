import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { errorBody, fail, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { Http1Parser, type RequestSink } from './http1-parser.js';

/** A route API request, body fully read. Header names are lower-case. */
export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null;
}

/** What the handler answers: a status and, optionally, a JSON body. */
export interface ApiReply {
  status: number;
  body?: unknown;
}

/** Answers one request synchronously (the route table lives in memory); throw catalogue errors for 4xx. */
export type ApiHandler = (req: ApiRequest) => ApiReply;

export interface ApiServerOptions {
  /** Largest body read; larger ones get 413 and the connection is closed. */
  bodyLimit: number;
  /** Connections silent for this long are closed (ms); CHP's keep-alive default is 5 s. */
  idleTimeoutMs: number;
  /** HTTPS (CHP's --api-ssl-*); plain HTTP without. */
  tls?: tls.TlsOptions;
}

/** The server plus a way to end its connections (net.Server.close only stops accepting). */
export interface ApiServer {
  readonly server: net.Server;
  /** Ends idle connections now and busy ones after their current reply. */
  closeConnections(): void;
  /** Cuts every connection (after a grace period). */
  destroyConnections(): void;
}

/**
 * A minimal HTTP/1.1 server for the local route API: keep-alive, pipelining in order,
 * Content-Length and chunked bodies, `Expect: 100-continue`, strict parsing. It exists for a
 * measured reason: with node's http.Server, per-request overhead was most of the cost of adding
 * a route, and a hub re-adding 10,000 routes after a restart is the load that matters here.
 */
export function createApiServer(handler: ApiHandler, opts: ApiServerOptions): ApiServer {
  const connections = new Set<ApiConnection>();
  const server = opts.tls === undefined
    ? net.createServer({ noDelay: true }, onApiConnection)
    : tls.createServer({ ...opts.tls, noDelay: true }, onApiConnection);
  function onApiConnection(socket: net.Socket) {
    const conn = new ApiConnection(socket, handler, opts.bodyLimit);
    connections.add(conn);
    socket.setTimeout(opts.idleTimeoutMs);
    socket.on('timeout', () => socket.destroy());
    socket.on('close', () => connections.delete(conn));
  }
  return {
    server,
    closeConnections() {
      for (const conn of connections) conn.closeWhenIdle();
    },
    destroyConnections() {
      for (const conn of connections) conn.destroy();
    },
  };
}

class ApiConnection implements RequestSink {
  readonly #socket: net.Socket;
  readonly #handler: ApiHandler;
  readonly #limit: number;
  readonly #parser: Http1Parser;
  #method = '';
  #url = '';
  #headers: Record<string, string> = {};
  #body: Buffer[] = [];
  #size = 0;
  #closing = false;

  constructor(socket: net.Socket, handler: ApiHandler, limit: number) {
    this.#socket = socket;
    this.#handler = handler;
    this.#limit = limit;
    this.#parser = new Http1Parser('request', this);
    const conn = this;
    socket.on('data', function onApiData(data: Buffer) {
      // Replies to pipelined requests that arrived together leave in one write.
      socket.cork();
      try {
        conn.#parser.execute(data);
      } catch (err) {
        conn.#reply({ status: 400, body: errorBody(fail('BAD_REQUEST', 'Malformed HTTP request.')) }, true);
        log.debug('bad route API request', { error: (err as Error).message });
      } finally {
        socket.uncork();
      }
    });
    socket.on('end', function onApiEnd() {
      socket.end();
    });
    socket.on('error', function onApiSocketError() {
      socket.destroy();
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Closes now if no request is in progress, else right after its reply. */
  closeWhenIdle(): void {
    this.#closing = true;
    if (!this.#parser.busy) this.#socket.end();
  }

  onRequest(method: string, url: string, headers: Record<string, string>): void {
    this.#method = method;
    this.#url = url;
    this.#headers = headers;
    this.#body = [];
    this.#size = 0;
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > this.#limit) {
      this.#tooLarge();
      return;
    }
    if ((headers.expect ?? '').toLowerCase() === '100-continue' && (declared > 0 || headers['transfer-encoding'] !== undefined)) {
      this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
  }

  onBody(chunk: Buffer | null, last: boolean): void {
    if (chunk !== null && chunk.length > 0) {
      this.#size += chunk.length;
      if (this.#size > this.#limit) {
        this.#tooLarge();
        return;
      }
      this.#body.push(chunk);
    }
    if (!last) return;
    const parts = this.#body;
    const body = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.#body = [];
    let reply: ApiReply;
    try {
      reply = this.#handler({ method: this.#method, url: this.#url, headers: this.#headers, body });
    } catch (err) {
      reply = { status: 0, body: errorBody(err) };
      reply.status = (reply.body as { status: number }).status;
      logFailure(err, this.#method, this.#url);
    }
    this.#reply(reply, !this.#parser.keepAlive || this.#closing);
  }

  #tooLarge(): void {
    this.#reply({ status: 413, body: errorBody(fail('BODY_TOO_LARGE', `The request body is larger than ${this.#limit} bytes.`)) }, true);
  }

  /** Writes a reply; with `close`, the connection ends after it and nothing more is parsed. */
  #reply(reply: ApiReply, close: boolean): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
    let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\nDate: ${httpDate()}\r\n`;
    if (body !== '') head += 'Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n';
    if (reply.status !== 204) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    if (close) head += 'Connection: close\r\n';
    this.#socket.write(`${head}\r\n${body}`);
    if (close) {
      this.#parser.stop();
      this.#socket.end();
    }
  }
}

/** Logs what the catalogue says deserves it; anything unexpected with its stack. */
function logFailure(err: unknown, method: string, url: string): void {
  const path = url.split('?', 1)[0];
  if (err instanceof HighrateError) {
    if (err.status >= 500 || err.detail) log.warn('route API request failed', { method, path, code: err.code, detail: err.detail });
  } else {
    log.error('route API error', { method, path, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
}

let dateSecond = 0;
let dateText = '';
/** The Date header value, formatted at most once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
