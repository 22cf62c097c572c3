/**
 * The adaptive target with hysteresis, as dask-gateway's scheduler preload computes it: the
 * scheduler's wish (`adaptive_target()`, published as `desired_workers`) clamped to [minimum,
 * maximum]; up at once, down only to the largest of the last `window` wishes. With the default
 * period of 3 s and a window of 3, load that stops for a moment keeps its workers, and a worker
 * goes only after ~6–9 s of lower wishes (Dask's own Adaptive waits `wait_count` 3 ticks of 1 s).
 */
export class AdaptiveTarget {
  readonly #recent: number[] = [];

  constructor(readonly window: number) {}

  /** The next worker count for `desired` (the scheduler's wish) when `current` are planned. */
  next(desired: number, bounds: { minimum: number; maximum: number }, current: number): number {
    const wish = Math.min(Math.max(Math.ceil(Number.isFinite(desired) ? desired : 0), bounds.minimum), bounds.maximum);
    this.#recent.push(wish);
    if (this.#recent.length > this.window) this.#recent.shift();
    if (wish >= current) return wish;
    const held = Math.max(...this.#recent);
    // Never above what is planned when going down, never below the bounds.
    return Math.min(Math.max(held, bounds.minimum), current, bounds.maximum);
  }

  /** Forgets past wishes (adaptive switched on again, bounds changed). */
  reset(): void {
    this.#recent.length = 0;
  }
}
