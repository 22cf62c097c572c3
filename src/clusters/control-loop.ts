import type { Config } from '../config/schema.js';
import type { ProgressBoard } from '../hub/servers/progress.js';
import { log } from '../log.js';
import type { ClusterRow, Store } from '../store/types.js';
import { AdaptiveTarget } from './adaptive.js';
import { specOf } from './options.js';
import { UNKNOWN, type ClusterPods } from './pods.js';
import { SchedulerHttp, type SchedulerCounts, type SchedulerIdentity } from './scheduler-http.js';
import { isActive, stateOf, type ClusterState, type WorkerRecord } from './state.js';
import { dashboardPrefix } from './workload.js';

/** The control loop's step: every 100 ms while the scheduler starts (its start is on the user's clock), then every second. */
export const PENDING_TICK_MS = 100;
export const RUNNING_TICK_MS = 1000;
/** The idle timestamp is written to the store at most this often (it only matters after a hub restart). */
const BUSY_CHECKPOINT_MS = 30_000;

/** What the hub keeps in memory for a cluster it manages: the loop's timer and the scheduler's last answers. */
export interface Live {
  name: string;
  http: SchedulerHttp;
  timer: NodeJS.Timeout | null;
  closed: boolean;
  adaptive: AdaptiveTarget;
  adaptiveAt: number;
  adaptiveTarget: number | null;
  identity: SchedulerIdentity | null;
  counts: SchedulerCounts | null;
  countsAt: number;
  lastTasks: number | null;
  /** Workers the scheduler is retiring right now. */
  retiring: number;
  retireAt: number;
  runningAnnounced: boolean;
}

/** A fresh Live for a cluster whose scheduler pod exists. */
export function newLive(row: ClusterRow, config: Config): Live {
  const sched = stateOf(row).scheduler!;
  return {
    name: row.name,
    http: new SchedulerHttp(`http://127.0.0.1:${sched.ports.dashboard}${dashboardPrefix(row.name)}`, row.httpToken),
    timer: null, closed: false,
    adaptive: new AdaptiveTarget(config.clusters.adaptive.scaleDownWindow),
    adaptiveAt: 0, adaptiveTarget: null, identity: null, counts: null, countsAt: 0, lastTasks: null,
    retiring: 0, retireAt: 0, runningAnnounced: false,
  };
}

/** What a step needs from the service around it (the step runs under the cluster's lock). */
export interface StepContext {
  store: Store;
  config: Config;
  pods: ClusterPods;
  progress: ProgressBoard;
  /** Ends the cluster: STOPPED or FAILED with the reason, every pod deleted. */
  end(name: string, ending: 'STOPPED' | 'FAILED', reason: string | null, known?: ClusterState): Promise<void>;
  /** The cluster has just become RUNNING: its routes, progress and waiters. */
  running(row: ClusterRow): Promise<void>;
  /** Stops the loop of a cluster this hub no longer manages. */
  detach(name: string): void;
  /** Retires `n` workers through the scheduler, beside the loop. */
  retire(live: Live, n: number): void;
}

/**
 * One step of a cluster's control loop. Returns the delay to the next step, or -1 when the
 * cluster needs no more steps (ended).
 */
export async function step(ctx: StepContext, live: Live): Promise<number> {
  const { store, config } = ctx;
  const c = config.clusters;
  const row = await store.getCluster(live.name);
  if (!row || !isActive(row.status) || live.closed) {
    ctx.detach(live.name);
    return -1;
  }
  if (row.status === 'STOPPING') {
    await ctx.end(row.name, stateOf(row).ending ?? 'STOPPED', row.failure);
    return -1;
  }
  const state = stateOf(row);
  const spec = specOf(row.config);
  const sched = state.scheduler!;
  const now = Date.now();
  const nowIso = new Date(now).toISOString();
  const observed = await ctx.pods.observe([{ executor: sched.executor, pod: sched.pod }, ...state.workers.map((w) => ({ executor: w.executor, pod: w.pod }))]);
  let dirty = false;

  // The scheduler: gone means the cluster failed.
  const so = observed.get(sched.pod.metadata.uid)!;
  if (so !== UNKNOWN) {
    const sc = so?.containers[0];
    if (!so || sc?.state.terminated) {
      const t = sc?.state.terminated;
      const why = t ? `The scheduler exited with code ${t.exitCode}${t.signal ? ` (signal ${t.signal})` : ''}.` : 'The scheduler pod is gone.';
      const tail = await ctx.pods.logTail(sched.executor, sched.pod);
      await ctx.end(row.name, 'FAILED', tail ? `${why}\n\nLast lines of the scheduler's log:\n${tail}` : why);
      return -1;
    }
    if (row.status === 'PENDING' && sc?.state.running && !live.runningAnnounced) {
      live.runningAnnounced = true;
      ctx.progress.push(row.name, { progress: 50, message: 'Scheduler process running; waiting for it to answer' });
    }
  }
  if (row.status === 'PENDING') {
    if (await live.http.healthy(1000)) {
      sched.ready = nowIso;
      state.lastBusy = nowIso;
      if (!(await store.transitionCluster(row.name, ['PENDING'], { status: 'RUNNING', state: state as unknown as Record<string, unknown> }))) return RUNNING_TICK_MS;
      row.status = 'RUNNING';
      await ctx.running(row);
    } else if (now - Date.parse(row.created) > c.startTimeout * 1000) {
      const tail = await ctx.pods.logTail(sched.executor, sched.pod);
      const why = `The scheduler did not answer within ${c.startTimeout} seconds.`;
      await ctx.end(row.name, 'FAILED', tail ? `${why}\n\nLast lines of the scheduler's log:\n${tail}` : why);
      return -1;
    }
  }

  // Workers: who connected, who died, who never made it.
  let identity: SchedulerIdentity | null = null;
  if (row.status === 'RUNNING') {
    identity = await live.http.identity().catch(() => null);
    live.identity = identity;
  }
  const connected = new Map<string, string>();
  for (const [addr, w] of Object.entries(identity?.workers ?? {})) connected.set(String(w.name), addr);
  const kept: WorkerRecord[] = [];
  for (const w of state.workers) {
    const addr = connected.get(w.name);
    if (addr && !w.connected) {
      w.connected = nowIso;
      w.address = addr;
      state.failures = 0;
      dirty = true;
      ctx.progress.push(row.name, { progress: 100, message: `Worker ${w.name} connected` });
    }
    const wo = observed.get(w.pod.metadata.uid)!;
    if (wo === UNKNOWN) {
      kept.push(w);
      continue;
    }
    const term = wo?.containers[0]?.state.terminated;
    if (!wo || term) {
      dirty = true;
      const why = term ? `exited with code ${term.exitCode}${term.signal ? ` (signal ${term.signal})` : ''}` : 'disappeared';
      if (w.connected) {
        log.warn('cluster: worker died; replacing it', { cluster: row.name, worker: w.name, why });
      } else {
        state.failures++;
        const tail = await ctx.pods.logTail(w.executor, w.pod);
        state.lastFailure = `Worker ${w.name} ${why} before connecting to the scheduler.${tail ? `\n\nLast lines of its log:\n${tail}` : ''}`;
        log.warn('cluster: worker failed to start', { cluster: row.name, worker: w.name, why, failures: state.failures });
      }
      await ctx.pods.delete(w.executor, w.pod);
      continue;
    }
    const since = Math.max(Date.parse(w.created), sched.ready ? Date.parse(sched.ready) : now);
    if (!w.connected && identity && now - since > c.workerStartTimeout * 1000) {
      dirty = true;
      state.failures++;
      const tail = await ctx.pods.logTail(w.executor, w.pod);
      state.lastFailure = `Worker ${w.name} did not connect to the scheduler within ${c.workerStartTimeout} seconds.${tail ? `\n\nLast lines of its log:\n${tail}` : ''}`;
      log.warn('cluster: worker start timed out', { cluster: row.name, worker: w.name, failures: state.failures });
      await ctx.pods.delete(w.executor, w.pod);
      continue;
    }
    kept.push(w);
  }
  state.workers = kept;
  if (state.failures >= c.workerStartFailureLimit) {
    // Workers failing in the same pass (or refused together) may pass the limit at once: the
    // message names the limit that ended the cluster, not how far one pass overshot it.
    await ctx.end(row.name, 'FAILED', `Workers failed to start ${c.workerStartFailureLimit} times in a row (clusters.workerStartFailureLimit). The last failure: ${state.lastFailure}`, state);
    return -1;
  }

  // The worker count: fixed, or adaptive.
  let target = row.desiredWorkers;
  if (row.adaptive) target = await adaptiveTarget(ctx, live, row, state, now);
  target = Math.max(0, Math.min(target, spec.maxWorkers));
  const planned = state.workers.length - live.retiring;
  if (planned < target) {
    // After a failure, one at a time: a broken command then fails once per step, not N times at once.
    const n = state.failures > 0 ? 1 : target - planned;
    await ctx.pods.startWorkers(row, state, n);
    dirty = true;
  } else if (planned > target) {
    let surplus = planned - target;
    // Workers not connected yet go first: they hold nothing.
    for (const w of state.workers.filter((x) => !x.connected).reverse()) {
      if (surplus === 0) break;
      await ctx.pods.delete(w.executor, w.pod);
      state.workers = state.workers.filter((x) => x !== w);
      surplus--;
      dirty = true;
    }
    const cooldown = c.adaptive.period * 1000;
    if (surplus > 0 && identity && live.retiring === 0 && now - live.retireAt >= cooldown) ctx.retire(live, surplus);
  }

  // Limits on time: idle and lifetime.
  if (row.status === 'RUNNING') {
    if (c.maxLifetime > 0 && now - Date.parse(row.created) > c.maxLifetime * 1000) {
      await ctx.end(row.name, 'STOPPED', `Stopped after its maximum lifetime of ${c.maxLifetime} seconds (clusters.maxLifetime).`, state);
      return -1;
    }
    if (c.idleTimeout > 0) {
      const seen = await counts(ctx, live, now);
      if (seen) {
        const busy = seen.processing + seen.waiting + seen.unrunnable > 0 || (live.lastTasks !== null && seen.tasks !== live.lastTasks);
        live.lastTasks = seen.tasks;
        if (busy || !state.lastBusy) {
          if (!state.lastBusy || now - Date.parse(state.lastBusy) > BUSY_CHECKPOINT_MS) dirty = true;
          state.lastBusy = nowIso;
        } else if (now - Date.parse(state.lastBusy) > c.idleTimeout * 1000) {
          await ctx.end(row.name, 'STOPPED', `Stopped after ${c.idleTimeout} seconds without work (clusters.idleTimeout).`, state);
          return -1;
        }
      }
    }
  }
  if (dirty) await store.updateCluster(row.name, { state: state as unknown as Record<string, unknown> });
  return row.status === 'PENDING' ? PENDING_TICK_MS : RUNNING_TICK_MS;
}

/** The scheduler's counts, read at most once per adaptive period. */
async function counts(ctx: StepContext, live: Live, now: number): Promise<SchedulerCounts | null> {
  const period = Math.min(ctx.config.clusters.adaptive.period * 1000, 2000);
  if (live.counts && now - live.countsAt < period) return live.counts;
  try {
    live.counts = await live.http.counts();
    live.countsAt = now;
    return live.counts;
  } catch {
    return null;
  }
}

async function adaptiveTarget(ctx: StepContext, live: Live, row: ClusterRow, state: ClusterState, now: number): Promise<number> {
  const bounds = row.adaptive!;
  const period = ctx.config.clusters.adaptive.period * 1000;
  if (live.adaptiveTarget !== null && now - live.adaptiveAt < period) return Math.min(Math.max(live.adaptiveTarget, bounds.minimum), bounds.maximum);
  const planned = state.workers.length - live.retiring;
  if (row.status !== 'RUNNING') return Math.max(bounds.minimum, Math.min(planned, bounds.maximum));
  let desired: number;
  try {
    desired = (await live.http.counts()).desired_workers;
  } catch {
    return live.adaptiveTarget ?? planned;
  }
  live.adaptiveAt = now;
  live.adaptiveTarget = live.adaptive.next(desired, bounds, planned);
  return live.adaptiveTarget;
}
