import type { Config } from '../../config/schema.js';
import type { Store } from '../../store/types.js';
import { checkQuota, type QuotaRequest } from './check.js';
import { effectiveLimits, groupTotalsOf, type EffectiveLimits, type GroupTotals } from './limits.js';
import { currentUsage, groupUsage, type AdminWorkload, type Usage, type UsageProvider } from './usage.js';

/**
 * Quotas as the hub holds them: the config's limits, the store's servers, and the usage providers
 * other parts register (clusters). One lock per user serialises "check, then record the new
 * workload", so concurrent starts cannot pass a limit together.
 */
export class QuotaService {
  readonly #providers: UsageProvider[] = [];
  readonly #locks = new Map<string, Promise<void>>();

  constructor(private readonly deps: { config: Pick<Config, 'quotas'>; store: Store }) {}

  /** Adds a part's usage (a clusters service); its use then counts against cores/memory/clusters. */
  register(provider: UsageProvider): void {
    this.#providers.push(provider);
  }

  get providers(): readonly UsageProvider[] {
    return this.#providers;
  }

  /** See `checkQuota`; throws 403 QUOTA_EXCEEDED. */
  check(req: QuotaRequest) {
    return checkQuota({ config: this.deps.config, store: this.deps.store, providers: this.#providers }, req);
  }

  limitsOf(user: { name: string; groups: readonly string[] }): EffectiveLimits {
    return effectiveLimits(this.deps.config.quotas, user);
  }

  usageOf(user: string): Promise<Usage> {
    return currentUsage(this.deps.store, this.#providers, user);
  }

  /** The group totals that apply to `user`, with what the members of each use together now. */
  async groupTotalsOf(user: { name: string; groups: readonly string[] }): Promise<Array<{ group: string; limits: GroupTotals; usage: Usage }>> {
    const out = [];
    for (const [group, limits] of groupTotalsOf(this.deps.config.quotas, user)) {
      out.push({ group, limits, usage: await groupUsage(this.deps.store, this.#providers, group) });
    }
    return out;
  }

  /** Every provider's running workloads (for the admin portal); a failing provider is skipped. */
  async otherWorkloads(): Promise<{ items: AdminWorkload[]; errors: string[] }> {
    const items: AdminWorkload[] = [];
    const errors: string[] = [];
    for (const p of this.#providers) {
      if (!p.list) continue;
      try {
        items.push(...await p.list());
      } catch (err) {
        errors.push(`${p.kind}: ${(err as Error).message}`);
      }
    }
    return { items, errors };
  }

  /**
   * Waits for the user's lock and returns its release function. Hold it from the quota check
   * until the new workload is in the store. A member of groups with totals also takes those
   * groups' locks, so two members cannot pass a group total together; keys are taken in one
   * global order (sorted), so lockers never wait on each other in a cycle.
   */
  async lock(user: string): Promise<() => void> {
    const totals = this.deps.config.quotas.groupTotals;
    const groups = Object.keys(totals).length === 0 ? [] : ((await this.deps.store.getUser(user))?.groups ?? []).filter((g) => totals[g] !== undefined);
    const keys = [`user:${user}`, ...groups.map((g) => `group:${g}`)].sort();
    const releases: Array<() => void> = [];
    for (const key of keys) releases.push(await this.#lockKey(key));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const r of releases.reverse()) r();
    };
  }

  async #lockKey(key: string): Promise<() => void> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const chained = previous.then(() => mine);
    this.#locks.set(key, chained);
    await previous;
    return () => {
      release();
      if (this.#locks.get(key) === chained) this.#locks.delete(key);
    };
  }

  /** Runs `fn` under the user's lock. */
  async withUserLock<T>(user: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.lock(user);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
