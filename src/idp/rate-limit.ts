/**
 * Failed-login limiter for the embedded IdP's login form: a sliding window of failure times per
 * key (one key per username, one per client IP). In memory on purpose: a restart forgives, which is
 * fine for a modest guessing brake; the scrypt cost does the rest.
 */
export interface LoginRateLimit {
  /** Failed attempts allowed per username within the window (default 10). */
  perUsername: number;
  /** Failed attempts allowed per client IP within the window (default 30: several users may share a NAT). */
  perIp: number;
  /** Window length in seconds (default 60). */
  windowSeconds: number;
}

export const DEFAULT_LOGIN_RATE_LIMIT: LoginRateLimit = { perUsername: 10, perIp: 30, windowSeconds: 60 };

/** The most keys remembered; beyond it the stalest are forgotten so a flood cannot exhaust memory. */
const MAX_KEYS = 10_000;

export class FailedLoginLimiter {
  readonly #limits: LoginRateLimit;
  readonly #failures = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(limits: LoginRateLimit = DEFAULT_LOGIN_RATE_LIMIT, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  #recent(key: string): number[] {
    const cutoff = this.#now() - this.#limits.windowSeconds * 1000;
    const times = (this.#failures.get(key) ?? []).filter(function inWindow(t) { return t > cutoff; });
    if (times.length) this.#failures.set(key, times);
    else this.#failures.delete(key);
    return times;
  }

  #keys(username: string, ip: string): [string, number][] {
    return [[`user:${username.toLowerCase()}`, this.#limits.perUsername], [`ip:${ip}`, this.#limits.perIp]];
  }

  /** Seconds until another attempt is allowed for this username/IP, or 0 when allowed now. */
  retryAfter(username: string, ip: string): number {
    let wait = 0;
    for (const [key, limit] of this.#keys(username, ip)) {
      const times = this.#recent(key);
      if (times.length >= limit) {
        const freeAt = times[times.length - limit] + this.#limits.windowSeconds * 1000;
        wait = Math.max(wait, Math.ceil((freeAt - this.#now()) / 1000));
      }
    }
    return wait;
  }

  recordFailure(username: string, ip: string): void {
    const now = this.#now();
    for (const [key] of this.#keys(username, ip)) {
      const times = this.#recent(key);
      times.push(now);
      this.#failures.delete(key); // re-insert: Map order doubles as least-recently-failed order
      this.#failures.set(key, times);
    }
    while (this.#failures.size > MAX_KEYS) {
      const oldest = this.#failures.keys().next().value as string;
      this.#failures.delete(oldest);
    }
  }

  /** A successful login clears the username's count (the IP's stays: it may be guessing others). */
  recordSuccess(username: string): void {
    this.#failures.delete(`user:${username.toLowerCase()}`);
  }
}
