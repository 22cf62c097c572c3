/**
 * Executor benchmark (local executor):
 * - status of 1,000 tracked pods in one call: running pods (each costs a /proc read and a stat),
 *   completed pods (settled: answered from memory), and the first call of a new executor on the
 *   same state directory (a hub restart: it loads 1,000 state.json files first);
 * - trivial pods (`/bin/true`) created and completed per second, without a sandbox, with
 *   bubblewrap, and with bubblewrap plus cgroup limits, beside the bare start of the same process
 *   (`sh -c true`, `bwrap ... true`) so the overhead reads as a ratio, not as seconds on a noisy box.
 *
 *   node dist/bench/executor.bench.js [--json FILE] [--pods 1000] [--trivial 300] [--iterations 20]
 *
 * Prints Markdown tables; --json also writes the numbers.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { LocalExecutor } from '../src/executors/local/index.js';
import type { Pod, RetrievedPodData } from '../src/executors/types.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    pods: { type: 'string', default: '1000' },
    trivial: { type: 'string', default: '300' },
    iterations: { type: 'string', default: '20' },
  },
});
const PODS = Number(args.pods);
const TRIVIAL = Number(args.trivial);
const ITERATIONS = Number(args.iterations);

interface StatusResult { case: string; pods: number; iterations: number; medianMs: number; p90Ms: number; minMs: number }
interface RateResult { case: string; pods: number; seconds: number; perSecond: number; createMsMean: number; ratioToBare?: number }

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pod(command: string[], limits?: Record<string, string>): RetrievedPodData {
  const uid = randomUUID();
  return {
    pod: { metadata: { name: `bench-${uid.slice(0, 8)}`, namespace: 'bench', uid }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', command, ...(limits ? { resources: { limits } } : {}) }] } },
    container: null,
  };
}

async function waitAll(ex: LocalExecutor, pods: Pod[], state: 'running' | 'terminated', pollMs: number): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    const st = await ex.status(pods);
    if (st.length === pods.length && st.every((s) => s.containers[0]?.state[state])) return;
    if (Date.now() > until) throw new Error(`pods did not reach ${state}`);
    await sleep(pollMs);
  }
}

async function timeStatus(label: string, ex: LocalExecutor, pods: Pod[]): Promise<StatusResult> {
  for (let i = 0; i < 3; i++) await ex.status(pods);
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    const st = await ex.status(pods);
    times.push(performance.now() - t);
    if (st.length !== pods.length) throw new Error('lost pods');
  }
  times.sort((a, b) => a - b);
  return { case: label, pods: pods.length, iterations: ITERATIONS, medianMs: round(quantile(times, 0.5)), p90Ms: round(quantile(times, 0.9)), minMs: round(times[0]!) };
}

async function statusBench(tmp: string): Promise<StatusResult[]> {
  const out: StatusResult[] = [];
  const dir = path.join(tmp, 'status');
  const ex = new LocalExecutor({ name: 'bench-status', stateDir: dir, sandbox: 'none', cgroups: 'off' });
  const running = Array.from({ length: PODS }, () => pod(['/bin/sleep', '600']));
  try {
    for (const d of running) await ex.create(d);
    const pods = running.map((d) => d.pod);
    await waitAll(ex, pods, 'running', 100);
    out.push(await timeStatus(`${PODS} running pods`, ex, pods));
    // A hub restart: a new executor finds the pods from their state files on its first call.
    const t = performance.now();
    const st = await new LocalExecutor({ name: 'bench-status', stateDir: dir, sandbox: 'none', cgroups: 'off' }).status(pods);
    const first = performance.now() - t;
    if (st.length !== PODS) throw new Error('restart lost pods');
    out.push({ case: `${PODS} running pods, first call of a new executor (restart)`, pods: PODS, iterations: 1, medianMs: round(first), p90Ms: round(first), minMs: round(first) });
  } finally {
    await Promise.all(running.map((d) => ex.delete(d.pod)));
  }
  const done = Array.from({ length: PODS }, () => pod(['/bin/true']));
  try {
    for (const d of done) await ex.create(d);
    const pods = done.map((d) => d.pod);
    await waitAll(ex, pods, 'terminated', 100);
    out.push(await timeStatus(`${PODS} completed pods`, ex, pods));
  } finally {
    await Promise.all(done.map((d) => ex.delete(d.pod)));
  }
  return out;
}

/** Trivial pods created one after the other, until all have completed: pods per second. */
async function rate(label: string, ex: LocalExecutor, limits?: Record<string, string>): Promise<RateResult> {
  const all = Array.from({ length: TRIVIAL }, () => pod(['/bin/true'], limits));
  try {
    const t0 = performance.now();
    let createMs = 0;
    for (const d of all) {
      const t = performance.now();
      await ex.create(d);
      createMs += performance.now() - t;
    }
    await waitAll(ex, all.map((d) => d.pod), 'terminated', 5);
    const seconds = (performance.now() - t0) / 1000;
    return { case: label, pods: TRIVIAL, seconds: round(seconds), perSecond: round(TRIVIAL / seconds, 1), createMsMean: round(createMs / TRIVIAL) };
  } finally {
    await Promise.all(all.map((d) => ex.delete(d.pod)));
  }
}

/** The same process started bare, one after the other: starts per second. */
async function bare(label: string, cmd: string, argv: string[]): Promise<RateResult> {
  const t0 = performance.now();
  for (let i = 0; i < TRIVIAL; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = spawn(cmd, argv, { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', () => resolve());
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  return { case: label, pods: TRIVIAL, seconds: round(seconds), perSecond: round(TRIVIAL / seconds, 1), createMsMean: 0 };
}

async function main(): Promise<void> {
  // Outside /tmp, as a real state directory would be (the sandbox hides it with its own tmpfs).
  const base = path.join(process.cwd(), '.tmp');
  fs.mkdirSync(base, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(base, 'executor-bench-'));
  const status: StatusResult[] = [];
  const rates: RateResult[] = [];
  try {
    status.push(...await statusBench(tmp));
    const none = new LocalExecutor({ name: 'bench-none', stateDir: path.join(tmp, 'none'), sandbox: 'none', cgroups: 'off' });
    const bareSh = await bare('bare: sh -c true', '/bin/sh', ['-c', 'true']);
    rates.push(bareSh);
    rates.push(await rate('local, no sandbox', none));
    const withBwrap = new LocalExecutor({ name: 'bench-bwrap', stateDir: path.join(tmp, 'bwrap'), sandbox: 'auto', cgroups: 'auto' });
    if (withBwrap.sandboxKind === 'bwrap') {
      const bareBwrap = await bare('bare: bwrap ... true', '/usr/bin/bwrap', ['--bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--', '/bin/true']);
      rates.push(bareBwrap);
      rates.push(await rate('local, bwrap', withBwrap));
      if (withBwrap.capabilities.cpuLimits && withBwrap.capabilities.memoryLimits) {
        rates.push(await rate('local, bwrap + cgroup limits', withBwrap, { cpu: '500m', memory: '64Mi' }));
      }
    }
    // Each against the same process started bare: sh for no sandbox, bwrap for the sandboxed rows.
    const bareBwrap = rates.find((r) => r.case.startsWith('bare: bwrap'));
    for (const r of rates) {
      if (r.case.startsWith('bare')) continue;
      const baseline = r.case.includes('bwrap') && bareBwrap ? bareBwrap : bareSh;
      r.ratioToBare = round(baseline.perSecond / r.perSecond, 1);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const lines = [
    `Executor (local): status of tracked pods in one call; ${ITERATIONS} iterations after 3 warm-up (times in ms)`,
    '',
    '| case | pods | median | p90 | min |',
    '|---|---:|---:|---:|---:|',
    ...status.map((r) => `| ${r.case} | ${r.pods} | ${r.medianMs.toFixed(2)} | ${r.p90Ms.toFixed(2)} | ${r.minMs.toFixed(2)} |`),
    '',
    `Trivial pods (/bin/true) created one after the other until all completed (${TRIVIAL} each); "x bare" = times slower than starting the same thing bare (sh -c true; bwrap ... true for sandboxed rows)`,
    '',
    '| case | pods/s | seconds | mean create ms | x bare |',
    '|---|---:|---:|---:|---:|',
    ...rates.map((r) => `| ${r.case} | ${r.perSecond.toFixed(1)} | ${r.seconds.toFixed(2)} | ${r.createMsMean ? r.createMsMean.toFixed(2) : '-'} | ${r.ratioToBare ?? '-'} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) {
    const doc = {
      benchmark: 'executor', date: new Date().toISOString(), node: process.version, cpus: os.cpus().length,
      params: { pods: PODS, trivial: TRIVIAL, iterations: ITERATIONS }, status, rates,
    };
    fs.writeFileSync(args.json, JSON.stringify(doc, null, 2) + '\n');
  }
}

main().catch(function benchFailed(err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
