/**
 * JupyterHub's Prometheus metrics at `/hub/metrics` (and `/hub/api/metrics`), scope
 * `read:metrics`: the names, types, help texts, labels and buckets of JupyterHub 3's
 * jupyterhub/metrics.py, so a dashboard or alert built for JupyterHub reads highrate's hub
 * unchanged, plus highrate's own counters (prefixed `highrate_`). Text format 0.0.4, no client
 * library; every label set is bounded (route patterns, not paths).
 */
import type { RouteApiCall } from '../proxy/client.js';
import type { Store } from '../store/types.js';

/** prometheus_client's default buckets (request durations, stops). */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, Infinity];
/** JupyterHub's buckets for spawns ("spawns can take a while"). */
const SPAWN_BUCKETS = [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, Infinity];

/** JupyterHub's ServerSpawnStatus. */
export type SpawnStatus = 'success' | 'failure' | 'already-pending' | 'throttled' | 'too-many-users';
/** JupyterHub's ServerStopStatus. */
export type StopStatus = 'success' | 'failure';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  return v === Infinity ? '+Inf' : String(v);
}

/**
 * A histogram, as prometheus_client renders one (cumulative buckets, _count, _sum). Series are
 * there from the start, at zero, for every value of `preset` (JupyterHub creates each status of
 * its enums up front, so a rate() over a status that never happened is 0, not absent); a
 * histogram without labels has its one series from the start.
 */
export class Histogram {
  readonly #series = new Map<string, { values: string[]; counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, readonly labels: readonly string[], readonly buckets: readonly number[] = DEFAULT_BUCKETS, preset: ReadonlyArray<readonly string[]> = labels.length ? [] : [[]]) {
    for (const values of preset) this.#get(values);
  }

  #get(values: readonly string[]) {
    const key = values.join('\u0000');
    let s = this.#series.get(key);
    if (!s) {
      s = { values: [...values], counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    return s;
  }

  observe(values: readonly string[], seconds: number): void {
    const s = this.#get(values);
    for (let i = 0; i < this.buckets.length; i++) if (seconds <= this.buckets[i]!) s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.#series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText(this.labels, s.values, `le="${num(b)}"`)} ${s.counts[i]}`));
      out.push(`${this.name}_count${labelText(this.labels, s.values)} ${s.count}`, `${this.name}_sum${labelText(this.labels, s.values)} ${s.sum}`);
    }
  }
}

const SPAWN_STATUSES: SpawnStatus[] = ['success', 'failure', 'already-pending', 'throttled', 'too-many-users'];
const OUTCOMES = [['success'], ['failure']] as const;
const HOUR_MS = 3_600_000;
/**
 * JupyterHub 4's periods of `jupyterhub_active_users` (users whose last activity is within
 * them). JupyterHub counts them hourly; here each scrape counts them: three counts over the
 * users table, about a millisecond each with 10,000 users on SQLite.
 */
const ACTIVE_PERIODS: ReadonlyArray<readonly [string, number]> = [['24h', 24 * HOUR_MS], ['7d', 7 * 24 * HOUR_MS], ['30d', 30 * 24 * HOUR_MS]];

export class HubMetrics {
  readonly requests = new Histogram('jupyterhub_request_duration_seconds', 'request duration for all HTTP requests', ['method', 'handler', 'code']);
  readonly spawns = new Histogram('jupyterhub_server_spawn_duration_seconds', 'time taken for server spawning operation', ['status'], SPAWN_BUCKETS, SPAWN_STATUSES.map((st) => [st]));
  readonly stops = new Histogram('jupyterhub_server_stop_seconds', 'time taken for server stopping operation', ['status'], DEFAULT_BUCKETS, OUTCOMES);
  readonly checkRoutes = new Histogram('jupyterhub_check_routes_duration_seconds', 'Time taken to validate all routes in proxy', []);
  readonly hubStartup = new Histogram('jupyterhub_hub_startup_duration_seconds', 'Time taken for Hub to start', []);
  readonly initSpawners = new Histogram('jupyterhub_init_spawners_duration_seconds', 'Time taken for spawners to initialize', []);
  readonly proxyPoll = new Histogram('jupyterhub_proxy_poll_duration_seconds', 'duration for polling all routes from proxy', []);
  readonly proxyAdd = new Histogram('jupyterhub_proxy_add_duration_seconds', 'duration for adding user routes to proxy', ['status'], DEFAULT_BUCKETS, OUTCOMES);
  readonly proxyDelete = new Histogram('jupyterhub_proxy_delete_duration_seconds', 'duration for deleting user routes from proxy', ['status'], DEFAULT_BUCKETS, OUTCOMES);
  readonly serverPolls = new Histogram('jupyterhub_server_poll_duration_seconds', 'time taken to poll if server is running', ['status'], DEFAULT_BUCKETS, [['running'], ['stopped']]);
  readonly #rateLimited = new Map<string, number>();

  /** A route API call ended after `seconds` (every add and delete, and every read of all routes). */
  proxyCall = (call: RouteApiCall, ok: boolean, seconds: number): void => {
    if (call === 'poll') this.proxyPoll.observe([], seconds);
    else (call === 'add' ? this.proxyAdd : this.proxyDelete).observe([ok ? 'success' : 'failure'], seconds);
  };

  /** A server start ended (or was refused) after `seconds`. */
  spawn(status: SpawnStatus, seconds: number): void {
    this.spawns.observe([status], seconds);
  }

  stop(status: StopStatus, seconds: number): void {
    this.stops.observe([status], seconds);
  }

  /**
   * A running server was polled by a reconcile: its executor answered after `seconds` (one
   * status call covers all of an executor's servers, so each is counted with the call's time).
   */
  serverPoll(running: boolean, seconds: number): void {
    this.serverPolls.observe([running ? 'running' : 'stopped'], seconds);
  }

  /** An API request refused 429 RATE_LIMITED by the bucket of `limit` (user, address, global). */
  rateLimited(limit: string): void {
    this.#rateLimited.set(limit, (this.#rateLimited.get(limit) ?? 0) + 1);
  }

  /** The exposition text; gauges are read from the store now. */
  async render(store: Pick<Store, 'listActiveServers' | 'listUsers'>): Promise<string> {
    const out: string[] = [];
    const running = (await store.listActiveServers()).filter((s) => s.state === 'running').length;
    const users = (await store.listUsers({ limit: 1 })).total;
    this.requests.render(out);
    this.spawns.render(out);
    out.push('# HELP jupyterhub_running_servers the number of user servers currently running', '# TYPE jupyterhub_running_servers gauge', `jupyterhub_running_servers ${running}`);
    out.push('# HELP jupyterhub_total_users total number of users', '# TYPE jupyterhub_total_users gauge', `jupyterhub_total_users ${users}`);
    out.push('# HELP jupyterhub_active_users number of users who were active in the given time period', '# TYPE jupyterhub_active_users gauge');
    const now = Date.now();
    for (const [period, ms] of ACTIVE_PERIODS) {
      const active = (await store.listUsers({ limit: 0, activeSince: new Date(now - ms).toISOString() })).total;
      out.push(`jupyterhub_active_users{period="${period}"} ${active}`);
    }
    this.checkRoutes.render(out);
    this.hubStartup.render(out);
    this.initSpawners.render(out);
    this.proxyPoll.render(out);
    this.proxyAdd.render(out);
    this.serverPolls.render(out);
    this.stops.render(out);
    this.proxyDelete.render(out);
    out.push('# HELP highrate_api_rate_limited_total API requests refused 429 RATE_LIMITED, by the limit that refused them', '# TYPE highrate_api_rate_limited_total counter');
    for (const limit of ['user', 'address', 'global']) out.push(`highrate_api_rate_limited_total{limit="${limit}"} ${this.#rateLimited.get(limit) ?? 0}`);
    return out.join('\n') + '\n';
  }
}

/** The `handler` label of a request the API router did not match: a coarse name for the part of the hub that answered. */
export function handlerOf(path: string): string {
  if (path.startsWith('/hub/api')) return 'api-not-found';
  if (path === '/oidc' || path.startsWith('/oidc/')) return 'idp';
  for (const p of ['/hub/login', '/hub/oauth_callback', '/hub/logout', '/hub/user-redirect', '/hub/metrics']) if (path === p || path.startsWith(`${p}/`)) return p;
  if (path.startsWith('/hub/static/')) return '/hub/static';
  if (path.startsWith('/services/dask-gateway')) return '/services/dask-gateway';
  if (path.startsWith('/user/')) return '/user (not routed)';
  if (path.startsWith('/clusters/')) return '/clusters (not running)';
  if (path.startsWith('/hub/')) return 'portal';
  return 'other';
}
