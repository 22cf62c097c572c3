import fs from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * configurable-http-proxy's Prometheus metrics (`--metrics-port`/`--metrics-socket`): the same
 * names, types, help texts and labels as CHP 5.3 (its lib/metrics.js through prom-client), so a
 * dashboard built for CHP reads highrate's proxy unchanged, plus the process metrics prom-client's
 * defaults give and a few of highrate's own (prefixed `highrate_proxy_`). Written without a
 * client library: counters are plain numbers bumped on the hot path only when metrics are on.
 *
 * CHP's summaries are prom-client's default Summary: quantiles 0.01…0.999 over every observation
 * since start. Here they are computed at scrape time over the last RESERVOIR observations (the
 * count and sum cover all), which bounds memory; with steady traffic the two agree.
 */
export class ProxyMetrics {
  apiRouteGet = 0;
  apiRouteAdd = 0;
  apiRouteDelete = 0;
  requestsWs = 0;
  requestsWeb = 0;
  readonly requestsProxy = new Map<number, number>();
  readonly requestsApi = new Map<number, number>();
  readonly findTarget = new Summary();
  readonly lastActivityUpdating = new Summary();
  readonly #loopDelay: IntervalHistogram;
  readonly #gc = new GcHistogram();
  readonly #extra: () => Record<string, number>;

  /** `extra`: highrate's gauges at scrape time (routes, open tunnels, hub calls…), name → value. */
  constructor(extra: () => Record<string, number> = () => ({})) {
    this.#extra = extra;
    this.#loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.#loopDelay.enable();
  }

  /** A response of a proxied request (or the proxy's own error answer for one), by status. */
  proxied(status: number): void {
    this.requestsProxy.set(status, (this.requestsProxy.get(status) ?? 0) + 1);
  }

  /** A route API reply, by status. */
  api(status: number): void {
    this.requestsApi.set(status, (this.requestsApi.get(status) ?? 0) + 1);
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  render(): string {
    const out: string[] = [];
    processMetrics(out, this.#loopDelay);
    this.#gc.render(out);
    counter(out, 'api_route_get', 'Count of API route get requests', this.apiRouteGet);
    counter(out, 'api_route_add', 'Count of API route add requests', this.apiRouteAdd);
    counter(out, 'api_route_delete', 'Count of API route delete requests', this.apiRouteDelete);
    this.findTarget.render(out, 'find_target_for_req', 'Summary of find target requests');
    this.lastActivityUpdating.render(out, 'last_activity_updating', 'Summary of last activity updating requests');
    counter(out, 'requests_ws', 'Count of websocket requests', this.requestsWs);
    counter(out, 'requests_web', 'Count of web requests', this.requestsWeb);
    labelled(out, 'requests_proxy', 'Count of proxy requests', this.requestsProxy);
    labelled(out, 'requests_api', 'Count of API requests', this.requestsApi);
    for (const [name, value] of Object.entries(this.#extra())) gauge(out, `highrate_proxy_${name}`, HIGHRATE_HELP[name] ?? name, value);
    return out.join('\n') + '\n';
  }

  close(): void {
    this.#loopDelay.disable();
    this.#gc.close();
  }
}

const HIGHRATE_HELP: Record<string, string> = {
  routes: 'Routes in the routing table',
  websockets_open: 'WebSocket tunnels open now',
  hub_authorize_calls: 'Edge-auth questions sent to the hub since start',
};

/** Observations kept for quantiles; count and sum cover every observation. */
const RESERVOIR = 4096;
const QUANTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/** A Prometheus summary in seconds over a ring of the latest observations. */
export class Summary {
  readonly #ring = new Float64Array(RESERVOIR);
  #count = 0;
  #sum = 0;

  /** Records one duration in seconds. */
  observe(seconds: number): void {
    this.#ring[this.#count % RESERVOIR] = seconds;
    this.#count++;
    this.#sum += seconds;
  }

  /** A start mark for `observeSince` (process.hrtime.bigint is the cheapest monotonic clock). */
  static start(): bigint {
    return process.hrtime.bigint();
  }

  observeSince(start: bigint): void {
    this.observe(Number(process.hrtime.bigint() - start) / 1e9);
  }

  render(out: string[], name: string, help: string): void {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} summary`);
    const n = Math.min(this.#count, RESERVOIR);
    const sorted = Array.from(this.#ring.subarray(0, n)).sort((a, b) => a - b);
    for (const q of QUANTILES) {
      // Nearest rank; prom-client shows 0 for an empty summary.
      const value = n === 0 ? 0 : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
      out.push(`${name}{quantile="${q}"} ${value}`);
    }
    out.push(`${name}_sum ${this.#sum}`, `${name}_count ${this.#count}`, '');
  }
}

function counter(out: string[], name: string, help: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`, '');
}

function gauge(out: string[], name: string, help: string, value: number): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`, '');
}

function labelled(out: string[], name: string, help: string, byStatus: ReadonlyMap<number, number>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
  for (const [status, value] of byStatus) out.push(`${name}{status="${status}"} ${value}`);
  out.push('');
}

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** prom-client's default process_* and nodejs_* metrics (the ones Node exposes cheaply). */
function processMetrics(out: string[], loop: IntervalHistogram): void {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  counter(out, 'process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', cpu.user / 1e6);
  counter(out, 'process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', cpu.system / 1e6);
  counter(out, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6);
  gauge(out, 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', START_SECONDS);
  gauge(out, 'process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss);
  const status = readProcStatus();
  if (status.VmSize !== undefined) gauge(out, 'process_virtual_memory_bytes', 'Virtual memory size in bytes.', status.VmSize);
  gauge(out, 'process_heap_bytes', 'Process heap size in bytes.', mem.heapTotal);
  const fds = countOpenFds();
  if (fds !== null) gauge(out, 'process_open_fds', 'Number of open file descriptors.', fds);
  const maxFds = readMaxFds();
  if (maxFds !== null) gauge(out, 'process_max_fds', 'Maximum number of open file descriptors.', maxFds);
  // prom-client measures one setImmediate's lag at scrape time; the histogram's mean says the same over time.
  gauge(out, 'nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', (Number.isNaN(loop.mean) ? 0 : loop.mean) / 1e9);
  gauge(out, 'nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', loop.min / 1e9);
  gauge(out, 'nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', loop.max / 1e9);
  gauge(out, 'nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.', (Number.isNaN(loop.mean) ? 0 : loop.mean) / 1e9);
  gauge(out, 'nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.', (Number.isNaN(loop.stddev) ? 0 : loop.stddev) / 1e9);
  gauge(out, 'nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.', loop.percentile(50) / 1e9);
  gauge(out, 'nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.', loop.percentile(90) / 1e9);
  gauge(out, 'nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.', loop.percentile(99) / 1e9);
  activeResources(out);
  gauge(out, 'nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal);
  gauge(out, 'nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed);
  gauge(out, 'nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', mem.external);
  heapSpaces(out);
  const [major, minor, patch] = process.versions.node.split('.');
  out.push('# HELP nodejs_version_info Node.js version info.', '# TYPE nodejs_version_info gauge',
    `nodejs_version_info{version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"} 1`, '');
}

/** nodejs_active_resources/_handles/_requests (by type) and their totals, as prom-client. */
function activeResources(out: string[]): void {
  const byType = (names: string[]) => {
    const m = new Map<string, number>();
    for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
    return m;
  };
  const p = process as unknown as { _getActiveHandles?: () => object[]; _getActiveRequests?: () => object[] };
  const groups: Array<[string, string, string[]]> = [
    ['nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', process.getActiveResourcesInfo()],
    ['nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', (p._getActiveHandles?.() ?? []).map((h) => h.constructor.name)],
    ['nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', (p._getActiveRequests?.() ?? []).map((r) => r.constructor.name)],
  ];
  for (const [name, help, names] of groups) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [type, n] of byType(names)) out.push(`${name}{type="${type}"} ${n}`);
    out.push('');
    gauge(out, `${name}_total`, `Total number of active ${name.slice('nodejs_active_'.length)}.`, names.length);
  }
}

/** nodejs_heap_space_size_{total,used,available}_bytes by space (V8's names without `_space`). */
function heapSpaces(out: string[]): void {
  const spaces = v8.getHeapSpaceStatistics();
  const kinds: Array<[string, string, (s: v8.HeapSpaceInfo) => number]> = [
    ['total', 'Process heap space size total from Node.js in bytes.', (s) => s.space_size],
    ['used', 'Process heap space size used from Node.js in bytes.', (s) => s.space_used_size],
    ['available', 'Process heap space size available from Node.js in bytes.', (s) => s.space_available_size],
  ];
  for (const [kind, help, value] of kinds) {
    const name = `nodejs_heap_space_size_${kind}_bytes`;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const space of spaces) out.push(`${name}{space="${space.space_name.replace(/_space$/, '')}"} ${value(space)}`);
    out.push('');
  }
}

const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

/** nodejs_gc_duration_seconds{kind}: prom-client's histogram of garbage collections, from perf_hooks' gc entries. */
class GcHistogram {
  readonly #byKind = new Map<string, { buckets: number[]; sum: number; count: number }>();
  readonly #observer: PerformanceObserver;

  constructor() {
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = GC_KINDS[((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'unknown';
        let h = this.#byKind.get(kind);
        if (h === undefined) this.#byKind.set(kind, (h = { buckets: GC_BUCKETS.map(() => 0), sum: 0, count: 0 }));
        const seconds = entry.duration / 1000;
        GC_BUCKETS.forEach((le, i) => { if (seconds <= le) h!.buckets[i]!++; });
        h.sum += seconds;
        h.count++;
      }
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  render(out: string[]): void {
    const name = 'nodejs_gc_duration_seconds';
    out.push(`# HELP ${name} Garbage collection duration by kind, one of major, minor, incremental or weakcb.`, `# TYPE ${name} histogram`);
    for (const [kind, h] of this.#byKind) {
      GC_BUCKETS.forEach((le, i) => out.push(`${name}_bucket{le="${le}",kind="${kind}"} ${h.buckets[i]}`));
      out.push(`${name}_bucket{le="+Inf",kind="${kind}"} ${h.count}`, `${name}_sum{kind="${kind}"} ${h.sum}`, `${name}_count{kind="${kind}"} ${h.count}`);
    }
    out.push('');
  }

  close(): void {
    this.#observer.disconnect();
  }
}

function readMaxFds(): number | null {
  try {
    const m = /Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function readProcStatus(): { VmSize?: number } {
  try {
    const m = /VmSize:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'latin1'));
    return m === null ? {} : { VmSize: Number(m[1]) * 1024 };
  } catch {
    return {};
  }
}

function countOpenFds(): number | null {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the directory handle itself
  } catch {
    return null;
  }
}

/**
 * The metrics listener: `GET /metrics` → the exposition text; anything else 404, as CHP's
 * metrics server. Listens on a port (`ip` '' = all interfaces, CHP's default) or a Unix socket.
 */
export function createMetricsServer(metrics: ProxyMetrics): http.Server {
  return http.createServer(function onMetricsRequest(req, res) {
    req.resume();
    if ((req.url ?? '').split('?', 1)[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found: metrics are at /metrics\n');
      return;
    }
    const body = metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}
