/**
 * Chaos: a Dask worker, then the scheduler, SIGKILLed while a computation runs in a loop
 * through the platform's Dask port and another user works on a server. As docs/clusters.md
 * says: a killed worker is replaced (the cluster stays RUNNING and computations succeed on);
 * a killed scheduler fails the cluster (FAILED, with the reason) and every pod of it is deleted;
 * clients get an error, never a hang; another cluster and other users see nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';
import { daskLoad, failedCount, httpLoad, Traffic } from '../helpers/traffic.js';
import { CLIENT, closeWithClusters, connection, daskProcesses, gw, model, pythonProcess, waitFor, waitRunning, waitWorkers } from '../clusters/helpers.js';
import { openStore, routeDrift, sleep } from './consistency.js';

describe('chaos: Dask worker and scheduler SIGKILLed under a computation', () => {
  let p: Platform;
  let alice: string;
  let traffic: Traffic | undefined;

  before(async () => {
    p = await Platform.start({
      config: { clusters: { daskPort: 0, idleTimeout: 0 }, profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }] },
      users: [{ name: 'alice' }],
    });
    alice = await p.token('alice');
  });
  after(async () => {
    await traffic?.stop();
    await closeWithClusters(p);
  });

  test('worker killed: replaced, cluster RUNNING, computations go on; scheduler killed: FAILED and cleaned up; others unaffected', async (t) => {
    const bob = await p.token('bob');
    await p.startServer('bob', bob, {});
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    const cluster = await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2);
    // Another cluster of the same user, without workers: it must stay untouched.
    const other = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    await waitRunning(p, alice, other);

    traffic = new Traffic([
      daskLoad(CLIENT, { ...connection(p, cluster), job: 'sum' }, { deadlineMs: 60_000 }),
      httpLoad({ base: p.base, paths: ['/user/bob/api/status'], headers: [{ authorization: `token ${bob}` }], connections: 4, deadlineMs: 5000, pauseMs: 20, name: 'other user' }),
    ]);
    await waitFor('a first computation', async () => traffic!.get('dask').tally.current.ok > 0, 60_000, 200);

    traffic.phase('worker killed');
    const victim = `dask-worker-${name}-1`;
    const pid = pythonProcess(name, 'worker', victim);
    assert.ok(pid, 'the worker process is found');
    process.kill(pid, 'SIGKILL');
    const replacedAt = Date.now();
    await waitFor('a replacement worker', async () => {
      const row = await p.hub!.hub.store.getCluster(name);
      const ws = (row!.state as { workers: Array<{ name: string; connected: string | null }> }).workers;
      return ws.length === 2 && ws.every((w) => w.connected) && !ws.some((w) => w.name === victim);
    }, 90_000, 200);
    t.diagnostic(`worker replaced ${Date.now() - replacedAt} ms after the kill`);
    assert.equal((await model(p, alice, name)).status, 'RUNNING');
    traffic.phase('worker replaced');
    const okBefore = traffic.get('dask').tally.current.ok;
    await waitFor('a computation on the healed cluster', async () => traffic!.get('dask').tally.current.ok > okBefore, 60_000, 200);

    traffic.phase('scheduler killed');
    process.kill(pythonProcess(name, 'scheduler')!, 'SIGKILL');
    const failed = await waitFor('the cluster to fail', async () => {
      const c = (await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json();
      return c.status === 'FAILED' ? c : null;
    }, 30_000, 200);
    assert.equal(typeof failed.stop_time, 'number');
    assert.match((await model(p, alice, name)).failure, /^The scheduler exited with code \d+/);
    await waitFor('its processes gone', async () => daskProcesses(name).length === 0, 10_000, 200);
    await sleep(3000);
    await traffic.stop();
    const report = traffic.report();
    traffic = undefined;
    t.diagnostic(JSON.stringify(report));

    const d = report.dask!;
    for (const [w, o] of Object.entries(d)) assert.equal(o.hung, 0, `dask ${w}: no computation hangs: ${JSON.stringify(o)}`);
    assert.equal(failedCount(d.before!), 0, JSON.stringify(d.before));
    assert.equal(failedCount(d['worker killed']!), 0, `a worker's death costs no computation: ${JSON.stringify(d['worker killed'])}`);
    assert.ok(d['worker replaced']!.ok > 0, JSON.stringify(d['worker replaced']));
    assert.equal(failedCount(d['worker replaced']!), 0, JSON.stringify(d['worker replaced']));
    assert.ok(failedCount(d['scheduler killed']!) > 0, 'computations against a failed cluster fail (with an error)');
    for (const [w, o] of Object.entries(report['other user']!)) assert.equal(failedCount(o) + o.hung, 0, `other user, ${w}: ${JSON.stringify(o)}`);

    // The other cluster is untouched and still reachable.
    assert.equal((await model(p, alice, other)).status, 'RUNNING');
    assert.equal((await http('GET', `${p.base}/clusters/${other}/json/counts.json`, { headers: { authorization: `token ${alice}` } })).status, 200);
    assert.ok(pythonProcess(other, 'scheduler'), 'its scheduler runs');
    const store = await openStore(p);
    try {
      assert.deepEqual(await routeDrift(p, store), []);
    } finally {
      await store.close();
    }
  });
});
