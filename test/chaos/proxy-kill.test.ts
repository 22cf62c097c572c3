/**
 * Chaos: SIGKILL of the proxy while users work. Users' connections drop (expected: the proxy
 * carries them) and new ones are refused at once (never hang). What brings it back:
 * - as JupyterHub does with CHP (it checks the proxy every `proxy_check_interval`, 5 s, and
 *   restarts it, routes and all), the running hub should restore it within seconds;
 * - a hub restart does: a new proxy, routes exactly as the store, servers reachable again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '../helpers/http.js';
import type { Platform } from '../helpers/platform.js';
import { pidAlive as alive } from '../helpers/processes.js';
import { failedCount, httpLoad, Traffic } from '../helpers/traffic.js';
import { openStore, routeApi, routeDrift, sleep, snapshot, waitFor, type StoreSnapshot } from './consistency.js';
import { chaosPlatform, tinyUsers } from './setup.js';



async function killProxy(p: Platform): Promise<number> {
  const pid = p.proxyPid();
  process.kill(pid, 'SIGKILL');
  while (alive(pid)) await sleep(10);
  return pid;
}

/** Whether every user's server answers 200 through the public port now. */
async function allServe(p: Platform, users: string[], headers: Array<Record<string, string>>): Promise<boolean> {
  const rs = await Promise.all(users.map((u, i) => http('GET', `${p.base}/user/${u}/api/status`, { headers: headers[i] }).then((r) => r.status, () => 0)));
  return rs.every((s) => s === 200);
}

describe('chaos: proxy SIGKILL under traffic', () => {
  let p: Platform;
  let traffic: Traffic | undefined;
  const users = ['u1', 'u2', 'u3'];
  let headers: Array<Record<string, string>>;
  let before0: StoreSnapshot;

  before(async () => {
    p = await chaosPlatform();
    headers = await tinyUsers(p, users);
    const s = await openStore(p);
    before0 = await snapshot(s);
    await s.close();
  });
  after(async () => {
    await traffic?.stop();
    await p?.close();
  });

  test('while the proxy is dead, requests fail at once (refused, or 503 while the revived proxy gets its routes back), none hangs', async (t) => {
    // Requests the kill cuts count with the fault (the window they ended in).
    traffic = new Traffic([httpLoad({ base: p.base, paths: users.map((u) => `/user/${u}/api/status`), headers, connections: 8, deadlineMs: 5000, pauseMs: 10, countAt: 'end' })]);
    await sleep(1000);
    traffic.phase('proxy dead');
    await killProxy(p);
    await sleep(1500);
    await traffic.stop();
    const report = traffic.report();
    traffic = undefined;
    t.diagnostic(JSON.stringify(report));
    const h = report.http!;
    assert.equal(failedCount(h.before!) + h.before!.hung, 0, JSON.stringify(h.before));
    const dead = h['proxy dead']!;
    assert.equal(dead.hung, 0, `nothing hangs: ${JSON.stringify(dead)}`);
    const kinds = Object.keys(dead.failed);
    // The hub starts a new proxy within a reconcile interval; until the same pass has put the
    // user routes back (milliseconds), the hub answers those paths 503 "retry in a moment".
    assert.ok(kinds.length > 0 && kinds.every((k) => ['error ECONNREFUSED', 'error ECONNRESET', 'error EPIPE', '503 UPSTREAM_UNAVAILABLE'].includes(k)), JSON.stringify(dead));
    assert.ok((dead.failed['error ECONNREFUSED'] ?? 0) > 0, 'new connections are refused');
  });

  test('the running hub restores the proxy within 10 s, routes exactly as the store', async () => {
    await waitFor('the public port answering again', () => allServe(p, users, headers), 10_000, 200);
    const store = await openStore(p);
    try {
      assert.deepEqual(await routeDrift(p, store), []);
    } finally {
      await store.close();
    }
  });

  test('a hub restart brings a new proxy back: routes equal the store, every server answers, nothing lost', async (t) => {
    await p.killHub();
    const t0 = Date.now();
    await p.startProcess();
    t.diagnostic(`hub restart (with a new proxy) took ${Date.now() - t0} ms`);
    assert.ok(alive(p.proxyPid()));
    await waitFor('every server answering', () => allServe(p, users, headers), 10_000, 100);
    const store = await openStore(p);
    try {
      assert.deepEqual(await snapshot(store), before0, 'users, tokens and servers as before');
      assert.deepEqual(await routeDrift(p, store), [], 'routes equal the store');
      const api = routeApi(p);
      const routes = await api.getRoutes().finally(() => api.close());
      assert.equal(routes['/']?.target?.startsWith('http://127.0.0.1:'), true, 'the hub route is back');
    } finally {
      await store.close();
    }
    const traffic2 = new Traffic([httpLoad({ base: p.base, paths: users.map((u) => `/user/${u}/api/status`), headers, connections: 8, deadlineMs: 5000 })]);
    await sleep(1000);
    await traffic2.stop();
    const o = traffic2.report().http!.before!;
    assert.equal(failedCount(o) + o.hung, 0, JSON.stringify(o));
    assert.ok(o.ok > 0);
  });
});
