import type { Config } from '../../config/schema.js';
import { fail } from '../../errors/catalogue.js';
import type { Store } from '../../store/types.js';
import { effectiveLimits, groupTotalsOf, type EffectiveLimits } from './limits.js';
import { currentUsage, groupUsage, type Usage, type UsageProvider } from './usage.js';

/** What checkQuota reads: the config's quotas, the store (servers) and the other parts' usage. */
export interface QuotaContext {
  config: Pick<Config, 'quotas'>;
  store: Store;
  providers: readonly UsageProvider[];
}

/** A start or a scale to check: what it adds to the user's current use. */
export interface QuotaRequest {
  user: { name: string; groups: readonly string[] };
  kind: 'server' | 'cluster';
  /** The increase only (scaling 2 → 5 workers of 2 cores adds 6 cores). */
  add: { servers?: number; clusters?: number; cores: number; memoryBytes: number };
  profile?: string;
  executor?: string;
}

const fmt = {
  maxServers: (n: number) => `${n} server${n === 1 ? '' : 's'}`,
  maxClusters: (n: number) => `${n} cluster${n === 1 ? '' : 's'}`,
  maxCores: (n: number) => `${Math.round(n * 1000) / 1000} core${n === 1 ? '' : 's'}`,
  maxMemory: (n: number) => bytes(n),
};

/** "4G", "512Mi", or "1.5 GB": the way config and profiles write sizes, when exact. */
function bytes(n: number): string {
  for (const [unit, size] of [['T', 1e12], ['G', 1e9], ['M', 1e6], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${n} bytes`;
}

/**
 * Refuses a start or scale that would take the user past a limit, with 403 QUOTA_EXCEEDED naming
 * the limit, where it comes from, the current use and the request. Resolves with the usage it
 * saw. Run it under `QuotaService.lock(user)` together with recording the new workload, or two
 * concurrent starts can both pass.
 */
export async function checkQuota(ctx: QuotaContext, req: QuotaRequest): Promise<{ usage: Usage; limits: EffectiveLimits }> {
  const limits = effectiveLimits(ctx.config.quotas, req.user);
  const who = req.user.name;
  if (req.profile !== undefined && limits.profiles && !limits.profiles.value.includes(req.profile)) {
    throw fail('QUOTA_EXCEEDED', `Quota: ${who} may not use profile ${req.profile} (allowed by ${limits.profiles.source}: ${limits.profiles.value.join(', ') || 'none'}).`,
      { extra: { quota: { limit: 'profiles', allowed: limits.profiles.value, requested: req.profile, source: limits.profiles.source } } });
  }
  if (req.executor !== undefined && limits.executors && !limits.executors.value.includes(req.executor)) {
    throw fail('QUOTA_EXCEEDED', `Quota: ${who} may not run workloads on executor ${req.executor} (allowed by ${limits.executors.source}: ${limits.executors.value.join(', ') || 'none'}).`,
      { extra: { quota: { limit: 'executors', allowed: limits.executors.value, requested: req.executor, source: limits.executors.source } } });
  }
  const usage = await currentUsage(ctx.store, ctx.providers, who);
  const over = firstExceeded(usage, req.add, (field) => limits[field]?.value);
  if (over) {
    const { field, used, add, allowed } = over;
    const { source } = limits[field]!;
    const f = fmt[field];
    throw fail('QUOTA_EXCEEDED',
      `Quota exceeded: ${who} may use at most ${f(allowed)} (${field}, from ${source}); ${f(used)} in use now, and this ${req.kind} asks for ${f(add)} more.`,
      { extra: { quota: { limit: field, allowed, used, requested: add, source } } });
  }
  for (const [group, totals] of groupTotalsOf(ctx.config.quotas, req.user)) {
    const sum = await groupUsage(ctx.store, ctx.providers, group, { user: who, usage });
    const groupOver = firstExceeded(sum, req.add, (field) => totals[field]);
    if (!groupOver) continue;
    const { field, used, add, allowed } = groupOver;
    const f = fmt[field];
    const source = `group ${group} total`;
    throw fail('QUOTA_EXCEEDED',
      `Quota exceeded: the members of group ${group} may use at most ${f(allowed)} together (${field}, ${source}); ${f(used)} in use now, and this ${req.kind} of ${who} asks for ${f(add)} more.`,
      { extra: { quota: { limit: field, allowed, used, requested: add, source } } });
  }
  return { usage, limits };
}

type Field = keyof typeof fmt;

/** The first numeric limit that `usage` plus `add` would pass (adding nothing never passes one). */
function firstExceeded(usage: Usage, add: QuotaRequest['add'], allowedFor: (field: Field) => number | undefined): { field: Field; used: number; add: number; allowed: number } | null {
  const checks: Array<[Field, number, number]> = [
    ['maxServers', usage.servers, add.servers ?? 0],
    ['maxClusters', usage.clusters, add.clusters ?? 0],
    ['maxCores', usage.cores, add.cores],
    ['maxMemory', usage.memoryBytes, add.memoryBytes],
  ];
  for (const [field, used, more] of checks) {
    const allowed = allowedFor(field);
    if (allowed !== undefined && more > 0 && used + more > allowed + 1e-9) return { field, used, add: more, allowed };
  }
  return null;
}
