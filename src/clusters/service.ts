import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { newSecret } from '../auth/tokens.js';
import type { Config } from '../config/schema.js';
import { fail, HighrateError } from '../errors/catalogue.js';
import type { Executor } from '../executors/types.js';
import type { QuotaService } from '../hub/quota/index.js';
import { freePort } from '../http/ports.js';
import { ProgressBoard } from '../hub/servers/progress.js';
import { log } from '../log.js';
import type { ClusterRow, ClusterStatus, Store, UserRow } from '../store/types.js';
import { newLive, step, type Live, type StepContext } from './control-loop.js';
import { readDashboard, type DashboardData } from './dashboard.js';
import { resolveOptions, specOf } from './options.js';
import { ClusterPods } from './pods.js';
import { clusterReservation } from './resources.js';
import { clusterRoutePath, clusterRouteServer } from '../contracts/cluster-routes.js';
import { SchedulerHttp, type SchedulerIdentity } from './scheduler-http.js';
import { emptyState, isActive, stateOf, type ClusterState } from './state.js';
import { generateCredentials } from './tls.js';
import { dashboardPrefix, schedulerPod } from './workload.js';
import { routeDrift } from '../proxy/token-digest.js';
import type { UnixIdentity } from '../executors/security.js';

export interface ClusterServiceDeps {
  config: Config;
  store: Store;
  executors: ReadonlyMap<string, Executor>;
  /** The proxy's route API: dashboard routes, and the Dask port's routes (its `/api/dask` extension). */
  proxy: {
    addRoute(prefix: string, target: string, data?: Record<string, unknown>): Promise<void>;
    deleteRoute(prefix: string): Promise<boolean>;
    getRoutes(): Promise<Record<string, unknown>>;
    getDask(): Promise<{ port: number | null; routes: Record<string, { host: string; port: number }> }>;
    setDaskRoute(cluster: string, host: string, port: number): Promise<void>;
    deleteDaskRoute(cluster: string): Promise<boolean>;
  };
  /** `host:port` of the Dask port as clients and workers on other executors reach it. */
  proxyAddress: string;
  /** The hub's per-user limits (clusters, cores, memory, executors across servers and clusters). */
  quota: QuotaService;
  /** Who each user's pods run as (the hub's UnixUsers): a cluster's pods run as its owner. */
  users: { of(user: string): Promise<UnixIdentity> };
  /** Storage tokens for the cluster's pods (src/storage), when storage is on. */
  storageAccess?: (user: string, identity: UnixIdentity, mountPaths: boolean) => Promise<{ hostDir: string; mountPath: string; env: Array<{ name: string; value: string }> }>;
}

/** What the hub knows of a cluster beyond its row: the scheduler's last answers. */
export interface LiveView {
  identity: SchedulerIdentity | null;
  /** Workers the scheduler is retiring right now. */
  retiring: number;
}

/** dask-gateway's `?wait` waits this long for a pending cluster. */
const WAIT_MS = 20_000;
/** Stopped and failed clusters are forgotten after this long, as dask-gateway's db_cluster_max_age. */
const KEEP_ENDED_MS = 24 * 3600 * 1000;

/** The service, or (clusters disabled) a 404 NOT_FOUND saying so: how every cluster endpoint gets it. */
export function enabledService(service: ClusterService | null): () => ClusterService {
  return () => {
    if (!service) throw fail('NOT_FOUND', 'Dask clusters are not enabled on this hub.');
    return service;
  };
}

/**
 * Dask clusters as a service: the lifecycle of each cluster (PENDING → RUNNING → STOPPING →
 * STOPPED, or FAILED), and a control loop per cluster that makes the worker pods match what is
 * wanted — a fixed count (scale) or the scheduler's own wish (adapt) — reading the scheduler's
 * HTTP endpoints and the executors' pod statuses. The store holds desired state and every pod the
 * hub started (ClusterRow.state), so a new hub process re-attaches to running clusters.
 *
 * Policy lives here and in the loop's step (control-loop.ts: options, quotas, timeouts, retries,
 * graceful retirement, idle and lifetime limits); executors only run pods, schedulers only schedule.
 */
export class ClusterService {
  readonly progress = new ProgressBoard();
  readonly #live = new Map<string, Live>();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #changes = new EventEmitter();
  /** Whether each cluster's scheduler has bokeh (asked once). */
  readonly #bokeh = new Map<string, boolean>();
  #closed = false;
  readonly #pods: ClusterPods;
  /** What each step of a control loop uses (control-loop.ts). */
  readonly #step: StepContext;

  constructor(private readonly deps: ClusterServiceDeps) {
    this.#changes.setMaxListeners(0);
    this.#pods = new ClusterPods({ config: deps.config, executors: deps.executors, proxyAddress: deps.proxyAddress, progress: this.progress, users: deps.users, ...(deps.storageAccess ? { storageAccess: deps.storageAccess } : {}) });
    this.#step = {
      store: deps.store,
      config: deps.config,
      pods: this.#pods,
      progress: this.progress,
      end: (name, ending, reason, known) => this.#end(name, ending, reason, known),
      running: (row) => this.#running(row),
      detach: (name) => this.#detach(name),
      retire: (live, n) => this.#retire(live, n),
    };
  }

  get proxyAddress(): string { return this.deps.proxyAddress; }

  /** The scheduler's last answers for a cluster this hub manages, or null. */
  live(name: string): LiveView | null {
    const l = this.#live.get(name);
    return l ? { identity: l.identity, retiring: l.retiring } : null;
  }

  /** A client for a cluster's scheduler HTTP endpoints (dashboards). */
  schedulerHttp(row: ClusterRow): SchedulerHttp | null {
    const s = stateOf(row).scheduler;
    return s ? new SchedulerHttp(`http://127.0.0.1:${s.ports.dashboard}${dashboardPrefix(row.name)}`, row.httpToken) : null;
  }

  /**
   * Creates a cluster for `user` from dask-gateway `cluster_options` (validated; `{}` takes the
   * defaults), with `workers` to start at once. Resolves once the scheduler (and those workers)
   * are submitted, with the PENDING row; the start goes on.
   */
  async create(user: UserRow, clusterOptions: unknown, opts: { workers?: number } = {}): Promise<ClusterRow> {
    const { config, store } = this.deps;
    const c = config.clusters;
    const { options, spec } = resolveOptions(clusterOptions, c);
    const scheduler = this.#executor(spec.schedulerExecutor);
    this.#executor(spec.workerExecutor);
    const name = randomUUID().replace(/-/g, '');
    const workers = Math.min(opts.workers ?? 0, spec.maxWorkers);
    this.progress.reset(name);
    this.progress.push(name, { progress: 0, message: 'Cluster requested' });
    const days = c.maxLifetime > 0 ? c.maxLifetime / 86400 + 1 : 365;
    const [creds, tlsPort, dashboardPort] = await Promise.all([generateCredentials(name, days), freePort(), freePort()]);
    const ports = { tls: tlsPort, dashboard: dashboardPort };
    const row: ClusterRow = {
      name, user: user.name, status: 'PENDING', options, config: spec as unknown as Record<string, unknown>,
      created: new Date().toISOString(), stopped: null, failure: null,
      tlsCert: creds.cert, tlsKey: creds.key, httpToken: newSecret(),
      desiredWorkers: workers, adaptive: null, state: {},
    };
    const pod = schedulerPod(await this.#pods.workloadInput(row, spec.schedulerExecutor), ports);
    const state = emptyState();
    state.scheduler = { executor: scheduler.name, pod: pod.pod, ports, ready: null };
    row.state = state as unknown as Record<string, unknown>;
    // Check and record under the user's quota lock, so two creates at once cannot both pass.
    await this.deps.quota.withUserLock(user.name, async () => {
      await this.deps.quota.check({ user, kind: 'cluster', add: { cores: 0, memoryBytes: 0 }, executor: spec.workerExecutor });
      await this.deps.quota.check({ user, kind: 'cluster', add: { clusters: 1, ...clusterReservation(row) }, executor: spec.schedulerExecutor });
      await store.insertCluster(row);
    });
    this.progress.push(name, { progress: 10, message: `Submitting the scheduler to the ${scheduler.name} executor` });
    // Under the cluster's lock: a stop arriving meanwhile waits until every pod is recorded.
    return this.#locked(name, async () => {
      // The first workers go with the scheduler: they retry until it listens, so nothing waits.
      const [submitted] = await Promise.allSettled([scheduler.create(pod), workers > 0 ? this.#pods.startWorkers(row, state, workers) : undefined]);
      if (workers > 0) await store.updateCluster(name, { state: state as unknown as Record<string, unknown> });
      if (submitted.status === 'rejected') {
        const err = submitted.reason as unknown;
        const reason = err instanceof HighrateError ? err.message : 'The executor failed.';
        log.warn('cluster: scheduler submission failed', { cluster: name, error: String(err) });
        await this.#end(name, 'FAILED', `The scheduler could not be submitted: ${reason}`);
        return (await store.getCluster(name))!;
      }
      this.progress.push(name, { progress: 30, message: 'Scheduler submitted; waiting for it to answer' });
      await this.deps.proxy.setDaskRoute(name, '127.0.0.1', ports.tls)
        .catch((err: unknown) => log.warn('cluster: Dask route not set (the next reconcile retries)', { cluster: name, error: String(err) }));
      this.#attach(row);
      log.info('cluster created', { cluster: name, user: user.name, workerExecutor: spec.workerExecutor });
      return row;
    });
  }

  /** A cluster by name, or null. */
  get(name: string): Promise<ClusterRow | null> {
    return this.deps.store.getCluster(name);
  }

  /** A user's clusters (everyone's without a user), oldest first; all statuses without a filter. */
  list(user: string | undefined, statuses?: ClusterStatus[]): Promise<ClusterRow[]> {
    return this.deps.store.listClusters({ user, statuses });
  }

  /** Live dashboard data of a running cluster, read from its scheduler now. */
  async dashboard(row: ClusterRow): Promise<DashboardData> {
    const http = this.schedulerHttp(row);
    if (!http) throw fail('CLUSTER_NOT_RUNNING', `Cluster ${row.name} has no scheduler.`);
    let bokeh = this.#bokeh.get(row.name);
    if (bokeh === undefined) {
      bokeh = await http.hasBokeh();
      this.#bokeh.set(row.name, bokeh);
    }
    return readDashboard(http, { bokeh });
  }

  /** Waits (up to 20 s, dask-gateway's `?wait`) while the cluster is PENDING. */
  async waitWhilePending(name: string, timeoutMs = WAIT_MS): Promise<ClusterRow | null> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.deps.store.getCluster(name);
      if (!row || row.status !== 'PENDING' || Date.now() >= until) return row;
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); this.#changes.off(name, done); resolve(); };
        const t = setTimeout(done, Math.min(1000, until - Date.now()));
        this.#changes.on(name, done);
      });
    }
  }

  /**
   * Scales to `count` workers and turns adaptive off (dask-gateway's semantics). More than the
   * cluster's `max_workers` is clamped, with a message; past the user's quota it is refused.
   */
  /** Sets the worker count, capped at `max_workers` (with a message); `applied` is the count set. */
  async scale(name: string, count: number, user: UserRow): Promise<{ ok: boolean; msg: string | null; applied: number }> {
    const row = await this.#activeRow(name);
    const spec = specOf(row.config);
    let msg: string | null = null;
    if (count > spec.maxWorkers) {
      msg = `Scale request of ${count} workers would exceed resource limit of ${spec.maxWorkers} workers. Scaling to ${spec.maxWorkers} instead.`;
      count = spec.maxWorkers;
    }
    await this.#withQuota(user, row, count, () => this.deps.store.updateCluster(name, { desiredWorkers: count, adaptive: null }));
    this.#live.get(name)?.adaptive.reset();
    this.#wake(name);
    log.info('cluster scaled', { cluster: name, workers: count });
    return { ok: msg === null, msg, applied: count };
  }

  /**
   * Adaptive scaling between `minimum` and `maximum` (clamped to `max_workers`, with a message),
   * or, with `active: false`, back to manual scaling at the current worker count.
   */
  async adapt(name: string, bounds: { minimum?: number | null; maximum?: number | null; active?: boolean }, user: UserRow): Promise<{ ok: boolean; msg: string | null; applied: { minimum: number; maximum: number } | { workers: number } }> {
    const row = await this.#activeRow(name);
    const spec = specOf(row.config);
    if (bounds.active === false) {
      const planned = stateOf(row).workers.length - (this.#live.get(name)?.retiring ?? 0);
      await this.deps.store.updateCluster(name, { adaptive: null, desiredWorkers: Math.max(0, planned) });
      this.#wake(name);
      return { ok: true, msg: null, applied: { workers: Math.max(0, planned) } };
    }
    let minimum = bounds.minimum ?? 0;
    let maximum = bounds.maximum ?? spec.maxWorkers;
    let msg: string | null = null;
    if (maximum > spec.maxWorkers || minimum > spec.maxWorkers) {
      const [m0, x0] = [minimum, maximum];
      maximum = Math.min(spec.maxWorkers, maximum);
      minimum = Math.min(spec.maxWorkers, minimum);
      msg = `Adapt with \`maximum=${x0}, minimum=${m0}\` workers would exceed resource limit of ${spec.maxWorkers} workers. Using \`maximum=${maximum}, minimum=${minimum}\` instead.`;
    }
    if (minimum > maximum) throw fail('INVALID_CLUSTER_OPTIONS', `minimum (${minimum}) must not be above maximum (${maximum}).`);
    await this.#withQuota(user, row, maximum, () => this.deps.store.updateCluster(name, { adaptive: { minimum, maximum } }));
    const live = this.#live.get(name);
    if (live) {
      live.adaptive.reset();
      live.adaptiveTarget = null;
    }
    this.#wake(name);
    log.info('cluster adaptive', { cluster: name, minimum, maximum });
    return { ok: msg === null, msg, applied: { minimum, maximum } };
  }

  /**
   * Stops a cluster: routes removed, every pod deleted, STOPPED (or FAILED with `failure`).
   * Stopping a stopped cluster does nothing.
   */
  stop(name: string, opts: { reason?: string; failed?: boolean } = {}): Promise<void> {
    return this.#locked(name, () => this.#end(name, opts.failed ? 'FAILED' : 'STOPPED', opts.reason ?? null));
  }

  /**
   * Re-attaches to the clusters the store says are active (after a hub restart: their pods kept
   * running), puts their dashboard and SNI routes back, and forgets clusters ended long ago.
   */
  async reconcile(): Promise<void> {
    const rows = await this.deps.store.listClusters({ statuses: ['PENDING', 'RUNNING', 'STOPPING'] });
    // A proxy that restarted (or lost its table) gets the dashboard and Dask routes back; Dask
    // routes of clusters that ended while the hub was down go.
    const [routes, dask] = await Promise.all([this.deps.proxy.getRoutes().catch(() => null), this.deps.proxy.getDask().catch(() => null)]);
    for (const row of rows) {
      const fresh = !this.#live.has(row.name);
      if (fresh) {
        this.#attach(row);
        log.info('cluster re-attached', { cluster: row.name, status: row.status });
      }
      // Verified, not only re-added: a route re-pointed or re-owned through the route API is put back.
      if (row.status === 'RUNNING' && (fresh || (routes && dashboardRouteDrifts(routes[clusterRoutePath(row.name)], row)))) {
        await this.#addDashboardRoute(row).catch((err: unknown) => log.warn('cluster: dashboard route not restored', { cluster: row.name, error: String(err) }));
      }
      const sched = stateOf(row).scheduler;
      const routed = dask?.routes[row.name];
      if (dask && sched && row.status !== 'STOPPING' && (routed?.host !== '127.0.0.1' || routed.port !== sched.ports.tls)) {
        await this.deps.proxy.setDaskRoute(row.name, '127.0.0.1', sched.ports.tls)
          .catch((err: unknown) => log.warn('cluster: Dask route not restored', { cluster: row.name, error: String(err) }));
      }
    }
    const listed = new Set(rows.map((r) => r.name));
    for (const other of Object.keys(dask?.routes ?? {}).filter((n) => !listed.has(n))) {
      // Read again: a cluster created since the listing has its row (and route) already.
      const row = await this.deps.store.getCluster(other);
      if (!row || !isActive(row.status)) await this.deps.proxy.deleteDaskRoute(other).catch(() => false);
    }
    await this.deps.store.deleteClustersEndedBefore(new Date(Date.now() - KEEP_ENDED_MS).toISOString()).catch(() => 0);
  }

  /** Stops the control loops (pods keep running; the next hub re-attaches) and waits for ticks in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const live of this.#live.values()) {
      live.closed = true;
      if (live.timer) clearTimeout(live.timer);
    }
    await Promise.all([...this.#locks.values()].map((p) => p.catch(() => undefined)));
    this.#live.clear();
  }

  /** Waits until no tick or stop is in flight (tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.#locks.values()].map((p) => p.catch(() => undefined)));
  }

  // ---- internals

  #executor(name: string): Executor {
    const ex = this.deps.executors.get(name);
    if (!ex) throw fail('EXECUTOR_FAILED', `No executor named ${name} is configured.`);
    return ex;
  }

  /**
   * Records a new worker count (or adaptive maximum) after checking what it adds to the owner's
   * use, under the owner's quota lock. Going down is never refused.
   */
  async #withQuota(user: UserRow, row: ClusterRow, workers: number, record: () => Promise<void>): Promise<void> {
    await this.deps.quota.withUserLock(row.user, async () => {
      const fresh = (await this.deps.store.getCluster(row.name)) ?? row;
      const before = clusterReservation(fresh);
      const after = clusterReservation(fresh, workers);
      const add = { cores: Math.max(0, after.cores - before.cores), memoryBytes: Math.max(0, after.memoryBytes - before.memoryBytes) };
      if (add.cores > 0 || add.memoryBytes > 0) await this.deps.quota.check({ user, kind: 'cluster', add });
      await record();
    });
  }

  async #activeRow(name: string): Promise<ClusterRow> {
    const row = await this.deps.store.getCluster(name);
    if (!row) throw fail('CLUSTER_NOT_FOUND', `Cluster ${name} not found`);
    if (row.status !== 'PENDING' && row.status !== 'RUNNING') throw fail('CLUSTER_NOT_RUNNING', `Cluster ${name} is ${row.status.toLowerCase()}.`);
    return row;
  }

  /** Runs `fn` after every earlier call for the same cluster has finished. */
  #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(name) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(name, tail);
    void tail.then(() => { if (this.#locks.get(name) === tail) this.#locks.delete(name); });
    return run;
  }

  #attach(row: ClusterRow): void {
    if (this.#closed || this.#live.has(row.name) || !stateOf(row).scheduler) return;
    const live = newLive(row, this.deps.config);
    this.#live.set(row.name, live);
    this.#schedule(live, 0);
  }

  #detach(name: string): void {
    const live = this.#live.get(name);
    if (!live) return;
    live.closed = true;
    if (live.timer) clearTimeout(live.timer);
    this.#live.delete(name);
  }

  #schedule(live: Live, delayMs: number): void {
    if (live.closed) return;
    if (live.timer) clearTimeout(live.timer);
    live.timer = setTimeout(() => this.#run(live), delayMs);
    live.timer.unref();
  }

  #wake(name: string): void {
    const live = this.#live.get(name);
    if (live) this.#schedule(live, 0);
  }

  #run(live: Live): void {
    live.timer = null;
    this.#locked(live.name, () => step(this.#step, live)).then(
      (next) => { if (next >= 0) this.#schedule(live, next); },
      (err: unknown) => {
        log.warn('cluster: control loop step failed', { cluster: live.name, error: String((err as Error)?.stack ?? err) });
        this.#schedule(live, 2000);
      },
    );
  }

  /**
   * Retires `n` workers through the scheduler (it picks idle ones holding the least data and moves
   * their results away first), then deletes their pods. Runs beside the control loop; the loop
   * counts them as going meanwhile.
   */
  #retire(live: Live, n: number): void {
    live.retiring += n;
    live.retireAt = Date.now();
    const name = live.name;
    live.http.retire({ n })
      .then((retired) => this.#locked(name, async () => {
        const row = await this.deps.store.getCluster(name);
        if (!row || !isActive(row.status)) return;
        const state = stateOf(row);
        const addrs = new Set(Object.keys(retired));
        const names = new Set(Object.values(retired).map((i) => String(i?.name)));
        const gone = state.workers.filter((w) => names.has(w.name) || (w.address !== null && addrs.has(w.address)));
        await Promise.all(gone.map((w) => this.#pods.delete(w.executor, w.pod)));
        state.workers = state.workers.filter((w) => !gone.includes(w));
        await this.deps.store.updateCluster(name, { state: state as unknown as Record<string, unknown> });
        log.info('cluster: workers retired', { cluster: name, asked: n, retired: gone.length });
      }))
      .catch((err: unknown) => log.warn('cluster: retiring workers failed', { cluster: name, error: String(err) }))
      .finally(() => {
        live.retiring -= n;
        this.#wake(name);
      });
  }

  async #addDashboardRoute(row: ClusterRow): Promise<void> {
    const data = dashboardRoute(row);
    if (!data) return;
    await this.deps.proxy.addRoute(clusterRoutePath(row.name), data.target, data.data);
  }

  /** The cluster has just become RUNNING: its dashboard route, progress and waiters. */
  async #running(row: ClusterRow): Promise<void> {
    await this.#addDashboardRoute(row).catch((err: unknown) => log.warn('cluster: dashboard route not added', { cluster: row.name, error: String(err) }));
    this.progress.push(row.name, { progress: 100, ready: true, message: `Cluster ${row.name} is running`, url: `/hub/clusters/${row.name}` });
    this.#changes.emit(row.name);
    log.info('cluster running', { cluster: row.name, ms: Date.now() - Date.parse(row.created) });
  }

  /**
   * Ends a cluster (under its lock): STOPPING is recorded first, so a hub that dies half-way
   * finishes the job at its next start; then routes go, every pod is deleted, and the row ends
   * STOPPED or FAILED with the reason.
   */
  async #end(name: string, ending: 'STOPPED' | 'FAILED', reason: string | null, known?: ClusterState): Promise<void> {
    const row = await this.deps.store.getCluster(name);
    if (!row || !isActive(row.status)) return;
    const state = known ?? stateOf(row);
    state.ending = row.status === 'STOPPING' ? (state.ending ?? ending) : ending;
    const failure = row.status === 'STOPPING' ? row.failure : reason;
    await this.deps.store.updateCluster(name, { status: 'STOPPING', failure, state: state as unknown as Record<string, unknown> });
    this.#detach(name);
    this.#bokeh.delete(name);
    this.#changes.emit(name);
    await this.deps.proxy.deleteRoute(clusterRoutePath(name)).catch((err: unknown) => log.warn('cluster: route delete failed', { cluster: name, error: String(err) }));
    await this.deps.proxy.deleteDaskRoute(name).catch((err: unknown) => log.warn('cluster: Dask route delete failed', { cluster: name, error: String(err) }));
    const pods = [...state.workers.map((w) => ({ executor: w.executor, pod: w.pod })), ...(state.scheduler ? [{ executor: state.scheduler.executor, pod: state.scheduler.pod }] : [])];
    await Promise.all(pods.map((p) => this.#pods.delete(p.executor, p.pod)));
    state.workers = [];
    const final: ClusterStatus = state.ending;
    await this.deps.store.updateCluster(name, { status: final, stopped: new Date().toISOString(), state: state as unknown as Record<string, unknown> });
    this.#changes.emit(name);
    if (final === 'FAILED') {
      this.progress.push(name, { progress: 100, failed: true, message: `Cluster failed: ${failure ?? 'unknown reason'}` });
      log.warn('cluster failed', { cluster: name, reason: failure });
    } else {
      log.info('cluster stopped', { cluster: name, reason: failure });
    }
  }
}

/**
 * The dashboard route of a running cluster: `user` makes the proxy check credentials at the edge
 * (owner or admin, access:clusters); the scheduler's guard then sees the cluster's HTTP token,
 * which only the proxy adds.
 */
function dashboardRoute(row: ClusterRow): { target: string; data: Record<string, unknown> } | null {
  const s = stateOf(row).scheduler;
  if (!s) return null;
  return {
    target: `http://127.0.0.1:${s.ports.dashboard}`,
    data: { user: row.user, server_name: clusterRouteServer(row.name), upstream_token: row.httpToken, cluster: row.name },
  };
}

/** Whether the proxy's route differs from the cluster's dashboard route. */
function dashboardRouteDrifts(shown: unknown, row: ClusterRow): boolean {
  const want = dashboardRoute(row);
  return want !== null && routeDrift(shown, { target: want.target, user: row.user, server_name: clusterRouteServer(row.name), upstream_token: row.httpToken }) !== '';
}
