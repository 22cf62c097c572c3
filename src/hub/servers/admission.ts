import { fail } from '../../errors/catalogue.js';

/** The limits admission applies (the `hub` config keys of the same names). */
export interface AdmissionLimits {
  /** Starts in progress at once; 0: no limit. */
  concurrentSpawnLimit: number;
  /** Servers not fully stopped at once, all users together; 0: no limit. */
  activeServerLimit: number;
  /** Bounds of the Retry-After suggested to refused starts, seconds. */
  spawnRetryAfterMin: number;
  spawnRetryAfterMax: number;
}

interface Waiting {
  /** ms timestamp after which a starter who has not asked again has given up. */
  expires: number;
}

/** Waiting starters remembered at most; past it, refusals carry no place in line. */
const MAX_QUEUE = 10_000;
/** Start durations the Retry-After estimate is the median of. */
const SAMPLES = 21;

/**
 * Admission control for server starts, as JupyterHub's `concurrent_spawn_limit` and
 * `active_server_limit`, with one addition: a refused starter gets a place in a first-come queue.
 *
 * JupyterHub answers 429 with a random Retry-After (30–60 s) so a crowd does not retry in step;
 * whoever retries first after a slot frees wins. Here a refused start (user/server) joins a FIFO
 * and keeps its place as long as it asks again before its place expires (its Retry-After plus as
 * much again, at least 10 s); a free slot goes to the first in line, and a newcomer queues behind
 * everyone already waiting. So the portal can say "12 ahead of you", and Retry-After can be short
 * (order no longer depends on it): the median of recent start times per round of `limit` starts
 * ahead, within [spawnRetryAfterMin, spawnRetryAfterMax]. A client that never asks again holds a
 * slot back for that expiry time at most.
 *
 * All decisions are synchronous, so no two concurrent requests can both take the last slot;
 * the caller does any store read (the active servers) before calling `admit`.
 */
export class Admission {
  /** Keys (`user/server`) of starts in progress: admitted, or resumed after a hub restart. */
  readonly #starting = new Set<string>();
  /** Refused starters, oldest first (a Map keeps insertion order). */
  readonly #queue = new Map<string, Waiting>();
  /** Recent successful start durations, seconds. */
  readonly #durations: number[] = [];
  #peak = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts in progress. */
  get starting(): number { return this.#starting.size; }

  /** The most starts in progress at once since this hub started (diagnostics and tests). */
  get peak(): number { return this.#peak; }

  /** Starters waiting in line (expired places dropped). */
  get waiting(): number {
    this.#prune();
    return this.#queue.size;
  }

  /**
   * Reserves a start slot for `key`, or throws 429: SPAWN_LIMIT (with `retryAfter`, `position`
   * — 1 is next — and `queue_length`) or ACTIVE_SERVER_LIMIT (with `retryAfter`). `active` are the
   * keys of servers the store has not stopped, read just before; only needed with an active limit.
   */
  admit(key: string, active: Iterable<string> = []): void {
    const { concurrentSpawnLimit: spawnLimit, activeServerLimit: activeLimit } = this.limits;
    if (spawnLimit > 0) {
      this.#prune();
      const free = spawnLimit - this.#starting.size;
      const ahead = this.#queue.has(key) ? this.#indexOf(key) : this.#queue.size;
      if (ahead >= free) this.#refuseSpawn(key, ahead);
    }
    if (activeLimit > 0) {
      let count = this.#starting.size;
      for (const k of active) if (k !== key && !this.#starting.has(k)) count++;
      if (count >= activeLimit) {
        const retryAfter = this.#jitter(this.limits.spawnRetryAfterMax);
        throw fail('ACTIVE_SERVER_LIMIT', `Active user limit exceeded: ${activeLimit} servers are running or starting. Try again in a few minutes.`, { extra: { retryAfter } });
      }
    }
    this.#queue.delete(key);
    this.#starting.add(key);
    this.#peak = Math.max(this.#peak, this.#starting.size);
  }

  /** Counts a start that needs no admission (resumed after a hub restart). */
  track(key: string): void {
    this.#starting.add(key);
    this.#peak = Math.max(this.#peak, this.#starting.size);
  }

  /** Ends a start; `seconds` it took when it succeeded, for the Retry-After estimate. */
  release(key: string, seconds?: number): void {
    if (!this.#starting.delete(key)) return;
    if (seconds === undefined || !Number.isFinite(seconds)) return;
    this.#durations.push(seconds);
    if (this.#durations.length > SAMPLES) this.#durations.shift();
  }

  /** Leaves the line (the starter started elsewhere, or stopped wanting to). */
  forget(key: string): void {
    this.#queue.delete(key);
  }

  #refuseSpawn(key: string, ahead: number): never {
    const { concurrentSpawnLimit: limit, spawnRetryAfterMin: min, spawnRetryAfterMax: max } = this.limits;
    const queued = this.#queue.has(key) || this.#queue.size < MAX_QUEUE;
    const rounds = Math.floor(ahead / limit) + 1;
    const retryAfter = this.#jitter(Math.min(max, Math.max(min, Math.ceil(rounds * this.#typicalStart()))));
    const extra: Record<string, unknown> = { retryAfter };
    let where = '';
    if (queued) {
      // Re-inserted at its place: only its expiry changes.
      const entry = this.#queue.get(key) ?? { expires: 0 };
      entry.expires = this.now() + (2 * retryAfter + 10) * 1000;
      this.#queue.set(key, entry);
      Object.assign(extra, { position: ahead + 1, queue_length: this.#queue.size });
      where = ahead === 0 ? ' You are next in line.' : ` ${ahead} ${ahead === 1 ? 'user is' : 'users are'} ahead of you.`;
    }
    throw fail('SPAWN_LIMIT', `Too many users trying to log in right now. Try again in ${humanSeconds(retryAfter)}.${where}`, { extra });
  }

  /** The median of recent start durations, or the shortest Retry-After before any start finished. */
  #typicalStart(): number {
    if (this.#durations.length === 0) return this.limits.spawnRetryAfterMin;
    const sorted = [...this.#durations].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  /** Up to 10 % more, so a crowd refused together does not come back in the same instant. */
  #jitter(seconds: number): number {
    return Math.max(1, seconds + Math.floor(this.random() * Math.max(1, seconds * 0.1)));
  }

  #indexOf(key: string): number {
    let i = 0;
    for (const k of this.#queue.keys()) {
      if (k === key) return i;
      i++;
    }
    return i;
  }

  #prune(): void {
    const now = this.now();
    for (const [k, w] of this.#queue) if (w.expires <= now) this.#queue.delete(k);
  }
}

/** JupyterHub's rounding for people: up to the next 10 seconds, or minutes past 90 s. */
export function humanSeconds(s: number): string {
  if (s <= 90) return `${Math.ceil(s / 10) * 10} seconds`;
  const m = Math.round(s / 60);
  return `${m} minutes`;
}
