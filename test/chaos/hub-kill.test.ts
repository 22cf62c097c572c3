/**
 * Chaos: SIGKILL of the hub, then a restart, while users work. Users see: 0 failed and 0 hung
 * requests to their servers, 0 dropped kernel WebSockets, API calls answered 503 HUB_STARTING
 * within 1 s while the hub is down (none hangs), and no 5xx once it is back. The store keeps
 * every user, token and server, and the proxy's routes equal the store.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before as beforeAll, describe, test } from 'node:test';
import type { Platform } from '../helpers/platform.js';
import { apiLoad, failedCount, httpLoad, kernelLoad, Traffic, type Outcome } from '../helpers/traffic.js';
import { openStore, routeDrift, sleep, snapshot, type StoreSnapshot } from './consistency.js';

const WINDOWS = ['before', 'hub down', 'restart', 'after'] as const;
import { chaosPlatform, kernelUser, tinyUsers } from './setup.js';

/** ms from `since` until GET /hub/api/ through the proxy answers 200 (polled every 20 ms). */
async function untilApiAnswers(base: string, since: number): Promise<number> {
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = http.get(`${base}/hub/api/`, { agent: false, timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('timeout', () => { req.destroy(); resolve(0); });
      req.on('error', () => resolve(0));
    });
    if (status === 200) return Date.now() - since;
    if (Date.now() - since > 60_000) throw new Error('the hub API did not come back within 60 s');
    await sleep(20);
  }
}

describe('chaos: hub SIGKILL + restart under traffic', () => {
  let p: Platform;
  let traffic: Traffic | undefined;
  let report: Record<string, Record<string, Outcome>>;
  let drops: number[];
  let restartToApiMs: number;
  let before: StoreSnapshot;

  beforeAll(async () => {
    p = await chaosPlatform();
    const users = ['u1', 'u2', 'u3', 'u4'];
    const headers = await tinyUsers(p, users);
    const { ws, token: aliceToken } = await kernelUser(p, 'alice');
    const apiTokens = [aliceToken, await p.token('bob')];

    const storeBefore = await openStore(p);
    before = await snapshot(storeBefore);
    await storeBefore.close();

    const kernel = kernelLoad(ws, { deadlineMs: 5000 });
    traffic = new Traffic([
      httpLoad({ base: p.base, paths: users.map((u) => `/user/${u}/api/status`), headers, connections: 16, deadlineMs: 5000 }),
      kernel,
      apiLoad({ base: p.base, tokens: apiTokens, deadlineMs: 1000, pauseMs: 50 }),
    ]);
    await sleep(1500);

    traffic.phase('hub down');
    await p.killHub();
    await sleep(2000);

    traffic.phase('restart');
    const restartAt = Date.now();
    const answers = untilApiAnswers(p.base, restartAt);
    await p.startProcess();
    restartToApiMs = await answers;

    traffic.phase('after');
    await sleep(2000);
    await traffic.stop();
    report = traffic.report();
    drops = kernel.drops;
    traffic = undefined;
  });
  after(async () => {
    await traffic?.stop();
    await p?.close();
  });

  test('requests to user servers: 0 failed, 0 hung, in every window', (t) => {
    t.diagnostic(JSON.stringify(report.http));
    for (const w of WINDOWS) {
      const h = report.http![w]!;
      assert.equal(failedCount(h), 0, `http ${w}: ${JSON.stringify(h)}`);
      assert.equal(h.hung, 0, `http ${w}: ${JSON.stringify(h)}`);
      assert.ok(h.ok > 0, `http ${w}: requests went through`);
    }
  });

  test('kernel WebSocket: 0 dropped, every execution answered right', (t) => {
    t.diagnostic(JSON.stringify(report.kernel));
    assert.deepEqual(drops, [], 'no kernel WebSocket dropped');
    for (const w of WINDOWS) {
      const k = report.kernel![w]!;
      assert.equal(failedCount(k) + k.hung, 0, `kernel ${w}: ${JSON.stringify(k)}`);
      assert.ok(k.ok > 0, `kernel ${w}: code ran`);
    }
  });

  test('API while the hub is down: 503 HUB_STARTING within 1 s, none hangs', (t) => {
    const down = report.api!['hub down']!;
    t.diagnostic(JSON.stringify(down));
    assert.equal(down.hung, 0, JSON.stringify(down));
    assert.deepEqual(Object.keys(down.failed), ['503 HUB_STARTING'], JSON.stringify(down));
    assert.ok(down.maxLatencyMs < 1000, `503 answered within 1 s: ${down.maxLatencyMs} ms`);
  });

  // Once flaky under load (docs/reliability.md, bug 4: the new hub built the IdP on its event
  // loop after it listened); the IdP now loads after "running". Before it became a test again it
  // passed 5 runs on an idle machine, 2 full CI runs, and 3 runs beside 6 busy loops (load 8,
  // slowest answer 0.53 s).
  test('API while the new hub starts: 503 HUB_STARTING or 200 within 1 s, none hangs', (t) => {
    const restart = report.api!.restart!;
    t.diagnostic(JSON.stringify(restart));
    assert.deepEqual(Object.keys(restart.failed).filter((k) => k !== '503 HUB_STARTING'), [], JSON.stringify(restart));
    assert.equal(restart.hung, 0, JSON.stringify(restart));
  });

  test('API once the hub is back: no 5xx, no hang', (t) => {
    const back = report.api!.after!;
    t.diagnostic(JSON.stringify(back));
    assert.deepEqual(back.failed, {}, JSON.stringify(back));
    assert.equal(back.hung, 0);
    assert.ok(back.ok > 0);
  });

  test('the store keeps users, tokens and servers; the proxy routes equal the store', async () => {
    const store = await openStore(p);
    try {
      assert.deepEqual(await snapshot(store), before, 'users, tokens and servers as before the fault');
      assert.deepEqual(await routeDrift(p, store), [], 'the proxy routes equal the store');
    } finally {
      await store.close();
    }
  });

  test('the hub API answers again after the restart (time reported; the 2 s bar is bench/hub-restart)', (t) => {
    t.diagnostic(`restart began → GET /hub/api/ 200: ${restartToApiMs} ms`);
    assert.ok(restartToApiMs < 30_000, `${restartToApiMs} ms`);
  });
});
