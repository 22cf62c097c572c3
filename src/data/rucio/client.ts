import type { IncomingMessage } from 'node:http';
import { Accounts } from './accounts.js';
import type { AuthContext, RucioCredential, RucioToken } from './auth.js';
import { Dids } from './dids.js';
import { RucioError, isRucioError, rucioErrorFrom } from './errors.js';
import { parseJsonStream, readText, send, type RucioTls } from './http.js';
import { Replicas } from './replicas.js';
import { Rses } from './rses.js';
import { Rules } from './rules.js';

export interface RucioClientOptions {
  /** The Rucio server, e.g. https://rucio.example.org:443 */
  url: string;
  /** The auth server when it is a separate host (Rucio's `auth_host`); default `url`. */
  authUrl?: string;
  /** Rucio's multi-VO name (`X-Rucio-VO`), default `def`. */
  vo?: string;
  credential: RucioCredential;
  tls?: RucioTls;
  timeoutMs?: number;
  /** `X-Rucio-AppID`, kept in Rucio's token table. */
  appId?: string;
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
}

/** What the per-area modules (dids, replicas, rules…) call. */
export interface RucioCaller {
  json<T>(method: string, path: string, opts?: CallOptions): Promise<T>;
  stream<T>(method: string, path: string, opts?: CallOptions): AsyncGenerator<T>;
}

/**
 * A Rucio REST client. Every request carries `X-Rucio-Auth-Token` (and `X-Rucio-VO`); the token
 * comes from the credential, is renewed before it expires, and once more when the server answers
 * 401 CannotAuthenticate (a token revoked or expired early — the server's cache of validations
 * lives 900 s, so expiry is not exact). Other 401s (AccessDenied on someone else's rule) are
 * refusals, not a reason to log in again.
 */
export class RucioClient implements RucioCaller {
  readonly dids = new Dids(this);
  readonly replicas = new Replicas(this);
  readonly rules = new Rules(this);
  readonly accounts = new Accounts(this);
  readonly rses = new Rses(this);
  readonly base: URL;
  readonly #auth: AuthContext;
  readonly #credential: RucioCredential;
  #token: { value: RucioToken; obtained: number } | null = null;
  #pending: Promise<RucioToken> | null = null;
  /** How many times a token was obtained (for tests and metrics). */
  logins = 0;

  constructor(readonly options: RucioClientOptions) {
    this.base = withSlash(options.url);
    this.#credential = options.credential;
    this.#auth = {
      authUrl: withSlash(options.authUrl ?? options.url),
      vo: options.vo ?? 'def',
      appId: options.appId ?? 'highrate',
      tls: options.tls,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
  }

  /** The account requests act as (as configured; `accounts.whoami()` asks the server). */
  get account(): string | undefined {
    return this.#token?.value.account ?? this.#credential.account;
  }

  /** `GET /ping` (no token): the server's version. */
  async ping(): Promise<{ version: string }> {
    const res = await send(new URL('ping', this.base), { method: 'GET', headers: { accept: 'application/json' }, tls: this.options.tls, timeoutMs: this.#auth.timeoutMs });
    const body = await readText(res);
    if (res.statusCode !== 200) throw rucioErrorFrom(res.statusCode ?? 0, res.headers, body);
    return JSON.parse(body) as { version: string };
  }

  /** A valid token, logging in when there is none or it is about to expire. */
  async token(): Promise<string> {
    const now = Date.now();
    const t = this.#token;
    // Renew ahead of expiry: a minute, or a quarter of a short lifetime.
    if (t && now < t.value.expiresAt - Math.min(60_000, (t.value.expiresAt - t.obtained) / 4)) return t.value.token;
    return (await this.#login()).token;
  }

  /** Forgets the token: the next request logs in again. */
  invalidate(): void {
    this.#token = null;
  }

  #login(): Promise<RucioToken> {
    // Concurrent requests share one login.
    this.#pending ??= this.#credential.authenticate(this.#auth).then((value) => {
      this.#token = { value, obtained: Date.now() };
      this.logins++;
      return value;
    }).finally(() => { this.#pending = null; });
    return this.#pending;
  }

  async #send(method: string, path: string, accept: string, opts: CallOptions = {}): Promise<IncomingMessage> {
    let url = new URL(path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const headers: Record<string, string> = { accept, 'x-rucio-auth-token': token, 'x-rucio-vo': this.#auth.vo, 'user-agent': 'highrate' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res = await send(url, { method, headers, body, tls: this.options.tls, timeoutMs: this.#auth.timeoutMs });
      // GET /accounts/whoami answers 303 to /accounts/<account> (a relative Location).
      for (let hops = 0; method === 'GET' && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && res.headers.location && hops < 3; hops++) {
        res.resume();
        url = new URL(res.headers.location, url);
        res = await send(url, { method, headers, tls: this.options.tls, timeoutMs: this.#auth.timeoutMs });
      }
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return res;
      const err = rucioErrorFrom(status, res.headers, await readText(res));
      if (status === 401 && err.exceptionClass === 'CannotAuthenticate' && attempt === 0) {
        this.invalidate();
        continue;
      }
      throw err;
    }
  }

  /** A JSON answer (`application/json`); an empty 200/201 body is `undefined`. */
  async json<T>(method: string, path: string, opts?: CallOptions): Promise<T> {
    const res = await this.#send(method, path, 'application/json', opts);
    const text = await readText(res);
    if (!text.trim()) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      // POST /rules/ and friends answer 201 "Created" as text: not an error.
      return text as unknown as T;
    }
  }

  /** A json-stream answer (`application/x-json-stream`), one value per line, parsed as it arrives. */
  async *stream<T>(method: string, path: string, opts?: CallOptions): AsyncGenerator<T> {
    const res = await this.#send(method, path, 'application/x-json-stream', opts);
    yield* parseJsonStream<T>(res);
  }
}

function withSlash(url: string): URL {
  const u = new URL(url);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

export { RucioError, isRucioError };
