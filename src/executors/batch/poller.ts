import { log } from '../../log.js';
import type { BatchJobState } from './types.js';

/** The result of one status command over a set of jobs. */
export interface PollResult {
  /** When the command was started (ms). */
  at: number;
  /** The jobs it asked about. */
  asked: ReadonlySet<string>;
  /** States it returned; asked jobs absent here are missing (forgotten by the controller). */
  states: ReadonlyMap<string, BatchJobState>;
}

/** Thrown by a query when the controller did not answer (timeout, error exit, unparsable output). */
export type Query = (jobIds: string[]) => Promise<Map<string, BatchJobState>>;

/**
 * One status command per poll for every tracked job, whatever the number of pods and callers:
 * - a result younger than `ttlMs` that asked about the wanted jobs is reused;
 * - a poll in flight is joined, not repeated (a burst of status() calls shares one command);
 * - otherwise one new command asks about all active jobs (those of `activeJobs()` plus the wanted).
 * A failed poll keeps the last known states (a controller outage never makes a job look dead)
 * and is logged once per outage; the next call tries again after `ttlMs`.
 */
export class StatusPoller {
  #last: PollResult | null = null;
  #inflight: Promise<PollResult | null> | null = null;
  #inflightAsked: ReadonlySet<string> = new Set();
  #known = new Map<string, BatchJobState>();
  #failedAt = 0;
  #outage: string | null = null;

  constructor(
    private readonly query: Query,
    private readonly activeJobs: () => Iterable<string>,
    private readonly ttlMs: number,
    private readonly label: string,
  ) {}

  /** The last state any poll saw for the job. */
  known(jobId: string): BatchJobState | undefined {
    return this.#known.get(jobId);
  }

  /** The current outage's error, or null while the controller answers. */
  get outage(): string | null {
    return this.#outage;
  }

  forget(jobId: string): void {
    this.#known.delete(jobId);
  }

  /**
   * A poll result covering `wanted` no older than the TTL (`fresh`: started after this call),
   * or null when the controller did not answer (use `known()` then).
   */
  async poll(wanted: readonly string[], fresh = false): Promise<PollResult | null> {
    const since = Date.now();
    const covers = (asked: ReadonlySet<string>) => wanted.every((id) => asked.has(id));
    const last = this.#last;
    if (!fresh && last && since - last.at < this.ttlMs && covers(last.asked)) return last;
    if (this.#inflight && covers(this.#inflightAsked) && !fresh) return this.#inflight;
    // Right after a failure, callers get the known states instead of hammering a sick controller.
    if (!fresh && this.#outage && since - this.#failedAt < this.ttlMs) return null;
    if (this.#inflight) await this.#inflight.catch(() => null);
    // Another caller may have started a poll while this one waited.
    if (this.#inflight && covers(this.#inflightAsked)) return this.#inflight;
    const asked = new Set<string>([...this.activeJobs(), ...wanted]);
    if (asked.size === 0) return { at: since, asked, states: new Map() };
    const at = Date.now();
    const p = this.query([...asked]).then(
      (states) => {
        for (const [id, s] of states) this.#known.set(id, s);
        if (this.#outage) log.info(`${this.label}: the batch controller answers again`, { after: this.#outage });
        this.#outage = null;
        const r: PollResult = { at, asked, states };
        this.#last = r;
        return r;
      },
      (err: unknown) => {
        const msg = String((err as Error)?.message ?? err);
        if (!this.#outage) log.warn(`${this.label}: job status query failed; keeping the last known states`, { error: msg });
        this.#outage = msg;
        this.#failedAt = Date.now();
        return null;
      },
    ).finally(() => {
      if (this.#inflight === p) this.#inflight = null;
    });
    this.#inflight = p;
    this.#inflightAsked = asked;
    return p;
  }
}
