/**
 * The long run (issue 14; not CI): N minutes (default 30) of mixed load on a whole platform
 * (`highrate up` as its own process) — browser logins through the embedded IdP, API clients,
 * starts and stops of tiny servers, HTTP through the proxy to running servers, a kernel
 * WebSocket executing code, a Dask cluster scaled 2 ↔ 0 workers in turn — while the RSS (/proc/<pid>/status VmRSS) and open file descriptors
 * (/proc/<pid>/fd) of the hub and the proxy are sampled every 10 s. Reports growth (mean of the
 * first 5 minutes against the last 5; for runs under 15 minutes, the first and last third) as a
 * Markdown table, and every sample as JSON.
 * Runs only when asked: `--duration MINUTES` or HIGHRATE_LONGRUN=1 (else exit 3, skipped).
 * Usage: node dist/bench/longrun.bench.js --duration 30 [--json FILE] [--no-kernel] [--no-cluster]
 * Exit 1 when a request hung or got a 5xx, or the hub or proxy died.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chaosPlatform, kernelUser, tinyUsers } from '../test/chaos/setup.js';
import { gw, stopAllClusters, waitRunning, waitWorkers } from '../test/clusters/helpers.js';
import { browserLogin, http } from '../test/helpers/http.js';
import type { Platform } from '../test/helpers/platform.js';
import { apiLoad, httpLoad, kernelLoad, Tally, Traffic, type Generator } from '../test/helpers/traffic.js';
import { skipBench } from './skip.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SAMPLE_EVERY_MS = 10_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Sample {
  /** Seconds since the load began. */
  t: number;
  hub: { rssKb: number; fds: number } | null;
  proxy: { rssKb: number; fds: number } | null;
}

function procStats(pid: number | undefined): { rssKb: number; fds: number } | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

function proxyPid(p: Platform): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(p.dataDir, 'run', 'proxy.json'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/** A loop generator: `fn` once per turn, classified by what it returns (null ok, else failure). */
function loopGenerator(name: string, pauseMs: number, fn: () => Promise<string | null>, deadlineMs: number): Generator {
  const tally = new Tally();
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      const r = await Promise.race([fn().catch((err: unknown) => `error ${String(err).slice(0, 80)}`), sleep(deadlineMs).then(() => 'hung' as const)]);
      if (r === 'hung') tally.hung();
      else tally.answered(performance.now() - t0, r);
      await sleep(pauseMs);
    }
  })();
  return { name, tally, async stop() { running = false; await done; } };
}

/** Starts and stops `users`' tiny servers in turn: each cycle start → ready → a request through the proxy → stop. */
function spawnCycle(p: Platform, users: string[], tokens: Map<string, string>): Generator {
  let i = 0;
  return loopGenerator('spawn+stop', 500, async () => {
    const u = users[i++ % users.length]!;
    const token = tokens.get(u)!;
    await p.startServer(u, token, { profile: 'tiny' });
    const r = await http('GET', `${p.base}/user/${u}/api/status`, { headers: { authorization: `token ${token}` } });
    if (r.status !== 200) return `request ${r.status}`;
    const stop = await p.api('DELETE', `/hub/api/users/${u}/server`, { token });
    if (stop.status !== 204 && stop.status !== 202) return `stop ${stop.status}`;
    // A 202 stop finishes in the background: wait until the server is gone before it starts again.
    for (let k = 0; k < 100; k++) {
      const m = await p.api('GET', `/hub/api/users/${u}`, { token });
      if (m.status === 200 && Object.keys(m.json().servers).length === 0) return null;
      await sleep(100);
    }
    return 'stop did not finish';
  }, 60_000);
}

/**
 * One Dask cluster through the dask-gateway API, scaled up to 2 workers and down to 0 in turn;
 * each turn waits until the scheduler has exactly that many workers (highrate's model).
 */
function clusterScale(p: Platform, token: string): Generator {
  let name: string | undefined;
  return loopGenerator('cluster scale 2↔0', 2000, async () => {
    if (!name) {
      const created = await gw(p, 'POST', '/api/v1/clusters/', token, { cluster_options: { max_workers: 2 } });
      if (created.status !== 201) return `create ${created.status}`;
      name = created.json().name as string;
      await waitRunning(p, token, name);
    }
    for (const n of [2, 0]) {
      const r = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, token, { count: n });
      if (r.status !== 200 || r.json().ok !== true) return `scale ${r.status}`;
      await waitWorkers(p, token, name, n, 100_000);
    }
    return null;
  }, 120_000);
}

/** A browser login through the embedded IdP every few seconds, then the home page with its session. */
function logins(p: Platform, users: string[]): Generator {
  let i = 0;
  return loopGenerator('login', 3000, async () => {
    const u = users[i++ % users.length]!;
    const jar = await browserLogin(p.base, u, `${u}-password`);
    const home = await http('GET', `${p.base}/hub/home`, { headers: { cookie: jar.header(), accept: 'text/html' } });
    if (home.status !== 200) return `home ${home.status}`;
    const out = await http('GET', `${p.base}/hub/logout`, { headers: { cookie: jar.header(), accept: 'text/html' } });
    return out.status < 400 ? null : `logout ${out.status}`;
  }, 30_000);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

async function main(): Promise<void> {
  const durationArg = arg('--duration');
  if (durationArg === undefined && process.env.HIGHRATE_LONGRUN !== '1') {
    skipBench('long run', 'runs only when asked: --duration MINUTES or HIGHRATE_LONGRUN=1 (default 30 minutes)');
  }
  const minutes = Number(durationArg ?? 30);
  if (!(minutes > 0)) throw new Error(`--duration: minutes, got ${durationArg}`);
  const jsonOut = arg('--json');
  const withKernel = !process.argv.includes('--no-kernel');
  const withCluster = !process.argv.includes('--no-cluster');

  const loginUsers = ['carol', 'dave'];
  let p: Platform;
  try {
    p = await chaosPlatform({ users: loginUsers.map((name) => ({ name })), config: { clusters: { daskPort: 0, idleTimeout: 0 } } });
  } catch (err) {
    skipBench('long run', `the platform does not start here: ${String(err).slice(0, 300)}`);
  }
  const samples: Sample[] = [];
  let traffic: Traffic | undefined;
  let report: Record<string, Record<string, unknown>> = {};
  let died: string[] = [];
  let adminToken: string | undefined;
  try {
    const steady = ['steady1', 'steady2'];
    const headers = await tinyUsers(p, steady);
    const cyclers = ['cycle1', 'cycle2', 'cycle3'];
    const tokens = new Map<string, string>();
    for (const u of cyclers) tokens.set(u, await p.token(u));
    const apiTokens = [await p.token('api1'), await p.token('api2')];
    const generators: Generator[] = [
      httpLoad({ base: p.base, paths: steady.map((u) => `/user/${u}/api/status`), headers, connections: 4, deadlineMs: 5000, pauseMs: 20 }),
      apiLoad({ base: p.base, tokens: apiTokens, deadlineMs: 5000, pauseMs: 100 }),
      spawnCycle(p, cyclers, tokens),
      logins(p, loginUsers),
    ];
    if (withKernel) generators.push(kernelLoad((await kernelUser(p, 'kernel1')).ws, { deadlineMs: 10_000, pauseMs: 200 }));
    if (withCluster) {
      adminToken = await p.token('admin');
      generators.push(clusterScale(p, await p.token('dask1')));
    }
    traffic = new Traffic(generators);

    const hubPid = p.child?.pid;
    const pPid = proxyPid(p);
    const t0 = Date.now();
    const end = t0 + minutes * 60_000;
    process.stderr.write(`[longrun] ${minutes} min, hub pid ${hubPid}, proxy pid ${pPid}\n`);
    for (;;) {
      const s: Sample = { t: Math.round((Date.now() - t0) / 1000), hub: procStats(hubPid), proxy: procStats(pPid) };
      samples.push(s);
      if (!s.hub) died.push(`hub gone at ${s.t} s`);
      if (!s.proxy) died.push(`proxy gone at ${s.t} s`);
      if (died.length || Date.now() >= end) break;
      if (samples.length % 6 === 1) process.stderr.write(`[longrun] ${s.t} s: hub ${s.hub?.rssKb} kB ${s.hub?.fds} fds, proxy ${s.proxy?.rssKb} kB ${s.proxy?.fds} fds\n`);
      await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, end - Date.now())));
    }
    await traffic.stop();
    report = traffic.report();
    traffic = undefined;
  } finally {
    await traffic?.stop();
    await stopAllClusters(p, adminToken).catch(() => undefined);
    await p.close();
  }

  // Growth: the first window against the last (5 min each; a third of the run when shorter than 15 min).
  const totalS = samples.at(-1)?.t ?? 0;
  const windowS = totalS >= 900 ? 300 : Math.max(10, Math.floor(totalS / 3));
  const first = samples.filter((s) => s.t <= windowS);
  const last = samples.filter((s) => s.t >= totalS - windowS);
  type Row = { process: string; measure: string; first: number; last: number; growth: number; growthPct: number };
  const rows: Row[] = [];
  for (const proc of ['hub', 'proxy'] as const) {
    for (const [measure, pick, scale] of [['RSS (MB)', (x: { rssKb: number }) => x.rssKb, 1 / 1024], ['open fds', (x: { fds: number }) => x.fds, 1]] as const) {
      const a = mean(first.map((s) => s[proc]).filter((x) => x !== null).map((x) => pick(x!) * scale));
      const b = mean(last.map((s) => s[proc]).filter((x) => x !== null).map((x) => pick(x!) * scale));
      rows.push({ process: proc, measure, first: a, last: b, growth: b - a, growthPct: (100 * (b - a)) / a });
    }
  }
  const fmt = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1)) : '—');
  process.stdout.write(`\n### Long run: ${minutes} min of mixed load, ${samples.length} samples (every 10 s)\n\n`);
  process.stdout.write(`Growth: mean of the first ${windowS} s against the last ${windowS} s.\n\n| process | measure | first | last | growth | growth % |\n|---|---|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.process} | ${r.measure} | ${fmt(r.first)} | ${fmt(r.last)} | ${fmt(r.growth)} | ${fmt(r.growthPct)} % |\n`);
  process.stdout.write('\n| load | ok | failed | hung | slowest |\n|---|---|---|---|---|\n');
  let bad = died.length > 0;
  for (const [name, windows] of Object.entries(report)) {
    const o = (windows as Record<string, { ok: number; failed: Record<string, number>; hung: number; maxLatencyMs: number }>).before!;
    const failedText = Object.entries(o.failed).map(([k, n]) => `${n}× ${k}`).join(', ') || '0';
    process.stdout.write(`| ${name} | ${o.ok} | ${failedText} | ${o.hung} | ${o.maxLatencyMs.toFixed(0)} ms |\n`);
    if (o.hung > 0 || Object.keys(o.failed).some((k) => /^5\d\d/.test(k))) bad = true;
  }
  if (died.length) process.stdout.write(`\n**${died.join('; ')}**\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ minutes, windowS, growth: rows, load: report, died, samples }, null, 2));
  if (bad) process.exitCode = 1;
}

main().then(() => process.exit(process.exitCode ?? 0), (err) => { console.error(err); process.exit(1); });
