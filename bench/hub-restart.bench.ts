/**
 * Issue 14's bar: hub SIGKILL + restart during 64-connection load to user servers: 0 failed
 * requests, and the time until the hub API answers again ≤ 2 s. `highrate up` runs as its own
 * process on a fixed hub port; 8 users' tiny servers take 64 keep-alive connections through the
 * proxy (5 s deadline each); the hub is SIGKILLed and started again at once (as a service
 * manager does); the time is from the kill to the first 200 of GET /hub/api/ through the public
 * port (and, separately, from the new process's spawn).
 * `highrate up` loads from its bundle when `npm run build` made a fresh one (src/cli/up-bundle.ts);
 * `--no-bundle` measures dist/src's ES modules instead (HIGHRATE_UP_BUNDLE=0). The output says which.
 * Usage: node dist/bench/hub-restart.bench.js [--json FILE] [--rounds N] [--no-bundle]
 */
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { chaosPlatform, tinyUsers } from '../test/chaos/setup.js';
import { failedCount, httpLoad } from '../test/helpers/traffic.js';
import type { Platform } from '../test/helpers/platform.js';
import { skipBench } from './skip.js';
import { freshUpBundle } from '../src/cli/up-bundle.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Resolves with Date.now() of the first 200 of GET /hub/api/ (polled every 10 ms, 1 s deadline each). */
async function firstApi200(base: string): Promise<number> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(`${base}/hub/api/`, { agent: false, timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('timeout', () => { req.destroy(); resolve(0); });
      req.on('error', () => resolve(0));
    });
    if (status === 200) return Date.now();
    await sleep(10);
  }
  throw new Error('the hub API did not answer within 120 s');
}

interface Round {
  killToApiMs: number;
  spawnToApiMs: number;
  requests: number;
  failed: number;
  hung: number;
  failures: Record<string, number>;
  maxLatencyMs: number;
}

async function round(p: Platform, users: string[], headers: Array<Record<string, string>>): Promise<Round> {
  const load = httpLoad({ base: p.base, paths: users.map((u) => `/user/${u}/api/status`), headers, connections: 64, deadlineMs: 5000 });
  try {
    await sleep(2000);
    load.tally.phase('fault');
    const killedAt = Date.now();
    await p.killHub();
    const spawnedAt = Date.now();
    const answered = firstApi200(p.base);
    await p.startProcess();
    const at = await answered;
    await sleep(2000);
    await load.stop();
    const all = Object.values(load.tally.toJSON());
    const failures: Record<string, number> = {};
    for (const o of all) for (const [k, n] of Object.entries(o.failed)) failures[k] = (failures[k] ?? 0) + n;
    return {
      killToApiMs: at - killedAt,
      spawnToApiMs: at - spawnedAt,
      requests: all.reduce((a, o) => a + o.ok + failedCount(o) + o.hung, 0),
      failed: all.reduce((a, o) => a + failedCount(o), 0),
      hung: all.reduce((a, o) => a + o.hung, 0),
      failures,
      maxLatencyMs: Math.max(...all.map((o) => o.maxLatencyMs)),
    };
  } finally {
    await load.stop();
  }
}

async function main(): Promise<void> {
  const jsonOut = arg('--json');
  const rounds = Number(arg('--rounds') ?? 3);
  if (process.argv.includes('--no-bundle')) process.env.HIGHRATE_UP_BUNDLE = '0';
  // Whether the hub processes load the bundle: checked before and after (a `tsc` meanwhile makes it stale).
  const bundled = () => process.env.HIGHRATE_UP_BUNDLE !== '0' && freshUpBundle() !== null;
  const bundledBefore = bundled();
  let p: Platform;
  try {
    p = await chaosPlatform();
  } catch (err) {
    skipBench('hub restart', `the platform does not start here: ${String(err).slice(0, 300)}`);
  }
  const results: Round[] = [];
  let idleKillToApiMs = NaN;
  try {
    const users = Array.from({ length: 8 }, (_, i) => `load${i}`);
    const headers = await tinyUsers(p, users);
    // The same restart without load, for comparison: how much of the time is the load's.
    await p.killHub();
    const t0 = Date.now();
    const answered = firstApi200(p.base);
    await p.startProcess();
    idleKillToApiMs = (await answered) - t0;
    for (let i = 0; i < rounds; i++) results.push(await round(p, users, headers));
  } finally {
    await p.close();
  }
  const loadedFrom = bundledBefore && bundled() ? 'the bundle (dist/src/up-bundle)' : !bundledBefore && !bundled() ? 'dist/src ES modules' : 'mixed (the bundle went stale during the run)';
  const worst = {
    failed: Math.max(...results.map((r) => r.failed + r.hung)),
    killToApiMs: Math.max(...results.map((r) => r.killToApiMs)),
  };
  const median = [...results].sort((a, b) => a.killToApiMs - b.killToApiMs)[Math.floor(results.length / 2)]!;
  const rows: Array<[string, string, string, boolean]> = [
    ['failed + hung requests to user servers (64 connections, worst round)', String(worst.failed), '0', worst.failed === 0],
    ['SIGKILL → hub API answers 200 again (median)', `${median.killToApiMs} ms`, '≤ 2000 ms', median.killToApiMs <= 2000],
    ['SIGKILL → hub API answers 200 again (worst)', `${worst.killToApiMs} ms`, '—', true],
    ['new process spawned → API 200 (median)', `${median.spawnToApiMs} ms`, '—', true],
    ['SIGKILL → API 200 without load (one restart, for comparison)', `${idleKillToApiMs} ms`, '—', true],
    ['requests per round (median round)', String(median.requests), '—', true],
    ['slowest request during the rounds', `${Math.max(...results.map((r) => r.maxLatencyMs)).toFixed(0)} ms`, '< 5000 ms', results.every((r) => r.hung === 0)],
  ];
  process.stdout.write(`\n### Hub SIGKILL + restart under 64-connection load (${rounds} rounds; highrate up loaded from ${loadedFrom})\n\n| measure | value | bar | met |\n|---|---|---|---|\n`);
  for (const [m, v, b, ok] of rows) process.stdout.write(`| ${m} | ${v} | ${b} | ${ok ? 'yes' : 'no'} |\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ loadedFrom, rounds: results, worst, median, idleKillToApiMs }, null, 2));
  if (!rows.every((r) => r[3])) process.exitCode = 1;
}

main().then(() => process.exit(process.exitCode ?? 0), (err) => { console.error(err); process.exit(1); });
