/**
 * Hub benchmarks, highrate and Debian's JupyterHub 3.0 in one run on this machine (one after the
 * other, so neither slows the other), through each one's public proxy:
 * - token-authenticated GET /hub/api/user at 16 connections (wrk);
 * - bulk creation of 1,000 users, and listing them all (GET /hub/api/users, pages of 200);
 * - spawns of the same tiny server one at a time, and 50 concurrent spawns, all ready;
 * and for highrate alone: spawn overhead (POST → 201 minus the bare start of the same process) and
 * readiness detection (the server's own "listening" stamp to the hub's 201).
 * Without /usr/bin/jupyterhub the JupyterHub column says why it is empty.
 * Usage: node dist/bench/hub.bench.js [--json FILE]
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../test/helpers/http.js';
import { JUPYTERHUB, JupyterHub3 } from '../test/helpers/jupyterhub.js';
import { Platform } from '../test/helpers/platform.js';
import { waitForHttp } from '../src/hub/servers/readiness.js';
import { tinyServerCommand } from '../test/fixtures/tiny-server.js';
import { freePort } from '../src/http/ports.js';

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function bareStart(): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const [bin, ...args] = tinyServerCommand();
  const child = spawn(bin!, args.map((a) => (a === '{port}' ? String(port) : a)), { stdio: 'ignore' });
  await waitForHttp(`http://127.0.0.1:${port}/`, {}, AbortSignal.timeout(10_000));
  const ms = performance.now() - t0;
  child.kill('SIGKILL');
  return ms;
}

/** One side of the comparison: a hub's public URL and an admin token, whichever hub it is. */
interface Side {
  readonly label: string;
  readonly base: string;
  readonly adminToken: string;
  /** An API token of a (new) user. */
  userToken(name: string): Promise<string>;
}

interface Shared {
  bulkCreate1000Ms: number;
  userListMedianMs: number;
  apiUserReqPerSec: number;
  spawnMedianMs: number;
  concurrent50AllReadyMs: number;
}

/**
 * The measures both hubs get, through their public proxies with the same HTTP client: bulk
 * creation of 1,000 users, listing them all (pages of 200, median of 10), token
 * GET /hub/api/user at 16 connections (wrk), 15 spawns of the same tiny server one after the
 * other (POST → ready, median) and 50 concurrent spawns until all are ready.
 */
async function measureSide(side: Side, prefix: string): Promise<Shared> {
  const auth = { authorization: `token ${side.adminToken}` };
  const names = Array.from({ length: 1000 }, (_, i) => `${prefix}-${i}`);
  let t0 = performance.now();
  const bulk = await http('POST', `${side.base}/hub/api/users`, { headers: auth, body: { usernames: names } });
  const bulkCreate1000Ms = performance.now() - t0;
  if (bulk.status !== 201) throw new Error(`${side.label}: bulk create: ${bulk.status} ${bulk.text.slice(0, 200)}`);

  // The whole user list, page by page as an admin page or a script walks it (both hubs cap an
  // unpaginated answer at api_page_max_limit, 200).
  const list: number[] = [];
  for (let i = 0; i < 10; i++) {
    t0 = performance.now();
    let seen = 0;
    for (let offset = 0; ; offset += 200) {
      const r = await http('GET', `${side.base}/hub/api/users?offset=${offset}&limit=200`, { headers: auth });
      if (r.status !== 200) throw new Error(`${side.label}: user list: ${r.status} ${r.text.slice(0, 200)}`);
      const page = r.json().length;
      seen += page;
      if (page < 200) break;
    }
    list.push(performance.now() - t0);
    if (seen < 1000) throw new Error(`${side.label}: user list had ${seen} users`);
  }

  const token = await side.userToken(`${prefix}-api`);
  const { stdout: out } = await promisify(execFile)('wrk', ['-c', '16', '-t', '2', '-d', '5s', '-H', `Authorization: token ${token}`, `${side.base}/hub/api/user`], { encoding: 'utf8' });
  const apiUserReqPerSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${side.label}: wrk saw ${non2xx[1]} errors`);

  const spawns: number[] = [];
  for (let i = 0; i < 15; i++) {
    const user = names[i]!;
    t0 = performance.now();
    await spawnReady(side, user);
    spawns.push(performance.now() - t0);
    await stopServer(side, user);
  }

  const users = names.slice(100, 150);
  t0 = performance.now();
  await Promise.all(users.map((u) => spawnReady(side, u)));
  const concurrent50AllReadyMs = performance.now() - t0;
  await Promise.all(users.map((u) => stopServer(side, u)));
  return { bulkCreate1000Ms, userListMedianMs: median(list), apiUserReqPerSec, spawnMedianMs: median(spawns), concurrent50AllReadyMs };
}

/** POST the server; 201 is ready, 202 is followed by polling the user model until `ready`. */
async function spawnReady(side: Side, user: string): Promise<void> {
  const auth = { authorization: `token ${side.adminToken}` };
  const r = await http('POST', `${side.base}/hub/api/users/${user}/server`, { headers: auth, body: {} });
  if (r.status === 201) return;
  if (r.status !== 202) throw new Error(`${side.label}: spawn ${user}: ${r.status} ${r.text.slice(0, 200)}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const u = await http('GET', `${side.base}/hub/api/users/${user}`, { headers: auth });
    if (u.json().servers?.['']?.ready === true) return;
    if (Date.now() > deadline) throw new Error(`${side.label}: ${user} not ready after 60 s`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function stopServer(side: Side, user: string): Promise<void> {
  const auth = { authorization: `token ${side.adminToken}` };
  const r = await http('DELETE', `${side.base}/hub/api/users/${user}/server`, { headers: auth });
  if (r.status !== 204 && r.status !== 202) throw new Error(`${side.label}: stop ${user}: ${r.status}`);
  const deadline = Date.now() + 30_000;
  while (r.status === 202) {
    const u = await http('GET', `${side.base}/hub/api/users/${user}`, { headers: auth });
    if (u.json().servers?.[''] === undefined) return;
    if (Date.now() > deadline) throw new Error(`${side.label}: ${user} not stopped after 30 s`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Debian's JupyterHub 3.0 spawning the same tiny server (its port from JUPYTERHUB_SERVICE_URL, as JupyterHub 2+ passes it). */
async function startJupyterHub(parent: string): Promise<JupyterHub3> {
  const code = tinyServerCommand()[4]!;
  const wrapper = 'p=${JUPYTERHUB_SERVICE_URL#*://*:}; exec /usr/bin/python3 -S -I -c "$0" "${p%%/*}"';
  return JupyterHub3.start(parent, {
    extraConfig: [
      `c.Spawner.cmd = ${JSON.stringify(['/bin/sh', '-c', wrapper, code])}`,
      'c.Spawner.args = []',
      'c.JupyterHub.concurrent_spawn_limit = 0',
      'c.JupyterHub.log_level = "WARN"',
    ],
  });
}

async function main(): Promise<void> {
  const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  const p = await Platform.start({
    config: {
      // JupyterHub has no API rate limit: to compare what each hub can serve, neither has one here.
      hub: { concurrentSpawnLimit: 0, namedServerLimitPerUser: 0, apiRateLimit: { enabled: false } },
      culler: { idleTimeout: 0 },
      profiles: [{ name: 'tiny', default: true, command: tinyServerCommand('{home}/listening') }],
    },
  });
  const results: Record<string, number> = {};
  let jupyterhub: Shared | null = null;
  let skipped = '';
  try {
    const admin = await p.token('admin');
    const auth = { token: admin };
    const ours: Side = { label: 'highrate', base: p.base, adminToken: admin, userToken: (name) => p.token(name) };
    Object.assign(results, await measureSide(ours, 'bulk'));

    // highrate alone: spawn overhead over the bare start, and how soon a listening server is seen.
    const bare: number[] = [];
    const spawnMs: number[] = [];
    const detectMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      bare.push(await bareStart());
      const user = `bulk-${200 + i}`;
      const t0 = performance.now();
      const r = await p.api('POST', `/hub/api/users/${user}/server`, auth, {});
      const done = Date.now();
      spawnMs.push(performance.now() - t0);
      if (r.status !== 201) throw new Error(`spawn ${user}: ${r.status} ${r.text}`);
      const listening = Number(readFileSync(join(p.dataDir, 'homes', user, 'listening'), 'utf8'));
      detectMs.push(done - listening);
      await p.api('DELETE', `/hub/api/users/${user}/server`, auth);
    }
    results.bareStartMedianMs = median(bare);
    results.spawnOverheadMedianMs = median(spawnMs) - results.bareStartMedianMs;
    results.readyDetectedAfterListeningMedianMs = median(detectMs);
  } finally {
    await p.close();
  }

  // The peer, after highrate is closed (so neither slows the other), on the same machine.
  if (!existsSync(JUPYTERHUB)) {
    skipped = `JupyterHub not measured: ${JUPYTERHUB} is not installed (scripts/install-deps.sh installs Debian's jupyterhub)`;
  } else {
    const parent = mkdtempSync(join(tmpdir(), 'bench-hub-'));
    const jh = await startJupyterHub(parent);
    try {
      jupyterhub = await measureSide({ label: 'JupyterHub', base: jh.base, adminToken: jh.adminToken, userToken: (n) => jh.newUser(n) }, 'bulk');
    } finally {
      await jh.stopHub();
      jh.close();
      rmSync(parent, { recursive: true, force: true });
    }
  }

  const jh = jupyterhub;
  const vs = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? '—' : `${(ours / theirs).toFixed(2)}×`;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const rows: Array<[string, string, string, string, string, boolean]> = [
    ['Token GET /hub/api/user through the proxy, 16 conns', `${Math.round(results.apiUserReqPerSec!)} req/s`, jh ? `${Math.round(jh.apiUserReqPerSec)} req/s` : '—', vs(results.apiUserReqPerSec!, jh?.apiUserReqPerSec), '≥ 2,000 req/s', results.apiUserReqPerSec! >= 2000],
    ['Bulk creation of 1,000 users', `${(results.bulkCreate1000Ms! / 1000).toFixed(2)} s`, jh ? `${(jh.bulkCreate1000Ms / 1000).toFixed(2)} s` : '—', vs(results.bulkCreate1000Ms!, jh?.bulkCreate1000Ms), '≤ 1 s', results.bulkCreate1000Ms! <= 1000],
    ['All 1,000+ users listed (GET /hub/api/users, pages of 200), median of 10', ms(results.userListMedianMs!), jh ? ms(jh.userListMedianMs) : '—', vs(results.userListMedianMs!, jh?.userListMedianMs), '≤ JupyterHub', jh === null || results.userListMedianMs! <= jh.userListMedianMs],
    ['Spawn of the same tiny server, POST → ready, median of 15', ms(results.spawnMedianMs!), jh ? ms(jh.spawnMedianMs) : '—', vs(results.spawnMedianMs!, jh?.spawnMedianMs), '≤ JupyterHub', jh === null || results.spawnMedianMs! <= jh.spawnMedianMs],
    ['50 concurrent spawns, all ready', `${(results.concurrent50AllReadyMs! / 1000).toFixed(2)} s`, jh ? `${(jh.concurrent50AllReadyMs / 1000).toFixed(2)} s` : '—', vs(results.concurrent50AllReadyMs!, jh?.concurrent50AllReadyMs), '≤ 2 s', results.concurrent50AllReadyMs! <= 2000],
    ['Spawn overhead (POST→ready minus bare start), median', ms(results.spawnOverheadMedianMs!), '', '', '≤ 100 ms', results.spawnOverheadMedianMs! <= 100],
    ['Server seen ready after it listens, median', ms(results.readyDetectedAfterListeningMedianMs!), '', '', '≤ 50 ms', results.readyDetectedAfterListeningMedianMs! <= 50],
  ];
  process.stdout.write('\n### Hub (JupyterHub: Debian\'s 3.0 with its configurable-http-proxy, same machine, same run)\n\n| measure | highrate | JupyterHub 3.0 | highrate / JupyterHub | target | met |\n|---|---|---|---|---|---|\n');
  for (const [m, v, j, r, t, ok] of rows) process.stdout.write(`| ${m} | ${v} | ${j} | ${r} | ${t} | ${ok ? 'yes' : 'no'} |\n`);
  process.stdout.write(`\n(bare start of the tiny server: ${results.bareStartMedianMs!.toFixed(1)} ms median)${skipped ? `\n${skipped}` : ''}\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ highrate: results, jupyterhub, skipped: skipped || undefined }, null, 2));
  if (!rows.every((r) => r[5])) process.exitCode = 1;
}

main().then(() => process.exit(process.exitCode ?? 0), (err) => { console.error(err); process.exit(1); });
