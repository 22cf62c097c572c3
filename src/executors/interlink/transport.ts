import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ERRORS, fail, HighrateError, type ErrorCode } from '../../errors/catalogue.js';

/**
 * HTTP to interLink (or straight to a plugin) as the virtual kubelet speaks it:
 * - `node:http`, because `/status` and `/getLogs` are GET requests with JSON bodies, which
 *   fetch/undici refuse to send;
 * - `unix:///path` sockets (requests then go to `http://unix/<path>`), http and https with an
 *   optional CA and client certificate (interLink's TLS{CACertFile, CertFile, KeyFile});
 * - the token file is read again on every call and sent as `Authorization: Bearer <contents>`,
 *   unmodified, as the VK's VKTokenFile (a refresh sidecar rewrites it every 200 s);
 * - `InterLink-Http-Session: <Operation>#<n>` on every call;
 * - only 200 is success.
 */
export interface TransportOptions {
  /** `http://host:port`, `https://host:port` (a path prefix is kept) or `unix:///path/to.sock`. */
  url: string;
  /** File holding the bearer token; unset: no Authorization header. */
  tokenFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** No answer (headers) within this long fails the call, ms (default 120000, the VK's timeout). */
  timeoutMs?: number;
}

export interface CallOptions {
  /** Session header prefix, e.g. "CreatePod" (the VK's names). */
  session: string;
  body?: unknown;
  signal?: AbortSignal;
  /** No timeout once headers arrived (followed logs). */
  stream?: boolean;
}

const SESSION_HEADER = 'InterLink-Http-Session';
/** At most this much of an error body is read and shown. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Statuses of highrate's own error bodies that keep their code through this client. */
const PASSED_THROUGH = new Set([400, 404, 409]);

export class InterlinkTransport {
  readonly #base: { socketPath?: string; protocol: 'http:' | 'https:'; host: string; port?: number; prefix: string };
  readonly #agent: HttpAgent;
  readonly #opts: TransportOptions;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
    const raw = opts.url;
    if (raw.startsWith('unix://')) {
      const socketPath = raw.slice('unix://'.length);
      if (!socketPath.startsWith('/')) throw fail('CONFIG_INVALID', `interLink url ${raw}: a unix socket needs an absolute path (unix:///run/interlink.sock).`);
      this.#base = { socketPath, protocol: 'http:', host: 'unix', prefix: '' };
      this.#agent = new HttpAgent({ keepAlive: true });
    } else {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw fail('CONFIG_INVALID', `interLink url ${JSON.stringify(raw)} is not a URL.`);
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw fail('CONFIG_INVALID', `interLink url ${raw}: use http://, https:// or unix:///.`);
      this.#base = {
        protocol: u.protocol, host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port ? Number(u.port) : undefined, prefix: u.pathname.replace(/\/$/, ''),
      };
      const tls = opts.tls ?? {};
      this.#agent = u.protocol === 'https:'
        ? new HttpsAgent({
          keepAlive: true,
          ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
          ...(tls.certFile && tls.keyFile ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : {}),
        })
        : new HttpAgent({ keepAlive: true });
    }
  }

  /** The Authorization header value, read from the token file now. */
  #authorization(): string | undefined {
    const file = this.#opts.tokenFile;
    if (!file) return undefined;
    let token: string;
    try {
      token = readFileSync(file, 'utf8');
    } catch (err) {
      throw fail('EXECUTOR_FAILED', `The interLink token file ${file} cannot be read.`, { detail: String(err) });
    }
    // The VK sends the file as it is; a line break makes the header invalid there too.
    if (/[\r\n]/.test(token)) throw fail('EXECUTOR_FAILED', `The interLink token file ${file} contains a line break; write the token without one (the virtual kubelet sends the file unmodified).`);
    return `Bearer ${token}`;
  }

  /** One call; resolves with the response once it is a 200, with its body unread. */
  async call(method: string, path: string, o: CallOptions): Promise<IncomingMessage> {
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: '*/*',
      [SESSION_HEADER]: `${o.session}#${Math.floor(Math.random() * 100000)}`,
    };
    const auth = this.#authorization();
    if (auth !== undefined) headers.authorization = auth;
    if (payload) headers['content-length'] = payload.length;
    const b = this.#base;
    // Go's clients address a socket as http://unix/<path>: the Host header says "unix".
    if (b.socketPath) headers.host = 'unix';
    const ro: RequestOptions = {
      method, agent: this.#agent, headers, path: b.prefix + path, protocol: b.protocol,
      ...(b.socketPath ? { socketPath: b.socketPath } : { hostname: b.host, port: b.port }),
    };
    const timeoutMs = this.#opts.timeoutMs ?? 120_000;
    const where = this.describe();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (b.protocol === 'https:' ? httpsRequest : httpRequest)(ro, resolve);
      const onAbort = () => req.destroy(abortError());
      if (o.signal?.aborted) return reject(abortError());
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(timeoutMs, () => req.destroy(fail('EXECUTOR_FAILED', `interLink at ${where} did not answer ${path} within ${timeoutMs / 1000} s.`)));
      req.on('response', () => {
        if (o.stream) req.setTimeout(0);
      });
      req.on('close', () => o.signal?.removeEventListener('abort', onAbort));
      req.on('error', (err) => {
        if (err instanceof HighrateError || (err as Error).name === 'AbortError') return reject(err);
        reject(fail('EXECUTOR_FAILED', `interLink at ${where} is unreachable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { detail: String(err) }));
      });
      req.end(payload);
    });
    if (res.statusCode === 200) return res;
    throw await remoteError(res, path, where);
  }

  /** A call whose whole body is the answer. */
  async text(method: string, path: string, o: CallOptions): Promise<string> {
    const res = await this.call(method, path, o);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** A call answering JSON. */
  async json<T>(method: string, path: string, o: CallOptions): Promise<T> {
    const text = await this.text(method, path, o);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw fail('EXECUTOR_FAILED', `interLink at ${this.describe()} answered ${path} with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}.`);
    }
  }

  /** The URL, for messages (never the token). */
  describe(): string {
    return this.#opts.url;
  }

  close(): void {
    this.#agent.destroy();
  }
}

function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

/**
 * A non-200 answer as an error. highrate's own servers answer `{status, message, code}`: a 400,
 * 404 or 409 with a known code is rethrown as that error (a bad pod stays a 400, an unknown one
 * a 404); anything else becomes EXECUTOR_FAILED quoting the remote's text.
 */
async function remoteError(res: IncomingMessage, path: string, where: string): Promise<HighrateError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    size += (c as Buffer).length;
    if (size <= ERROR_BODY_LIMIT) chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  const status = res.statusCode ?? 0;
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.code === 'string' && body.code in ERRORS && typeof body.message === 'string') {
      const code = body.code as ErrorCode;
      // Only what describes the request itself passes through; a refused credential or a
      // failure of the far end is the executor's failure, not the caller's.
      if (ERRORS[code].status === status && PASSED_THROUGH.has(status)) return fail(code, body.message);
      return fail('EXECUTOR_FAILED', `interLink at ${where} answered ${path} with ${status}: ${body.message}`);
    }
  } catch { /* not ours: quoted as text below */ }
  return fail('EXECUTOR_FAILED', `interLink at ${where} answered ${path} with ${status}${text ? `: ${text.slice(0, 500)}` : ''}`);
}
