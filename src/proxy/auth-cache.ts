import { createHash } from 'node:crypto';

/** The hub's answer to "may this credential use this server?". */
export interface AuthDecision {
  readonly authenticated: boolean;
  readonly allowed: boolean;
  /** Who the credential belongs to ('' when unauthenticated). */
  readonly name: string;
}

export interface AuthCacheOptions {
  /** How long an "allowed" answer is reused (ms). Default 60 s. */
  allowTtlMs?: number;
  /** How long a denied or unauthenticated answer is reused (ms). Default 5 s: a fresh login is seen soon. */
  denyTtlMs?: number;
  /** Most entries kept; the least recently used go first. Default 10,000. */
  maxEntries?: number;
}

interface Entry {
  decision: AuthDecision;
  expires: number;
  /** When the entry was last moved to the recent end; bounds the cost of keeping LRU order. */
  touched: number;
}

/** Moving an entry to the recent end costs a Map delete+set; doing it at most once a second is plenty. */
const TOUCH_INTERVAL_MS = 1000;

/**
 * Cache key for one credential asking for one server: a SHA-256 of the credential (so the cache
 * never holds a secret in clear), then the user and server. The user's length is included so
 * `a|b` + `c` can never collide with `a` + `b|c`.
 */
export function authCacheKey(kind: string, value: string, user: string, server: string): string {
  const digest = createHash('sha256').update(kind).update('\0').update(value).digest('base64');
  return `${digest}|${user.length}|${user}|${server}`;
}

/**
 * A bounded, expiring cache of hub decisions. Reads are a Map lookup and a clock compare;
 * the Map's insertion order serves as (approximate) recency order, refreshed at most once per
 * second per entry, and the oldest entries are evicted when it is full.
 */
export class AuthCache {
  readonly #entries = new Map<string, Entry>();
  readonly #allowTtl: number;
  readonly #denyTtl: number;
  readonly #max: number;

  constructor(opts: AuthCacheOptions = {}) {
    this.#allowTtl = opts.allowTtlMs ?? 60_000;
    this.#denyTtl = opts.denyTtlMs ?? 5_000;
    this.#max = Math.max(1, opts.maxEntries ?? 10_000);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached decision for `key`, or undefined when absent or expired. */
  get(key: string, now = Date.now()): AuthDecision | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    if (now - entry.touched >= TOUCH_INTERVAL_MS) {
      entry.touched = now;
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry.decision;
  }

  /** Stores a decision; its lifetime depends on whether it allows access. */
  set(key: string, decision: AuthDecision, now = Date.now()): void {
    const ttl = decision.allowed ? this.#allowTtl : this.#denyTtl;
    this.#entries.delete(key);
    this.#entries.set(key, { decision, expires: now + ttl, touched: now });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Forgets everything (e.g. on logout storms); used by tests. */
  clear(): void {
    this.#entries.clear();
  }
}
