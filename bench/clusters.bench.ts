/**
 * Cluster benchmarks, side by side in one run (ratios, as the machine is shared and noisy):
 * - time to a running cluster with 2 workers through highrate (POST /hub/api/clusters with
 *   workers: 2, until the scheduler lists 2 workers) against starting the same scheduler and
 *   workers by hand (the same commands as plain processes, TLS pair made beforehand), measured
 *   the same way (the scheduler's /json/identity.json polled every 20 ms); rounds alternate;
 * - a numpy workload through the platform (histogramming 10^8 synthetic values in 40 chunks) on
 *   2 workers against 1 worker of 1 core each: the speed-up; the same on Dask started by hand.
 *   Only the cluster measured runs meanwhile; 3 rounds alternate the four kinds.
 * Usage: node dist/bench/clusters.bench.js [--json FILE] [--rounds N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/http/ports.js';
import { generateCredentials } from '../src/clusters/tls.js';
import { SchedulerHttp } from '../src/clusters/scheduler-http.js';
import { Platform } from '../test/helpers/platform.js';
import { http } from '../test/helpers/http.js';
import { connection, daskClient, daskProcesses, stopAllClusters, waitFor } from '../test/clusters/helpers.js';

const PYTHON = '/usr/bin/python3';
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls identity.json every 20 ms until `n` workers are listed; the time since `t0`. */
async function untilWorkers(sched: SchedulerHttp, n: number, t0: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    try {
      const id = await sched.identity();
      if (Object.keys(id.workers ?? {}).length >= n) return performance.now() - t0;
    } catch { /* not up yet */ }
    if (performance.now() - t0 > timeoutMs) throw new Error(`no ${n} workers within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The scheduler and workers highrate starts, as plain processes (TLS pair made beforehand). */
async function handCluster(dir: string, workers: number): Promise<{ tls: number; sched: SchedulerHttp; stop: () => Promise<void> }> {
  const tls = await freePort();
  const dash = await freePort();
  const env = {
    PATH: process.env.PATH,
    DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION: 'True',
    // As highrate starts them (clusters.workerProfiling: false; a 200 ms tick).
    DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED: 'False',
    DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL: '200ms',
    DASK_DISTRIBUTED__COMM__TLS__CA_FILE: join(dir, 'dask.crt'),
    DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__CERT: join(dir, 'dask.crt'), DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__KEY: join(dir, 'dask.pem'),
    DASK_DISTRIBUTED__COMM__TLS__WORKER__CERT: join(dir, 'dask.crt'), DASK_DISTRIBUTED__COMM__TLS__WORKER__KEY: join(dir, 'dask.pem'),
  };
  const children: ChildProcess[] = [];
  children.push(spawn(PYTHON, ['-m', 'distributed.cli.dask_scheduler', '--protocol', 'tls', '--host', '127.0.0.1', '--port', String(tls), '--dashboard-address', `127.0.0.1:${dash}`, '--dashboard-prefix', '/clusters/byhand'], { env, stdio: 'ignore' }));
  for (let i = 1; i <= workers; i++) {
    children.push(spawn(PYTHON, ['-m', 'distributed.cli.dask_worker', `tls://127.0.0.1:${tls}`, '--name', `byhand-${i}`, '--nthreads', '1', '--memory-limit', '2000000000', '--no-nanny', '--death-timeout', '60', '--host', '127.0.0.1', '--dashboard-address', '127.0.0.1:0'], { env, stdio: 'ignore' }));
  }
  return {
    tls,
    sched: new SchedulerHttp(`http://127.0.0.1:${dash}/clusters/byhand`, 'unused'),
    async stop() {
      for (const c of children) c.kill('SIGKILL');
      await sleep(200);
    },
  };
}

/** Time from starting a scheduler and 2 workers by hand to the scheduler listing both. */
async function byHand(dir: string): Promise<number> {
  const t0 = performance.now();
  const c = await handCluster(dir, 2);
  try {
    return await untilWorkers(c.sched, 2, t0);
  } finally {
    await c.stop();
  }
}

async function throughHighrate(p: Platform, token: string): Promise<number> {
  const t0 = performance.now();
  const r = await http('POST', `${p.base}/hub/api/clusters`, { headers: { authorization: `token ${token}` }, body: { cluster_options: {}, workers: 2 } });
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.text}`);
  const name: string = r.json().name;
  const svc = p.hub!.clusters!.service;
  let sched: SchedulerHttp | null = null;
  while (!sched) sched = svc.schedulerHttp((await svc.get(name))!);
  const ms = await untilWorkers(sched, 2, t0);
  await svc.stop(name);
  await waitFor('the cluster gone', async () => daskProcesses(name).length === 0, 20_000);
  return ms;
}

async function hist(spec: Record<string, unknown>): Promise<number> {
  const out = await daskClient({ ...spec, job: 'hist', values: 1e8, chunks: 40 }, 300_000);
  if (out.counts_total < 0.99e8) throw new Error(`histogram lost values: ${out.counts_total}`);
  return out.seconds;
}

async function main(): Promise<void> {
  const args = process.argv;
  const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'highrate-bench-dask-'));
  const p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'bench' }] });
  const results: Record<string, number> = {};
  try {
    const creds = await generateCredentials('byhand');
    writeFileSync(join(dir, 'dask.crt'), creds.cert);
    writeFileSync(join(dir, 'dask.pem'), creds.key, { mode: 0o600 });
    const token = await p.token('bench');

    // Warm the page cache for Python and distributed on both sides first.
    await byHand(dir);
    await throughHighrate(p, token);
    const hand: number[] = [];
    const hr: number[] = [];
    for (let i = 0; i < rounds; i++) {
      hand.push(await byHand(dir));
      hr.push(await throughHighrate(p, token));
    }
    results.byHandTo2WorkersMedianMs = median(hand);
    results.highrateTo2WorkersMedianMs = median(hr);
    results.startRatio = results.highrateTo2WorkersMedianMs / results.byHandTo2WorkersMedianMs;

    // The numpy workload on 1 and 2 workers of 1 core each, through highrate and by hand. Only
    // the cluster measured runs meanwhile (idle Dask processes cost ~2% of a core each, which a
    // 2-worker run on 2 cores feels); the four kinds alternate within each round, so load from
    // elsewhere on the machine falls on all alike; each cluster gets a warm-up run first.
    const auth = { authorization: `token ${token}` };
    async function throughPlatform(workers: number): Promise<number> {
      const name = (await http('POST', `${p.base}/hub/api/clusters`, { headers: auth, body: { cluster_options: { worker_cores: 1, worker_memory: '2G' }, workers } })).json().name;
      try {
        const c = await waitFor('running', async () => {
          const x = (await http('GET', `${p.base}/services/dask-gateway/api/v1/clusters/${name}?wait`, { headers: { authorization: `jupyterhub ${token}` } })).json();
          return x.status === 'RUNNING' ? x : null;
        });
        await waitFor(`${workers} workers`, async () => {
          const m = (await http('GET', `${p.base}/hub/api/clusters/${name}`, { headers: auth })).json();
          return m.workers.connected_to_scheduler === workers && m.workers.running === workers;
        });
        const spec = connection(p, c);
        await hist(spec);
        return await hist(spec);
      } finally {
        await p.hub!.clusters!.service.stop(name);
        await waitFor('the cluster gone', async () => daskProcesses(name).length === 0, 20_000);
      }
    }
    async function startedByHand(workers: number): Promise<number> {
      const h = await handCluster(dir, workers);
      try {
        await untilWorkers(h.sched, workers, performance.now());
        const spec = { cert: creds.cert, key: creds.key, sni: 'daskgateway-byhand', address: `tls://127.0.0.1:${h.tls}` };
        await hist(spec);
        return await hist(spec);
      } finally {
        await h.stop();
      }
    }
    const one: number[] = [];
    const two: number[] = [];
    const hand1: number[] = [];
    const hand2: number[] = [];
    for (let i = 0; i < 3; i++) {
      one.push(await throughPlatform(1));
      two.push(await throughPlatform(2));
      hand1.push(await startedByHand(1));
      hand2.push(await startedByHand(2));
    }
    results.handHist1WorkerMedianS = median(hand1);
    results.handHist2WorkersMedianS = median(hand2);
    results.handHistSpeedup = results.handHist1WorkerMedianS / results.handHist2WorkersMedianS;
    results.hist1WorkerMedianS = median(one);
    results.hist2WorkersMedianS = median(two);
    results.histSpeedup = results.hist1WorkerMedianS / results.hist2WorkersMedianS;
    results.loadAverage1m = loadavg()[0]!;
  } finally {
    try {
      await stopAllClusters(p);
    } finally {
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const rows: Array<[string, string, string]> = [
    ['Running cluster with 2 workers, by hand (median)', `${results.byHandTo2WorkersMedianMs!.toFixed(0)} ms`, ''],
    ['Running cluster with 2 workers, through highrate (median)', `${results.highrateTo2WorkersMedianMs!.toFixed(0)} ms`, ''],
    ['Ratio highrate / by hand', results.startRatio!.toFixed(3), '≤ 1.15'],
    ['Histogram of 10^8 values, 1 worker (median)', `${results.hist1WorkerMedianS!.toFixed(2)} s`, ''],
    ['Histogram of 10^8 values, 2 workers (median)', `${results.hist2WorkersMedianS!.toFixed(2)} s`, ''],
    ['Speed-up 2 workers / 1 worker', results.histSpeedup!.toFixed(2), '≥ 1.7'],
    ['Same workload on Dask started by hand: speed-up 2 / 1 worker', `${results.handHistSpeedup!.toFixed(2)} (${results.handHist1WorkerMedianS!.toFixed(2)} s / ${results.handHist2WorkersMedianS!.toFixed(2)} s)`, 'reference'],
    ['Load average (1 min) at the end', results.loadAverage1m!.toFixed(2), 'other work on the machine'],
  ];
  process.stdout.write(['| measure | value | target |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  const ok = results.startRatio! <= 1.15 && results.histSpeedup! >= 1.7;
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
