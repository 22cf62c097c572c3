/**
 * Hub benchmarks, side by side in one run:
 * - spawn overhead: API POST → 201 (ready) minus the bare start of the same process to answering;
 * - readiness detection: time from the server's own "listening" stamp to the hub's 201;
 * - 50 concurrent spawns of a small server, all ready;
 * - token-authenticated GET /hub/api/user through the proxy at 16 connections (wrk);
 * - bulk creation of 1,000 users.
 * Usage: node dist/bench/hub.bench.js [--json FILE]
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Platform } from '../test/helpers/platform.js';
import { waitForHttp } from '../src/hub/servers/readiness.js';
import { tinyServerCommand } from '../test/fixtures/tiny-server.js';
import { freePort } from '../src/hub/servers/ports.js';

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

async function main(): Promise<void> {
  const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  const p = await Platform.start({
    config: {
      hub: { concurrentSpawnLimit: 0, namedServerLimitPerUser: 0 },
      culler: { idleTimeout: 0 },
      profiles: [{ name: 'tiny', default: true, command: tinyServerCommand('{home}/listening') }],
    },
  });
  const results: Record<string, number> = {};
  try {
    const admin = await p.token('admin');
    const auth = { token: admin };

    // bulk creation of 1,000 users
    const names = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`);
    let t0 = performance.now();
    const bulk = await p.api('POST', '/hub/api/users', auth, { usernames: names });
    results.bulkCreate1000Ms = performance.now() - t0;
    if (bulk.status !== 201) throw new Error(`bulk create: ${bulk.status}`);

    // spawn overhead, one at a time
    const bare: number[] = [];
    const spawnMs: number[] = [];
    const detectMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      bare.push(await bareStart());
      const user = `bulk-${i}`;
      t0 = performance.now();
      const r = await p.api('POST', `/hub/api/users/${user}/server`, auth, {});
      const done = Date.now();
      spawnMs.push(performance.now() - t0);
      if (r.status !== 201) throw new Error(`spawn ${user}: ${r.status} ${r.text}`);
      const listening = Number(readFileSync(join(p.dataDir, 'homes', user, 'listening'), 'utf8'));
      detectMs.push(done - listening);
      await p.api('DELETE', `/hub/api/users/${user}/server`, auth);
    }
    results.bareStartMedianMs = median(bare);
    results.spawnMedianMs = median(spawnMs);
    results.spawnOverheadMedianMs = results.spawnMedianMs - results.bareStartMedianMs;
    results.readyDetectedAfterListeningMedianMs = median(detectMs);

    // 50 concurrent spawns
    const users = names.slice(100, 150);
    t0 = performance.now();
    const answers = await Promise.all(users.map((u) => p.api('POST', `/hub/api/users/${u}/server`, auth, {})));
    results.concurrent50AllReadyMs = performance.now() - t0;
    const notReady = answers.filter((a) => a.status !== 201).length;
    if (notReady) throw new Error(`${notReady} of 50 concurrent spawns were not ready (statuses ${answers.map((a) => a.status).join(',')})`);
    await Promise.all(users.map((u) => p.api('DELETE', `/hub/api/users/${u}/server`, auth)));

    // GET /hub/api/user through the proxy, 16 connections
    // Asynchronously: the hub runs in this process and must keep serving while wrk runs.
    const { stdout: out } = await promisify(execFile)('wrk', ['-c', '16', '-t', '2', '-d', '5s', '-H', `Authorization: token ${admin}`, `${p.base}/hub/api/user`], { encoding: 'utf8' });
    results.apiUserReqPerSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    if (non2xx) throw new Error(`wrk saw ${non2xx[1]} errors`);
  } finally {
    await p.close();
  }

  const rows: Array<[string, string, string, boolean]> = [
    ['Spawn overhead (POST→ready minus bare start), median', `${results.spawnOverheadMedianMs!.toFixed(1)} ms`, '≤ 100 ms', results.spawnOverheadMedianMs! <= 100],
    ['Server seen ready after it listens, median', `${results.readyDetectedAfterListeningMedianMs!.toFixed(1)} ms`, '≤ 50 ms', results.readyDetectedAfterListeningMedianMs! <= 50],
    ['50 concurrent spawns, all ready', `${(results.concurrent50AllReadyMs! / 1000).toFixed(2)} s`, '≤ 2 s', results.concurrent50AllReadyMs! <= 2000],
    ['Token GET /hub/api/user through the proxy, 16 conns', `${Math.round(results.apiUserReqPerSec!)} req/s`, '≥ 2,000 req/s (JupyterHub 4.1.6: 347)', results.apiUserReqPerSec! >= 2000],
    ['Bulk creation of 1,000 users', `${(results.bulkCreate1000Ms! / 1000).toFixed(2)} s`, '≤ 1 s (JupyterHub 4.1.6: 11.8 s)', results.bulkCreate1000Ms! <= 1000],
  ];
  process.stdout.write('\n### Hub\n\n| measure | highrate | target | met |\n|---|---|---|---|\n');
  for (const [m, v, t, ok] of rows) process.stdout.write(`| ${m} | ${v} | ${t} | ${ok ? 'yes' : 'no'} |\n`);
  process.stdout.write(`\n(bare start of the same server: ${results.bareStartMedianMs!.toFixed(1)} ms median; POST→201: ${results.spawnMedianMs!.toFixed(1)} ms median)\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
