import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { ApiRateLimitSchema } from '../../config/schema.js';
import { safeEqual, tokenFromAuthorization } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { clientIp } from '../audit/index.js';
import type { Identity } from '../../auth/identity.js';

export type ApiRateLimitConfig = z.output<typeof ApiRateLimitSchema>;

interface Bucket {
  tokens: number;
  /** ms timestamp of the last refill. */
  at: number;
}

/**
 * Token buckets by key (a user, a client address), bounded in memory. Each `take` is O(1): the Map's
 * insertion order is kept as least-recently-used order (a touched key is re-inserted at the end),
 * so the stalest bucket is always the first one. A bucket idle long enough to be full again is the
 * same as no bucket, so it is dropped as soon as it reaches the front; past `maxKeys` the front one
 * goes regardless (its owner merely gets a full bucket back).
 */
export class BucketTable {
  readonly #buckets = new Map<string, Bucket>();
  /** ms for an empty bucket to fill up again: idle this long, a bucket carries no information. */
  readonly #fullAfterMs: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#fullAfterMs = (burst / rate) * 1000;
  }

  /** Keys held now (for tests and metrics). */
  get size(): number { return this.#buckets.size; }

  /**
   * Takes one token from `key`'s bucket: 0 when there was one, else the seconds (≥ 1, rounded up)
   * until there will be, and nothing is taken.
   */
  take(key: string): number {
    const now = this.now();
    const b = this.#buckets.get(key);
    let tokens = this.burst;
    if (b) {
      tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      this.#buckets.delete(key);
    }
    const ok = tokens >= 1;
    this.#buckets.set(key, { tokens: ok ? tokens - 1 : tokens, at: now });
    // After the re-insertion, so the bucket just used is never the one dropped.
    this.#evict(now);
    return ok ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.rate));
  }

  /** Gives back a token taken by a request another limit then refused. */
  refund(key: string): void {
    const b = this.#buckets.get(key);
    if (b) b.tokens = Math.min(this.burst, b.tokens + 1);
  }

  /** Drops at most two stale or surplus buckets from the front: amortised O(1), memory bounded. */
  #evict(now: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.#buckets.entries().next();
      if (first.done) return;
      const [key, b] = first.value;
      if (this.#buckets.size <= this.maxKeys && now - b.at < this.#fullAfterMs) return;
      this.#buckets.delete(key);
    }
  }
}

const OAUTH_TOKEN_PATH = '/hub/api/oauth2/token';

/** Why a request was refused: whose bucket ran dry. */
export type RateLimitScope = 'user' | 'address' | 'global';

/**
 * The hub API's request rate limits: one bucket per user or service (all its tokens and sessions
 * share it, so minting tokens buys nothing), one per client address for requests without a valid
 * credential, and one for all of them together.
 *
 * Never limited: the proxy's edge checks (`POST /hub/api/proxy/authorize` with the proxy's token):
 * every user's traffic to their server waits on them, and the proxy's cache (60 s per allowed
 * credential) already bounds their rate; and by default admins and services, whom the operator
 * configured (bulk user management, the idle culler, monitoring) and who must not be starved by a
 * crowd of users exhausting the global bucket.
 */
export class ApiRateLimiter {
  readonly #principals: BucketTable;
  readonly #addresses: BucketTable;
  readonly #global: BucketTable;

  constructor(private readonly config: ApiRateLimitConfig, private readonly proxyToken: string, now: () => number = Date.now) {
    this.#principals = new BucketTable(config.userRate, config.userBurst, config.maxBuckets, now);
    this.#addresses = new BucketTable(config.ipRate, config.ipBurst, config.maxBuckets, now);
    this.#global = new BucketTable(config.globalRate, config.globalBurst, 1, now);
  }

  /** Whether the request is the proxy's own edge check (compared in constant time). */
  isProxyCall(req: IncomingMessage, path: string): boolean {
    if (path !== '/hub/api/proxy/authorize') return false;
    const presented = tokenFromAuthorization(req.headers.authorization);
    return !!presented && safeEqual(presented, this.proxyToken);
  }

  /** Whether `who` is exempt by configuration. */
  exempt(who: Identity | null): boolean {
    if (!who) return false;
    if (who.kind === 'service') return this.config.exempt.includes('services');
    return who.user.admin === true && this.config.exempt.includes('admins');
  }

  /**
   * Counts one request by `who` (null: no valid credential, counted by address) and throws
   * 429 RATE_LIMITED with `retryAfter` (seconds) when a bucket is empty.
   *
   * Only the global bucket counts two kinds of anonymous calls: the OAuth code exchange, made on
   * behalf of many users from one address (every notebook server exchanges each browser login's
   * code there, its client secret as its credential); and calls from loopback, which behind the
   * proxy (it appends the client's address to X-Forwarded-For) are the hub machine's own parts
   * and probes (`highrate up` waits for `GET /hub/api/` to answer), not a remote client.
   */
  check(req: IncomingMessage, who: Identity | null, path = ''): void {
    if (!this.config.enabled || this.exempt(who)) return;
    const address = who ? '' : clientIp(req) ?? 'unknown';
    const own = who ? this.#principals : path === OAUTH_TOKEN_PATH || isLoopback(address) ? null : this.#addresses;
    const key = who ? `${who.kind}:${who.name}` : address;
    const wait = own?.take(key) ?? 0;
    if (wait > 0) throw refusal(who ? 'user' : 'address', wait);
    const globalWait = this.#global.take('*');
    if (globalWait > 0) {
      own?.refund(key);
      throw refusal('global', globalWait);
    }
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

function refusal(scope: RateLimitScope, retryAfter: number) {
  const whom = scope === 'user' ? 'from you' : scope === 'address' ? 'from your address' : 'to this hub right now';
  return fail('RATE_LIMITED', `Too many requests ${whom}; retry in ${retryAfter} s.`, { extra: { retryAfter, limit: scope } });
}
