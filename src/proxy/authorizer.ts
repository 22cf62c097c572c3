import http from 'node:http';
import https from 'node:https';
import { fail, type HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { AuthCache, authCacheKey, type AuthCacheOptions, type AuthDecision } from './auth-cache.js';
import type { Credential } from './credential.js';

export interface AuthorizerOptions {
  /** The hub's `POST /hub/api/proxy/authorize` URL; without it, user routes cannot be reached (503). */
  authorizeUrl: string | undefined;
  /** The proxy's own token (CONFIGPROXY_AUTH_TOKEN), sent as `Authorization: token …`. */
  proxyToken: string;
  cache?: AuthCacheOptions;
  /** How long to wait for the hub before answering 503. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Asks the hub whether a credential may use a user's server, and caches the answer.
 * `decide` answers synchronously on a cache hit (the hot path builds no promise) and shares one
 * in-flight hub request among all requests asking the same question.
 */
export class Authorizer {
  readonly cache: AuthCache;
  readonly #url: URL | undefined;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #inflight = new Map<string, Promise<AuthDecision>>();
  /** Hub requests made so far; tests use it to prove the cache works. */
  hubCalls = 0;

  constructor(opts: AuthorizerOptions) {
    this.cache = new AuthCache(opts.cache);
    this.#url = opts.authorizeUrl ? new URL(opts.authorizeUrl) : undefined;
    this.#authorization = `token ${opts.proxyToken}`;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    const secure = this.#url?.protocol === 'https:';
    this.#agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /**
   * The decision for `credential` on `user`'s server `server` ('' = default server).
   * Throws (or rejects with) UPSTREAM_UNAVAILABLE when the hub cannot be asked.
   */
  decide(credential: Credential, user: string, server: string): AuthDecision | Promise<AuthDecision> {
    const key = authCacheKey(credential.kind, credential.value, user, server);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#ask(credential, user, server).then(
        (decision) => {
          this.#inflight.delete(key);
          this.cache.set(key, decision);
          return decision;
        },
        (err: unknown) => {
          this.#inflight.delete(key);
          // Logged once per hub call (requests waiting on it share it); never the credential.
          log.warn('edge auth: the hub could not be asked', { user, server, detail: (err as HighrateError).detail ?? String(err) });
          throw err;
        },
      );
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  /** Closes idle connections to the hub. */
  close(): void {
    this.#agent.destroy();
  }

  #ask(credential: Credential, user: string, server: string): Promise<AuthDecision> {
    const url = this.#url;
    if (url === undefined) {
      return Promise.reject(fail('UPSTREAM_UNAVAILABLE', 'This server cannot be reached: the proxy has no authorize URL.', {
        detail: 'a route has a user but --authorize-url was not given',
      }));
    }
    this.hubCalls++;
    const body = JSON.stringify({ credential: { kind: credential.kind, value: credential.value }, user, server });
    const timeoutMs = this.#timeoutMs;
    const agent = this.#agent;
    const transport = url.protocol === 'https:' ? https : http;
    const headers = {
      authorization: this.#authorization,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      accept: 'application/json',
    };
    return new Promise<AuthDecision>(function askHub(resolve, reject) {
      const unavailable = (detail: string, cause?: unknown) =>
        reject(fail('UPSTREAM_UNAVAILABLE', 'The hub could not check your access; try again shortly.', { detail, cause }));
      const req = transport.request(url, { method: 'POST', headers, agent }, function onHubResponse(res) {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 64 * 1024) {
            res.destroy();
            unavailable('authorize response too large');
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return unavailable(`authorize answered HTTP ${res.statusCode}`);
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return unavailable('authorize answered invalid JSON');
          }
          const decision = toDecision(parsed);
          if (decision === null) return unavailable('authorize answered an unexpected body');
          resolve(decision);
        });
        res.on('error', (err) => unavailable(`authorize response failed: ${err.message}`, err));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => unavailable(`authorize request failed: ${err.message}`, err));
      req.end(body);
    });
  }
}

/** Validates the hub's answer: `{authenticated: bool, allowed: bool, name?: string}`. */
function toDecision(body: unknown): AuthDecision | null {
  if (typeof body !== 'object' || body === null) return null;
  const { authenticated, allowed, name } = body as Record<string, unknown>;
  if (typeof authenticated !== 'boolean' || typeof allowed !== 'boolean') return null;
  // An unauthenticated credential can never be allowed, whatever the body says.
  return { authenticated, allowed: authenticated && allowed, name: typeof name === 'string' ? name : '' };
}
