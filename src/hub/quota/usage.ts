import { parseMemory } from '../../executors/quantity.js';
import type { Store } from '../../store/types.js';

/** What a user is using now: workloads and their resources. */
export interface Usage {
  servers: number;
  clusters: number;
  cores: number;
  memoryBytes: number;
}

/** A running thing the admin portal lists (a cluster, a batch job): owner, age, activity, resources. */
export interface AdminWorkload {
  kind: string;
  user: string;
  name: string;
  state: string;
  started: string | null;
  lastActivity: string | null;
  cores: number;
  memoryBytes: number;
  /** Extra facts to show (e.g. workers: 4). */
  detail?: Record<string, unknown>;
  /** The API URL an admin DELETEs to stop it, if it can be stopped. */
  stopUrl?: string;
}

/**
 * Another part's share of a user's usage. The clusters service registers one so that cores and
 * memory are limited across servers and clusters together, and so that the admin portal lists
 * clusters beside servers.
 */
export interface UsageProvider {
  /** e.g. "cluster". */
  readonly kind: string;
  /** This part's current use by `user` (what is starting counts as used). */
  usageOf(user: string): Promise<Partial<Usage>>;
  /** Everything of this kind that runs now, for the admin portal. */
  list?(): Promise<AdminWorkload[]>;
}

/** Cores and bytes a server was started with (its validated user options). */
export function serverResources(userOptions: Record<string, unknown>): { cores: number; memoryBytes: number } {
  const cores = typeof userOptions.cores === 'number' && Number.isFinite(userOptions.cores) ? userOptions.cores : 0;
  let memoryBytes = 0;
  try {
    memoryBytes = typeof userOptions.memory === 'string' ? parseMemory(userOptions.memory) : 0;
  } catch {
    memoryBytes = 0;
  }
  return { cores, memoryBytes };
}

/** The user's servers that are not stopped (starting counts), plus every provider's share. */
export async function currentUsage(store: Store, providers: readonly UsageProvider[], user: string): Promise<Usage> {
  const usage: Usage = { servers: 0, clusters: 0, cores: 0, memoryBytes: 0 };
  for (const s of await store.listServers(user)) {
    if (s.state === 'stopped') continue;
    const r = serverResources(s.userOptions);
    usage.servers++;
    usage.cores += r.cores;
    usage.memoryBytes += r.memoryBytes;
  }
  for (const p of providers) {
    const u = await p.usageOf(user);
    usage.servers += u.servers ?? 0;
    usage.clusters += u.clusters ?? 0;
    usage.cores += u.cores ?? 0;
    usage.memoryBytes += u.memoryBytes ?? 0;
  }
  return usage;
}

/**
 * What all members of `group` use together (the store's membership). `known` is a member's usage
 * already read, and counts that member even when the store's membership lags behind its token.
 */
export async function groupUsage(store: Store, providers: readonly UsageProvider[], group: string, known?: { user: string; usage: Usage }): Promise<Usage> {
  const members = (await store.getGroup(group))?.members ?? [];
  const everyone = known && !members.includes(known.user) ? [...members, known.user] : members;
  const sum: Usage = { servers: 0, clusters: 0, cores: 0, memoryBytes: 0 };
  for (const m of everyone) {
    const u = known?.user === m ? known.usage : await currentUsage(store, providers, m);
    sum.servers += u.servers;
    sum.clusters += u.clusters;
    sum.cores += u.cores;
    sum.memoryBytes += u.memoryBytes;
  }
  return sum;
}
