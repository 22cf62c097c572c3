/**
 * Spawning Debian's `jupyterhub-singleuser` (JupyterHub 3.0 over notebook 6), side by side in one
 * run, through the hub's REST API as a client of either hub would:
 * - highrate (in-process Platform, the default profile: bubblewrap sandbox, the user's own uid), and
 * - Debian's JupyterHub 3.0 (`/usr/bin/jupyterhub` as a child process, Debian's
 *   configurable-http-proxy 4.5.3 started by it, SimpleLocalProcessSpawner running the server as
 *   root without a sandbox, DummyAuthenticator, SQLite), all in a temp dir on free ports.
 * One spawn: `POST /hub/api/users/<u>/server` with an admin token; 201, or 202 and then the
 * progress stream until `ready`; then `GET /user/<u>/api` through the public proxy port with a
 * token of the user, every 10 ms, until it answers 200 with the notebook's version. Timed from
 * the POST to that 200 (a user could use it). A fresh user each round; the server is stopped
 * before the next spawn; one warm-up each (page cache); rounds alternate which hub goes first.
 * 9 rounds by default: JupyterHub's times spread widely (it polls the new server with exponential
 * backoff and full jitter, up to 3.2 s apart by the time the server listens), so a median of 5
 * says too much about how lucky its polls were.
 * Target: highrate's median ≤ 0.8 × JupyterHub's.
 * Usage: node dist/bench/singleuser-spawn.bench.js [--json FILE] [--rounds N] [--verbose (the hub's info log too)]
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { skipBench } from './skip.js';
import { log } from '../src/log.js';
import { http } from '../test/helpers/http.js';
import { readProgress } from '../test/helpers/kernel.js';
import { JUPYTERHUB, JupyterHub3, killUnder } from '../test/helpers/jupyterhub.js';
import { killRecordedProcesses, Platform, ROOT } from '../test/helpers/platform.js';

const TARGET_RATIO = 0.8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)]!;
/** Nearest rank: below 10 samples, the largest. */
const p90 = (xs: number[]) => sorted(xs)[Math.ceil(0.9 * xs.length) - 1]!;
const say = (line: string) => process.stderr.write(`[singleuser-spawn] ${line}\n`);

/** What a spawn bench needs of a hub, whichever it is. */
interface Hub {
  readonly label: string;
  /** The public proxy's base URL; the hub API is under /hub/api. */
  readonly base: string;
  readonly adminToken: string;
  /** Creates `name` and returns an API token of that user. */
  newUser(name: string): Promise<string>;
  close(): Promise<void>;
  /** Kills what it started, synchronously (for Ctrl-C). */
  killNow(): void;
}

interface Spawn { apiReadyMs: number; answerMs: number }

/** ms from the POST to the API saying ready, and to the server answering through the proxy. */
async function spawnOnce(hub: Hub, user: string, userToken: string): Promise<Spawn> {
  const admin = { authorization: `token ${hub.adminToken}` };
  const t0 = performance.now();
  const r = await http('POST', `${hub.base}/hub/api/users/${user}/server`, { headers: admin, body: {} });
  if (r.status === 202) {
    const events = await readProgress(hub.base, `/hub/api/users/${user}/server/progress`, admin);
    if (events.at(-1)?.ready !== true) throw new Error(`${hub.label}: ${user}'s spawn failed: ${JSON.stringify(events.at(-1))}`);
  } else if (r.status !== 201) {
    throw new Error(`${hub.label}: POST ${user}'s server: ${r.status} ${r.text.slice(0, 300)}`);
  }
  const apiReadyMs = performance.now() - t0;
  const deadline = t0 + 60_000;
  for (;;) {
    const a = await http('GET', `${hub.base}/user/${user}/api`, { headers: { authorization: `token ${userToken}` } }).catch(() => undefined);
    if (a?.status === 200 && /"version"/.test(a.text)) break;
    if (performance.now() > deadline) throw new Error(`${hub.label}: ${user}'s server did not answer through the proxy (last: ${a?.status} ${a?.text.slice(0, 200)})`);
    await sleep(10);
  }
  return { apiReadyMs, answerMs: performance.now() - t0 };
}

/** Stops `user`'s server and waits until the hub no longer lists it. */
async function stopServer(hub: Hub, user: string): Promise<void> {
  const admin = { authorization: `token ${hub.adminToken}` };
  const r = await http('DELETE', `${hub.base}/hub/api/users/${user}/server`, { headers: admin });
  if (![202, 204].includes(r.status)) throw new Error(`${hub.label}: DELETE ${user}'s server: ${r.status} ${r.text.slice(0, 300)}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const model = (await http('GET', `${hub.base}/hub/api/users/${user}`, { headers: admin })).json();
    if (!model.servers?.[''] && !model.pending) return;
    if (Date.now() > deadline) throw new Error(`${hub.label}: ${user}'s server did not stop: ${JSON.stringify(model.servers)}`);
    await sleep(50);
  }
}

async function highrateHub(parent: string): Promise<Hub> {
  const p = await Platform.start({ dataParent: parent });
  let adminToken: string;
  try {
    adminToken = await p.token('admin');
  } catch (err) {
    await p.close();
    throw err;
  }
  return {
    label: 'highrate', base: p.base, adminToken,
    newUser: (name) => p.token(name),
    close: () => p.close(),
    killNow() {
      killRecordedProcesses(p.dataDir);
      rmSync(p.dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's JupyterHub 3.0 with its own configurable-http-proxy (test/helpers/jupyterhub.ts). */
async function jupyterHub(parent: string, register: (h: Hub) => void): Promise<Hub> {
  const jh = await JupyterHub3.start(parent);
  const hub: Hub = {
    label: 'JupyterHub', base: jh.base, adminToken: jh.adminToken,
    newUser: (name) => jh.newUser(name),
    async close() {
      // JupyterHub stops its servers and its proxy on SIGTERM; what is left is killed.
      await jh.stopHub();
      jh.close();
    },
    killNow: () => jh.close(),
  };
  register(hub);
  return hub;
}

async function main(): Promise<void> {
  const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const jsonOut = arg('--json');
  const rounds = Number(arg('--rounds') ?? 9);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, not ${arg('--rounds')}`);
  if (process.getuid?.() !== 0) skipBench('singleuser-spawn', 'highrate runs each server as its user\'s uid, JupyterHub\'s spawner runs them as root: run it as root');
  if (!existsSync(JUPYTERHUB)) skipBench('singleuser-spawn', `${JUPYTERHUB} is not installed (scripts/install-deps.sh installs Debian's jupyterhub)`);
  // The hub's info lines would bury the progress lines; warnings still show.
  if (!process.argv.includes('--verbose')) log.setLevel('warn');
  // Outside /tmp, as a real data directory would be (the sandbox hides /tmp with its own tmpfs).
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const parent = mkdtempSync(join(ROOT, '.tmp', 'bench-singleuser-'));
  // Each side's servers reach their homes below it (highrate's as the users' own uids).
  chmodSync(parent, 0o711);

  const hubs: Hub[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    say(`${sig}: killing what the benchmark started`);
    for (const h of hubs) h.killNow();
    // A hub still starting: highrate's proxy and pods as recorded in its data dir, JupyterHub's by cwd.
    for (const sub of readdirSync(parent)) killRecordedProcesses(join(parent, sub));
    killUnder(parent);
    rmSync(parent, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const load = [loadavg()[0]!];
  const results = { highrate: [] as Spawn[], jupyterhub: [] as Spawn[] };
  try {
    say('starting highrate and JupyterHub 3.0');
    const hr = await highrateHub(parent);
    hubs.push(hr);
    const jh = await jupyterHub(parent, (h) => hubs.push(h));
    const run = async (hub: Hub, user: string) => {
      const token = await hub.newUser(user);
      const s = await spawnOnce(hub, user, token);
      say(`${hub.label.padEnd(10)} ${user}: answering after ${s.answerMs.toFixed(0)} ms (API ready after ${s.apiReadyMs.toFixed(0)} ms)`);
      await stopServer(hub, user);
      return s;
    };
    say('warm-up (not counted)');
    await run(hr, 'warmup');
    await run(jh, 'warmup');
    for (let i = 0; i < rounds; i++) {
      say(`round ${i + 1}/${rounds}`);
      const user = `bench-${i}`;
      if (i % 2 === 0) {
        results.highrate.push(await run(hr, user));
        results.jupyterhub.push(await run(jh, user));
      } else {
        results.jupyterhub.push(await run(jh, user));
        results.highrate.push(await run(hr, user));
      }
    }
  } finally {
    say('stopping both hubs');
    for (const h of hubs.reverse()) await h.close().catch((err: unknown) => { say(`cleanup of ${h.label}: ${String(err)}`); h.killNow(); });
    rmSync(parent, { recursive: true, force: true });
  }
  load.push(loadavg()[0]!);

  const answer = { highrate: results.highrate.map((s) => s.answerMs), jupyterhub: results.jupyterhub.map((s) => s.answerMs) };
  const api = { highrate: results.highrate.map((s) => s.apiReadyMs), jupyterhub: results.jupyterhub.map((s) => s.apiReadyMs) };
  const summary = {
    rounds,
    highrateMedianMs: median(answer.highrate), highrateP90Ms: p90(answer.highrate),
    jupyterhubMedianMs: median(answer.jupyterhub), jupyterhubP90Ms: p90(answer.jupyterhub),
    highrateApiReadyMedianMs: median(api.highrate), jupyterhubApiReadyMedianMs: median(api.jupyterhub),
    ratioMedian: median(answer.highrate) / median(answer.jupyterhub),
    ratioP90: p90(answer.highrate) / p90(answer.jupyterhub),
    loadavgBefore: load[0], loadavgAfter: load[1],
    answerMs: answer, apiReadyMs: api,
  };
  const ms = (x: number) => `${Math.round(x).toLocaleString('en-US')} ms`;
  const ok = summary.ratioMedian <= TARGET_RATIO;
  process.stdout.write('\n### Single-user spawn (Debian\'s jupyterhub-singleuser)\n\n| measure | highrate | JupyterHub 3.0 | ratio | target | met |\n|---|---|---|---|---|---|\n');
  process.stdout.write(`| POST → answering through the proxy, median of ${rounds} | ${ms(summary.highrateMedianMs)} | ${ms(summary.jupyterhubMedianMs)} | ${summary.ratioMedian.toFixed(2)} | ≤ ${TARGET_RATIO}× | ${ok ? 'yes' : 'no'} |\n`);
  process.stdout.write(`| POST → answering through the proxy, p90 of ${rounds} | ${ms(summary.highrateP90Ms)} | ${ms(summary.jupyterhubP90Ms)} | ${summary.ratioP90.toFixed(2)} | | |\n`);
  process.stdout.write(`| POST → the API says ready, median | ${ms(summary.highrateApiReadyMedianMs)} | ${ms(summary.jupyterhubApiReadyMedianMs)} | | | |\n`);
  process.stdout.write(`\n(each: ${answer.highrate.map((x) => x.toFixed(0)).join(', ')} ms highrate; ${answer.jupyterhub.map((x) => x.toFixed(0)).join(', ')} ms JupyterHub; load average ${summary.loadavgBefore.toFixed(2)} → ${summary.loadavgAfter.toFixed(2)})\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(summary, null, 2));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
