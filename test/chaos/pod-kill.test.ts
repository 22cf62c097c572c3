/**
 * Chaos: every process of one user's notebook pod SIGKILLed (supervisor, sandbox, server) while
 * that user and others work. The hub notices at its next reconcile: the server shows stopped,
 * its route is gone, its requests get an answer (never a hang), and starting it again works.
 * The other users see nothing: 0 failed, 0 hung requests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cgroupPids, type PodCgroup } from '../../src/executors/local/cgroups.js';
import { http } from '../helpers/http.js';
import type { Platform } from '../helpers/platform.js';
import { failedCount, httpLoad, Traffic } from '../helpers/traffic.js';
import { openStore, routeDrift, sleep, snapshot, waitFor } from './consistency.js';
import { chaosPlatform, tinyUsers } from './setup.js';

/** SIGKILLs every process of `user`'s default server's pod (its supervisor's group and its cgroup). */
async function killPod(p: Platform, user: string): Promise<number[]> {
  const store = await openStore(p);
  const row = await store.getServer(user, '');
  await store.close();
  assert.ok(row?.podUid && row.executor, `${user} has a pod`);
  const rec = JSON.parse(readFileSync(join(p.dataDir, 'executors', row.executor, 'pods', row.podUid, 'state.json'), 'utf8')) as { pid: number; cgroup: PodCgroup | null };
  const pids = [rec.pid, ...cgroupPids(rec.cgroup)];
  try { process.kill(-rec.pid, 'SIGKILL'); } catch { /* not a group */ }
  for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  return pids;
}

describe('chaos: a notebook pod SIGKILLed under traffic', () => {
  let p: Platform;
  let traffic: Traffic | undefined;

  before(async () => { p = await chaosPlatform(); });
  after(async () => {
    await traffic?.stop();
    await p?.close();
  });

  test('the hub marks the server stopped and drops its route; start again works; other users unaffected', async (t) => {
    const others = ['u1', 'u2', 'u3'];
    const headers = await tinyUsers(p, [...others, 'victim']);
    const victimAuth = headers.pop()!;
    const victimToken = victimAuth.authorization!.slice('token '.length);
    traffic = new Traffic([
      httpLoad({ base: p.base, paths: others.map((u) => `/user/${u}/api/status`), headers, connections: 8, deadlineMs: 5000, name: 'others' }),
      // A request the kill cuts counts with the kill (the window it ended in), not before it.
      httpLoad({ base: p.base, paths: ['/user/victim/api/status'], headers: [victimAuth], connections: 2, deadlineMs: 5000, pauseMs: 20, name: 'victim', countAt: 'end' }),
    ]);
    await sleep(1000);

    traffic.phase('pod killed');
    const killedAt = Date.now();
    const pids = await killPod(p, 'victim');
    t.diagnostic(`killed pids ${pids.join(' ')}`);
    // Noticed at the next reconcile (hub.reconcileInterval 2 s in tests).
    await waitFor('the server shown stopped', async () => {
      const r = await p.api('GET', '/hub/api/users/victim', { token: victimToken });
      return r.status === 200 && Object.keys(r.json().servers).length === 0;
    }, 20_000, 100);
    const noticedMs = Date.now() - killedAt;
    t.diagnostic(`the hub showed the server stopped ${noticedMs} ms after the kill`);

    traffic.phase('stopped');
    await sleep(1000);
    const store = await openStore(p);
    try {
      assert.equal((await store.getServer('victim', ''))?.state ?? 'stopped', 'stopped');
      assert.match((await store.getServer('victim', ''))?.failure ?? '', /exited|gone/, 'the reason is kept for the user');
      assert.deepEqual(await routeDrift(p, store), [], 'the route is gone, the others stay');
    } finally {
      await store.close();
    }
    assert.equal((await http('GET', `${p.base}/user/victim/api/status`, { headers: victimAuth })).status, 424, 'SERVER_NOT_RUNNING from the hub');

    traffic.phase('started again');
    await p.startServer('victim', victimToken, { profile: 'tiny' });
    await sleep(1000);
    await traffic.stop();
    const report = traffic.report();
    traffic = undefined;
    t.diagnostic(JSON.stringify(report));

    for (const [w, o] of Object.entries(report.others!)) {
      assert.equal(failedCount(o) + o.hung, 0, `other users, ${w}: ${JSON.stringify(o)}`);
      assert.ok(o.ok > 0);
    }
    const v = report.victim!;
    for (const [w, o] of Object.entries(v)) assert.equal(o.hung, 0, `victim, ${w}: nothing hangs: ${JSON.stringify(o)}`);
    // While its pod is dead: the proxy's 503 (target refused) until the hub drops the route, then the hub's 424.
    const allowed = new Set(['424 SERVER_NOT_RUNNING', '503 UPSTREAM_UNAVAILABLE']);
    for (const w of ['pod killed', 'stopped']) {
      const unexpected = Object.keys(v[w]!.failed).filter((k) => !allowed.has(k));
      assert.deepEqual(unexpected, [], `victim, ${w}: ${JSON.stringify(v[w])}`);
    }
    assert.equal(v.stopped!.ok, 0);
    assert.ok((v.stopped!.failed['424 SERVER_NOT_RUNNING'] ?? 0) > 0, JSON.stringify(v.stopped));
    assert.equal(failedCount(v.before!), 0);
    assert.ok(v['started again']!.ok > 0, `the restarted server answers: ${JSON.stringify(v['started again'])}`);
    assert.equal((await http('GET', `${p.base}/user/victim/api/status`, { headers: victimAuth })).status, 200);

    const after = await openStore(p);
    try {
      assert.deepEqual((await snapshot(after)).servers, ['u1/=running', 'u2/=running', 'u3/=running', 'victim/=running']);
      assert.deepEqual(await routeDrift(p, after), []);
    } finally {
      await after.close();
    }
  });
});
