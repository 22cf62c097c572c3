import type { Config, GroupTotalConfig, QuotaConfig } from '../../config/schema.js';
import { parseMemory } from '../../executors/quantity.js';

type NumericField = 'maxServers' | 'maxClusters' | 'maxCores' | 'maxMemory';
type ListField = 'profiles' | 'executors';

/** One limit and where it comes from ("user", "group /cms", "default"). */
export interface Limit<T> { value: T; source: string }

/** The limits that apply to one user; a missing field does not limit. */
export interface EffectiveLimits {
  maxServers?: Limit<number>;
  maxClusters?: Limit<number>;
  maxCores?: Limit<number>;
  /** Bytes. */
  maxMemory?: Limit<number>;
  profiles?: Limit<string[]>;
  executors?: Limit<string[]>;
}

const NUMERIC: NumericField[] = ['maxServers', 'maxClusters', 'maxCores', 'maxMemory'];
const LISTS: ListField[] = ['profiles', 'executors'];

function numeric(q: QuotaConfig, f: NumericField): number | undefined {
  const v = q[f];
  if (v === undefined) return undefined;
  return f === 'maxMemory' ? parseMemory(v) : (v as number);
}

/**
 * Resolves a user's limits, field by field: the user's own entry wins; else, among the groups the
 * user is in that set the field, the most generous value (largest number, union of lists); else
 * the default entry; else no limit.
 */
export function effectiveLimits(quotas: Config['quotas'], user: { name: string; groups: readonly string[] }): EffectiveLimits {
  const out: EffectiveLimits = {};
  const own = quotas.users[user.name];
  const groups = user.groups.filter((g) => quotas.groups[g] !== undefined).sort();
  for (const f of NUMERIC) {
    const mine = own ? numeric(own, f) : undefined;
    if (mine !== undefined) {
      out[f] = { value: mine, source: 'user' };
      continue;
    }
    let best: Limit<number> | undefined;
    for (const g of groups) {
      const v = numeric(quotas.groups[g]!, f);
      if (v !== undefined && (!best || v > best.value)) best = { value: v, source: `group ${g}` };
    }
    if (best) {
      out[f] = best;
      continue;
    }
    const def = quotas.default ? numeric(quotas.default, f) : undefined;
    if (def !== undefined) out[f] = { value: def, source: 'default' };
  }
  for (const f of LISTS) {
    if (own?.[f] !== undefined) {
      out[f] = { value: [...own[f]!], source: 'user' };
      continue;
    }
    const from = groups.filter((g) => quotas.groups[g]![f] !== undefined);
    if (from.length) {
      out[f] = { value: [...new Set(from.flatMap((g) => quotas.groups[g]![f]!))].sort(), source: from.map((g) => `group ${g}`).join(', ') };
      continue;
    }
    if (quotas.default?.[f] !== undefined) out[f] = { value: [...quotas.default[f]!], source: 'default' };
  }
  return out;
}

/** A group's limits on its members' use together, memory in bytes. */
export type GroupTotals = Partial<Record<NumericField, number>>;

/** The group totals that apply to a user: one entry per group of theirs that has one, sorted. */
export function groupTotalsOf(quotas: Config['quotas'], user: { groups: readonly string[] }): Array<[string, GroupTotals]> {
  return user.groups.filter((g) => quotas.groupTotals[g] !== undefined).sort().map((g) => {
    const t: GroupTotalConfig = quotas.groupTotals[g]!;
    const out: GroupTotals = {};
    for (const f of NUMERIC) {
      const v = t[f];
      if (v !== undefined) out[f] = f === 'maxMemory' ? parseMemory(v as string) : (v as number);
    }
    return [g, out];
  });
}
