import { join } from 'node:path';
import type { HubMetrics } from '../metrics.js';
import type { Config } from '../../config/schema.js';
import { newSecret } from '../../auth/tokens.js';
import { fail, HighrateError } from '../../errors/catalogue.js';
import type { Executor, Pod, PodStatus, RetrievedPodData } from '../../executors/types.js';
import { log } from '../../log.js';
import type { ProxyClient } from '../../proxy/index.js';
import type { ServerRow, Store, UserRow } from '../../store/types.js';
import { routeKey, serverPath } from '../models.js';
import { optionsFromBody, validateOptions } from './options.js';
import { freePort } from '../../http/ports.js';
import { ProgressBoard } from './progress.js';
import { waitForHttp } from './readiness.js';
import { notebookPod, PLAIN_NOTEBOOK_COMMAND, serverAuthMode, SINGLEUSER_COMMAND, type NotebookStorageAccess, type ServerAuth } from './workload.js';
import type { UnixIdentity } from '../../executors/security.js';
import { issueServerCredentials, revokeServerCredentials } from '../oauth/server-client.js';
import { QUEUED_REASON } from '../../executors/batch/status.js';
import { AddressBoard, addressUrl, callbackTokenMatches, newCallbackToken, wrapperPython, type WorkloadAddress } from './remote-address.js';
import type { NotebookClusterAccessProvider } from './cluster-access.js';
import { routeDrift } from '../../proxy/token-digest.js';
import type { UnixUsers } from '../unix-users.js';
import type { QuotaService } from '../quota/index.js';
import { serverResources } from '../quota/index.js';
import { Admission } from './admission.js';

/** How long a POST waits for the server before answering 202 (JupyterHub's slow_spawn_timeout). */
const SLOW_SPAWN_MS = 10_000;
/** How long a DELETE waits for the stop before answering 202. */
const SLOW_STOP_MS = 10_000;
const LOG_TAIL_LINES = 20;

export interface ManagerDeps {
  config: Config;
  store: Store;
  executors: ReadonlyMap<string, Executor>;
  proxy: ProxyClient;
  dataDir: string;
  publicUrl: string;
  /** Per-user limits, checked (under the user's lock) before a start is recorded. */
  quota?: QuotaService;
  /** Dask clusters from notebooks: cluster scopes on the server's token, and dask-gateway's variables. */
  clusterAccess?: NotebookClusterAccessProvider;
  /** The notebook command of profiles that name none (workload.ts: jupyterhub-singleuser where installed). */
  defaultCommand: readonly string[];
  /** Who each user's pods run as, and their homes. */
  users: Pick<UnixUsers, 'of' | 'ensureHome'>;
  /** Proxy routes other parts own (cluster dashboards): the server reconciler leaves them alone. */
  foreignRoute?: (path: string) => boolean;
  /** Starts the proxy again when it is unreachable (a dead process), re-attaching to a live one. */
  reviveProxy?: () => Promise<void>;
  /** JupyterHub's spawn, stop and server poll histograms (src/hub/metrics.ts). */
  metrics?: Pick<HubMetrics, 'spawn' | 'stop' | 'serverPoll'>;
  /** Storage tokens for pods (src/storage): prepares the user's token file and says how to mount it. */
  storageAccess?: (user: string, groups: readonly string[], identity: UnixIdentity, mountPaths: boolean) => Promise<NotebookStorageAccess>;
}

interface InFlight {
  abort: AbortController;
  done: Promise<void>;
}

const keyOf = (user: string, server: string) => `${user}/${server}`;

/**
 * Owns the lifecycle of notebook servers: start, stop, and re-attachment after a restart.
 * Policy lives here (validation, limits, timeouts, progress, routes); the executor only runs pods.
 * States: stopped → starting → running → stopping → stopped; a failed start goes back to stopped
 * with `failure` set to the reason and the workload's last log lines.
 */
export class ServerManager {
  readonly progress = new ProgressBoard();
  /** Starts waiting for a workload on a batch node to report its address (remote-address.ts). */
  readonly #addresses = new AddressBoard();
  #inflight = new Map<string, InFlight>();
  /** Starts that failed because a hop was away (503), for the caller still waiting on them (start()). */
  #transientFailures = new Map<string, HighrateError>();
  /** The spawn and active-server limits, and the line of refused starters (admission.ts). */
  readonly admission: Admission;

  constructor(private readonly deps: ManagerDeps) {
    this.admission = new Admission(deps.config.hub);
  }

  executorFor(name: string): Executor {
    const ex = this.deps.executors.get(name);
    if (!ex) throw fail('EXECUTOR_FAILED', `No executor named ${name} is configured.`);
    return ex;
  }

  /** Number of starts in progress in this hub. */
  get pendingSpawns(): number { return this.#inflight.size; }

  /**
   * Starts a server. Resolves with "running" when ready within the slow-spawn window, otherwise
   * "starting" (the start goes on). Throws 400 if it is running or busy, 429 past the spawn or
   * active-server limit (admission.ts).
   */
  async start(user: UserRow, server: string, body: Record<string, unknown> | undefined): Promise<'running' | 'starting'> {
    const { config, store } = this.deps;
    const key = keyOf(user.name, server);
    if (this.#inflight.has(key)) {
      this.deps.metrics?.spawn('already-pending', 0);
      throw fail('SERVER_PENDING', `${describe(user.name, server)} is already starting or stopping; please wait.`);
    }
    const requested = Date.now();
    const abort = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((r) => { release = r; });
    this.#inflight.set(key, { abort, done });
    let handedOff = false;
    let releaseQuota = () => {};
    let apiTokenId: string | undefined;
    try {
      const existing = await store.getServer(user.name, server);
      if (existing?.state === 'running') throw fail('SERVER_ALREADY_RUNNING', `${describe(user.name, server)} is already running.`);
      if (existing && existing.state !== 'stopped') throw fail('SERVER_PENDING', `${describe(user.name, server)} is ${existing.state}; please wait.`);
      if (server !== '' && !existing) await this.#checkNamedLimit(user.name);

      const raw = optionsFromBody(body, existing?.userOptions);
      const { options, profile } = validateOptions(raw, config.profiles, {
        groups: user.groups,
        capabilities: (name) => this.deps.executors.get(name)?.capabilities,
      });
      // After the checks that are the request's fault (400s win over 429s, as in JupyterHub).
      const active = config.hub.activeServerLimit > 0 ? (await store.listActiveServers()).map((r) => keyOf(r.user, r.name)) : [];
      try {
        this.admission.admit(key, active);
      } catch (err) {
        const code = (err as { code?: string }).code;
        this.deps.metrics?.spawn(code === 'ACTIVE_SERVER_LIMIT' ? 'too-many-users' : 'throttled', (Date.now() - requested) / 1000);
        throw err;
      }
      if (this.deps.quota) {
        // Check and record under the user's lock, so two starts at once cannot both pass a limit.
        releaseQuota = await this.deps.quota.lock(user.name);
        await this.deps.quota.check({ user, kind: 'server', add: { servers: 1, ...serverResources({ ...options }) }, profile: profile.name, executor: profile.executor });
      }
      const executor = this.executorFor(profile.executor);
      const port = await freePort();
      const identity = await this.deps.users.of(user.name);
      const homeDir = join(this.deps.dataDir, 'homes', user.name);
      this.deps.users.ensureHome(homeDir, identity);
      // Executors that run images start the image's jupyterhub-singleuser; host programs the hub's choice.
      // `auth: token` without a command asks for the plain notebook server.
      const defaultCommand = executor.capabilities.images ? SINGLEUSER_COMMAND : profile.auth === 'token' ? PLAIN_NOTEBOOK_COMMAND : this.deps.defaultCommand;
      const auth: ServerAuth = serverAuthMode(profile, defaultCommand);
      const upstreamToken = auth === 'token' ? newSecret() : null;
      const clusterAccess = this.deps.clusterAccess?.issue(user.name, server);
      const hub = await issueServerCredentials(store, user.name, server, clusterAccess?.scopes ?? []);
      apiTokenId = hub.tokenId;
      // Where the executor decides the node, the workload reports its address with this token.
      const callback = executor.capabilities.remoteAddress ? newCallbackToken() : undefined;
      const remote = callback ? { hubApiUrl: `${this.deps.publicUrl}/hub/api`, token: callback.token, python: wrapperPython(executor.capabilities.images) } : undefined;
      const storage = await this.deps.storageAccess?.(user.name, user.groups, identity, executor.capabilities.mountPaths);
      const podData = notebookPod({
        user: user.name, server, options, profile, port, upstreamToken, homeDir, identity, defaultCommand,
        hubCredentials: { apiToken: hub.apiToken, clientId: hub.clientId },
        mountPaths: executor.capabilities.mountPaths, publicUrl: this.deps.publicUrl, clusterAccess, remote, storage,
      });
      const now = new Date().toISOString();
      const row: ServerRow = {
        user: user.name, name: server, state: 'starting', userOptions: { ...options },
        started: now, lastActivity: now, url: callback ? null : `http://127.0.0.1:${port}`,
        executor: executor.name, podUid: podData.pod.metadata.uid, secret: upstreamToken, failure: null,
        spawnState: { port, pod: podData.pod, auth, apiTokenId: hub.tokenId, ...(callback ? { callbackTokenHash: callback.hash } : {}) },
      };
      await store.putServer(row);
      releaseQuota();
      this.progress.reset(key);
      this.progress.push(key, { progress: 0, message: 'Server requested' });
      const spawn = this.#runSpawn(row, podData, executor, abort.signal).finally(() => {
        this.admission.release(key);
        this.#inflight.delete(key);
        release();
      });
      handedOff = true;
      const ready = await Promise.race([spawn.then(() => true), sleep(SLOW_SPAWN_MS).then(() => false)]);
      if (!ready) return 'starting';
      const after = await store.getServer(user.name, server);
      if (after?.state === 'running') return 'running';
      // A hop that was away (the batch controller restarting) is said as such: 503 with Retry-After.
      const transient = this.#transientFailures.get(key);
      this.#transientFailures.delete(key);
      if (transient !== undefined) throw transient;
      throw fail('SPAWN_FAILED', after?.failure ?? 'The server failed to start.');
    } finally {
      releaseQuota();
      if (!handedOff) {
        this.admission.release(key);
        this.#inflight.delete(key);
        release();
        if (apiTokenId) void this.#revokeCredentials(user.name, server, { apiTokenId });
      }
    }
  }

  /** Runs one start to its end: submitted, ready and routed, or failed and cleaned up. */
  async #runSpawn(row: ServerRow, podData: RetrievedPodData, executor: Executor, signal: AbortSignal): Promise<void> {
    const key = keyOf(row.user, row.name);
    const started = Date.now();
    try {
      this.progress.push(key, { progress: 10, message: `Submitting the server to the ${executor.name} executor` });
      await executor.create(podData);
      this.progress.push(key, { progress: 30, message: row.url ? `Server submitted; waiting for it to listen on port ${row.spawnState.port}` : 'Server submitted; waiting for it to run and report its address' });
      await this.#awaitReady(row, podData.pod, executor, signal, started);
      await this.#route(row);
      const ok = await this.deps.store.transitionServer(row.user, row.name, 'starting', { state: 'running', lastActivity: new Date().toISOString() });
      if (!ok) throw fail('CONFLICT', 'The server was stopped while starting.');
      const url = serverPath(row.user, row.name);
      this.progress.push(key, { progress: 100, ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${url}">${url}</a>`, url });
      this.admission.release(key, (Date.now() - started) / 1000);
      this.deps.metrics?.spawn('success', (Date.now() - started) / 1000);
      log.info('server ready', { user: row.user, server: row.name, ms: Date.now() - started });
    } catch (err) {
      const reason = err instanceof HighrateError ? err.message : 'internal error';
      if (err instanceof HighrateError && err.status === 503) {
        this.#transientFailures.set(key, err);
        setTimeout(() => this.#transientFailures.delete(key), SLOW_SPAWN_MS * 2).unref();
      }
      if (!(err instanceof HighrateError)) log.error('spawn crashed', { user: row.user, server: row.name, error: String((err as Error)?.stack ?? err) });
      const tail = await this.#logTail(executor, podData.pod);
      const failure = tail ? `${reason}\n\nLast lines of the server's log:\n${tail}` : reason;
      await this.deps.proxy.deleteRoute(serverPath(row.user, row.name)).catch(() => undefined);
      await executor.delete(podData.pod).catch((e: unknown) => log.warn('delete after failed spawn failed', { user: row.user, error: String(e) }));
      await this.#revokeCredentials(row.user, row.name, row.spawnState);
      await this.deps.store.updateServer(row.user, row.name, { state: 'stopped', failure, started: null });
      this.progress.push(key, { progress: 100, failed: true, message: `Spawn failed: ${failure}` });
      this.deps.metrics?.spawn('failure', (Date.now() - started) / 1000);
      log.warn('spawn failed', { user: row.user, server: row.name, reason });
    }
  }

  /**
   * Waits for the server to answer HTTP, watching the pod so an early exit fails fast with its
   * code. A workload on a batch node first reports its address. Time its containers wait queued
   * (reason "Pending") does not count against the start timeout unless startTimeoutIncludesQueue.
   */
  async #awaitReady(row: ServerRow, pod: Pod, executor: Executor, signal: AbortSignal, started: number): Promise<void> {
    const profile = this.deps.config.profiles.find((p) => p.name === row.userOptions.profile);
    const timeoutS = profile?.startTimeout ?? this.deps.config.hub.startTimeout;
    const includeQueue = profile?.startTimeoutIncludesQueue ?? this.deps.config.hub.startTimeoutIncludesQueue;
    const key = keyOf(row.user, row.name);
    const local = new AbortController();
    const onAbort = () => local.abort();
    signal.addEventListener('abort', onAbort);
    let deadline = started + timeoutS * 1000;
    let queuedMs = 0;
    const timer = setInterval(() => { if (Date.now() > deadline) local.abort(); }, 100);
    let exited: string | null = null;
    const watch = (async () => {
      let announced = false;
      let lastMessage = '';
      let lastTick = Date.now();
      while (!local.signal.aborted) {
        await sleep(250, local.signal);
        if (local.signal.aborted) break;
        let st: PodStatus | undefined;
        try {
          [st] = await executor.status([pod]);
        } catch (err) {
          // A controller hiccup never fails a start by itself; the timeout decides.
          log.warn('status poll failed while starting', { user: row.user, error: String(err) });
          continue;
        }
        const c = st?.containers[0];
        if (!st || c?.state.terminated) {
          exited = c?.state.terminated ? `The server exited with code ${c.state.terminated.exitCode}${c.state.terminated.message ? ` (${c.state.terminated.message})` : ''} before it was ready.` : 'The workload disappeared before it was ready.';
          local.abort();
          break;
        }
        const now = Date.now();
        const waiting = c?.state.waiting;
        if (waiting?.reason === QUEUED_REASON) {
          queuedMs += now - lastTick;
          if (!includeQueue) deadline += now - lastTick;
        }
        lastTick = now;
        if (c?.state.running && !announced) {
          announced = true;
          this.progress.push(key, { progress: 50, message: row.url ? 'Server process running; waiting for it to answer' : 'Server process running; waiting for it to report its address' });
        } else if (waiting?.reason && waiting.message && !announced) {
          const message = `${waiting.reason}: ${waiting.message}`;
          if (message !== lastMessage) this.progress.push(key, { progress: 40, message });
          lastMessage = message;
        }
      }
    })();
    try {
      if (!row.url) {
        const addr = await this.#awaitAddress(row, local.signal);
        if (addr) {
          row.url = addressUrl(addr);
          this.progress.push(key, { progress: 60, message: `Server reported ${addr.host}:${addr.port}; waiting for it to answer` });
        }
      }
      const headers: Record<string, string> = row.secret ? { authorization: `token ${row.secret}` } : {};
      const ok = row.url ? await waitForHttp(`${row.url}${serverPath(row.user, row.name)}api`, headers, local.signal) : false;
      if (ok) return;
      if (exited) throw fail('SPAWN_FAILED', exited);
      if (signal.aborted) throw fail('SPAWN_FAILED', 'The start was cancelled.');
      const queued = queuedMs >= 1000 && !includeQueue ? ` (not counting ${Math.round(queuedMs / 1000)} s queued)` : '';
      if (!row.url) throw fail('SPAWN_FAILED', `The server did not report its address within ${timeoutS} seconds${queued}. Common causes: the node cannot reach the hub at ${this.deps.publicUrl}, or python3 is missing there; the log below says more.`);
      throw fail('SPAWN_FAILED', `The server did not answer within ${timeoutS} seconds${queued}. Common causes: the image or command is wrong, or the machine is overloaded; the log below says more.`);
    } finally {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      local.abort();
      await watch;
    }
  }

  /** The address a remote workload reported: already in the store (reported earlier, or to a previous hub process), or when it arrives. */
  async #awaitAddress(row: ServerRow, signal: AbortSignal): Promise<WorkloadAddress | null> {
    const mine = new AbortController();
    const stop = () => mine.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const arrival = this.#addresses.wait(row.podUid!, mine.signal);
      const stored = (await this.deps.store.getServer(row.user, row.name))?.spawnState.address as WorkloadAddress | undefined;
      if (stored) return stored;
      return await arrival;
    } finally {
      signal.removeEventListener('abort', stop);
      mine.abort();
    }
  }

  /**
   * `POST /hub/api/workloads/<uid>/address`: a starting workload reports where it listens,
   * authenticated by its own callback token. Unknown workloads and wrong tokens get the same 403.
   */
  async reportAddress(podUid: string, presented: string, addr: WorkloadAddress): Promise<void> {
    const row = (await this.deps.store.listActiveServers()).find((r) => r.podUid === podUid);
    if (!row || !callbackTokenMatches(presented, row.spawnState.callbackTokenHash)) throw fail('FORBIDDEN', 'Invalid workload token.');
    const url = addressUrl(addr);
    if (row.url === url) return this.#addresses.deliver(podUid, addr);
    if (row.url || row.state !== 'starting') throw fail('CONFLICT', 'This workload already reported its address.');
    await this.deps.store.updateServer(row.user, row.name, { url, spawnState: { ...row.spawnState, address: addr } });
    log.info('workload reported its address', { user: row.user, server: row.name, url });
    this.#addresses.deliver(podUid, addr);
  }

  async #route(row: ServerRow): Promise<void> {
    // A server that checks credentials with the hub itself (auth: jupyterhub) gets the user's.
    await this.deps.proxy.addRoute(serverPath(row.user, row.name), row.url!, {
      user: row.user, server_name: row.name, ...(row.secret ? { upstream_token: row.secret } : {}),
    });
  }

  /** The server's API token, OAuth client and the tokens issued through it (and a cluster token of a server started by an older highrate). */
  async #revokeCredentials(user: string, server: string, spawnState: Record<string, unknown>): Promise<void> {
    try {
      await revokeServerCredentials(this.deps.store, user, server, spawnState.apiTokenId as string | undefined);
      if (typeof spawnState.clusterTokenId === 'string') await this.deps.store.deleteToken(user, spawnState.clusterTokenId);
    } catch (err) {
      log.warn('server credentials not revoked', { user, server, error: String(err) });
    }
  }

  async #logTail(executor: Executor, pod: Pod): Promise<string> {
    try {
      const stream = await executor.logs({ Namespace: pod.metadata.namespace ?? '', PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: pod.spec.containers[0]!.name, Opts: { Tail: LOG_TAIL_LINES } });
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8').trimEnd();
    } catch {
      return '';
    }
  }

  /**
   * Stops a server. Resolves "stopped" when done within the window, else "stopping". A start in
   * progress is cancelled. Stopping a stopped server is a no-op.
   */
  async stop(user: string, server: string): Promise<'stopped' | 'stopping'> {
    const key = keyOf(user, server);
    // Whoever waited in the spawn line for this server no longer does.
    this.admission.forget(key);
    const inflight = this.#inflight.get(key);
    const row = await this.deps.store.getServer(user, server);
    if (!row) {
      if (server === '') return 'stopped';
      throw fail('SERVER_NOT_FOUND', `${user} has no server named '${server}'.`);
    }
    if (inflight) {
      inflight.abort.abort();
      const finished = await Promise.race([inflight.done.then(() => true), sleep(SLOW_STOP_MS).then(() => false)]);
      return finished ? 'stopped' : 'stopping';
    }
    if (row.state === 'stopped') return 'stopped';
    const stopping = this.#runStop(row);
    const finished = await Promise.race([stopping.then(() => true), sleep(SLOW_STOP_MS).then(() => false)]);
    return finished ? 'stopped' : 'stopping';
  }

  #runStop(row: ServerRow, reason?: string): Promise<void> {
    const key = keyOf(row.user, row.name);
    const abort = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((r) => { release = r; });
    this.#inflight.set(key, { abort, done });
    const began = Date.now();
    const run = (async () => {
      await this.deps.store.updateServer(row.user, row.name, { state: 'stopping' });
      await this.deps.proxy.deleteRoute(serverPath(row.user, row.name)).catch((e: unknown) => log.warn('route delete failed', { user: row.user, error: String(e) }));
      const pod = row.spawnState.pod as Pod | undefined;
      if (pod && row.executor) {
        const ex = this.deps.executors.get(row.executor);
        if (ex) await ex.delete(pod);
      }
      await this.#revokeCredentials(row.user, row.name, row.spawnState);
      await this.deps.store.updateServer(row.user, row.name, { state: 'stopped', started: null, failure: reason ?? null });
      log.info('server stopped', { user: row.user, server: row.name, reason });
    })();
    run.then(() => this.deps.metrics?.stop('success', (Date.now() - began) / 1000), () => this.deps.metrics?.stop('failure', (Date.now() - began) / 1000));
    return run.finally(() => {
      this.#inflight.delete(key);
      release();
    });
  }

  /** Stops a server for the hub's own reasons (culling, user deleted); waits for it. */
  async stopNow(row: ServerRow, reason: string): Promise<void> {
    const inflight = this.#inflight.get(keyOf(row.user, row.name));
    if (inflight) {
      inflight.abort.abort();
      await inflight.done;
      return;
    }
    if (row.state !== 'stopped') await this.#runStop(row, reason);
  }

  /**
   * Brings the store, the executors and the proxy into agreement: running servers whose pod is
   * gone are marked stopped; live ones get their route back; starts interrupted by a hub restart
   * resume waiting; stray user routes are removed. Runs at start and periodically; calls that
   * arrive while one runs (the timer, `POST /hub/api/proxy`) share it, so no server is stopped twice.
   */
  reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcileOnce().finally(() => { this.#reconciling = null; });
    return this.#reconciling;
  }

  #reconciling: Promise<void> | null = null;

  async #reconcileOnce(): Promise<void> {
    const { store, proxy } = this.deps;
    const active = (await store.listActiveServers()).filter((r) => !this.#inflight.has(keyOf(r.user, r.name)));
    const byExecutor = new Map<string, ServerRow[]>();
    for (const r of active) {
      const list = byExecutor.get(r.executor ?? '') ?? [];
      list.push(r);
      byExecutor.set(r.executor ?? '', list);
    }
    const statuses = new Map<string, PodStatus>();
    const unreachable = new Set<string>();
    /** Seconds each executor took to answer for its servers. */
    const polledIn = new Map<string, number>();
    for (const [name, rows] of byExecutor) {
      const ex = this.deps.executors.get(name);
      if (!ex) continue;
      try {
        const pods = rows.map((r) => r.spawnState.pod as Pod).filter(Boolean);
        const began = performance.now();
        for (const st of await ex.status(pods)) statuses.set(st.UID, st);
        polledIn.set(name, (performance.now() - began) / 1000);
      } catch (err) {
        // Never mark servers dead because the executor could not answer.
        unreachable.add(name);
        log.warn('reconcile: executor status failed', { executor: name, error: String(err) });
      }
    }
    let routes: Record<string, Record<string, unknown> & { target: string }> = {};
    try {
      routes = await proxy.getRoutes();
    } catch (err) {
      log.warn('reconcile: proxy unreachable', { error: String(err) });
      if (this.deps.reviveProxy === undefined) return;
      try {
        await this.deps.reviveProxy();
        routes = await proxy.getRoutes();
      } catch (again) {
        log.warn('reconcile: the proxy could not be started again', { error: String(again) });
        return;
      }
    }
    const wanted = new Set<string>();
    for (const row of active) {
      if (!row.executor || unreachable.has(row.executor)) {
        if (row.state === 'running') wanted.add(routeKey(serverPath(row.user, row.name)));
        continue;
      }
      const st = row.podUid ? statuses.get(row.podUid) : undefined;
      const c = st?.containers[0];
      const alive = !!st && !c?.state.terminated;
      if (row.state === 'running') {
        this.deps.metrics?.serverPoll(alive, polledIn.get(row.executor) ?? 0);
        if (!alive) {
          const why = c?.state.terminated ? `The server exited with code ${c.state.terminated.exitCode}.` : 'The server is gone.';
          log.warn('reconcile: server died', { user: row.user, server: row.name, why });
          await this.#runStop(row, why);
          continue;
        }
        const path = routeKey(serverPath(row.user, row.name));
        wanted.add(path);
        // Not only re-added: a route whose target or data differs from the store (re-pointed by
        // whoever held the route API's token) is put back as the store says.
        const drift = routeDrift(routes[path], { target: row.url!, user: row.user, server_name: row.name, upstream_token: row.secret ?? undefined });
        if (drift) {
          if (routes[path]) log.warn('reconcile: correcting a route that differs from the store', { user: row.user, server: row.name, drift });
          await this.#route(row);
        }
      } else if (row.state === 'starting') {
        if (!alive) {
          await this.#runStop(row, 'The start was interrupted and the workload is gone.');
          continue;
        }
        this.#resume(row);
        wanted.add(routeKey(serverPath(row.user, row.name)));
      } else if (row.state === 'stopping') {
        await this.#runStop(row);
      }
    }
    for (const [path, data] of Object.entries(routes)) {
      // Cluster dashboard routes carry a user too; the cluster service owns them.
      if (data.user && !this.deps.foreignRoute?.(path) && !wanted.has(path) && !this.#isInflightPath(path)) {
        // A start that finished after the servers were listed above routed its server since: the
        // store, read again now, says whether the route is still stray.
        const row = typeof data.user === 'string' && typeof data.server_name === 'string' ? await store.getServer(data.user, data.server_name) : null;
        if (row && (row.state === 'running' || row.state === 'starting') && routeKey(serverPath(row.user, row.name)) === path) continue;
        await proxy.deleteRoute(path).catch(() => undefined);
      }
    }
  }

  #isInflightPath(path: string): boolean {
    for (const key of this.#inflight.keys()) {
      const [u, s] = key.split('/') as [string, string];
      if (routeKey(serverPath(u, s)) === path) return true;
    }
    return false;
  }

  /** Resumes waiting for a server whose start a previous hub process began. */
  #resume(row: ServerRow): void {
    const key = keyOf(row.user, row.name);
    const ex = this.deps.executors.get(row.executor!);
    const pod = row.spawnState.pod as Pod | undefined;
    if (!ex || !pod) return;
    const abort = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((r) => { release = r; });
    this.#inflight.set(key, { abort, done });
    this.admission.track(key);
    this.progress.push(key, { progress: 30, message: 'The hub restarted; waiting for the server again' });
    void this.#runSpawnAttached(row, pod, ex, abort.signal).finally(() => {
      this.admission.release(key);
      this.#inflight.delete(key);
      release();
    });
  }

  async #runSpawnAttached(row: ServerRow, pod: Pod, executor: Executor, signal: AbortSignal): Promise<void> {
    const data: RetrievedPodData = { pod, container: null };
    const started = Date.parse(row.started ?? new Date().toISOString());
    const key = keyOf(row.user, row.name);
    try {
      await this.#awaitReady(row, pod, executor, signal, started);
      await this.#route(row);
      await this.deps.store.transitionServer(row.user, row.name, 'starting', { state: 'running' });
      const url = serverPath(row.user, row.name);
      this.progress.push(key, { progress: 100, ready: true, message: `Server ready at ${url}`, url });
    } catch (err) {
      const reason = err instanceof HighrateError ? err.message : 'internal error';
      await executor.delete(data.pod).catch(() => undefined);
      await this.#revokeCredentials(row.user, row.name, row.spawnState);
      await this.deps.store.updateServer(row.user, row.name, { state: 'stopped', failure: reason, started: null });
      this.progress.push(key, { progress: 100, failed: true, message: `Spawn failed: ${reason}` });
    }
  }

  async #checkNamedLimit(user: string): Promise<void> {
    const { allowNamedServers, namedServerLimitPerUser } = this.deps.config.hub;
    if (!allowNamedServers) throw fail('NAMED_SERVERS_DISABLED', 'Named servers are not enabled on this hub.');
    if (namedServerLimitPerUser > 0) {
      const named = (await this.deps.store.listServers(user)).filter((s) => s.name !== '');
      if (named.length >= namedServerLimitPerUser) {
        throw fail('BAD_REQUEST', `${user} already has the maximum of ${namedServerLimitPerUser} named servers; remove one first.`);
      }
    }
  }

  /** Waits for every start and stop in flight (used at shutdown and in tests). */
  async settle(): Promise<void> {
    await Promise.all([...this.#inflight.values()].map((f) => f.done));
  }
}

function describe(user: string, server: string): string {
  return server ? `${user}'s server '${server}'` : `${user}'s server`;
}

/** Resolves after `ms`, or at once when `signal` aborts (so watchers stop without a lag). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
