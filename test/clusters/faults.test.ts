import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '../helpers/platform.js';
import { http } from '../helpers/http.js';
import { connection, daskClient, daskProcesses, freePort, gw, model, pythonProcess, stopAllClusters, waitFor, waitRunning, waitWorkers } from './helpers.js';

/** Misbehaving parts, for real: dying workers and schedulers, workers that never start, a hub restart. */
describe('cluster faults (local executor)', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
  });
  after(async () => {
    if (p) {
      await stopAllClusters(p);
      await p.close();
    }
  });

  test('a killed worker is replaced', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2);
    const victim = `dask-worker-${name}-1`;
    const pid = pythonProcess(name, 'worker', victim);
    assert.ok(pid, 'the worker process is found');
    process.kill(pid, 'SIGKILL');
    const healed = await waitFor('a replacement worker', async () => {
      const row = await p.hub!.hub.store.getCluster(name);
      const names = (row!.state as { workers: Array<{ name: string; connected: string | null }> }).workers;
      return names.length === 2 && names.every((w) => w.connected) && !names.some((w) => w.name === victim) ? names.map((w) => w.name) : null;
    });
    assert.deepEqual(healed.sort(), [`dask-worker-${name}-2`, `dask-worker-${name}-3`]);
    await waitWorkers(p, alice, name, 2);
    assert.equal((await model(p, alice, name)).status, 'RUNNING');
    await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice);
  });

  test('a killed scheduler fails the cluster and its workers are cleaned up', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2);
    process.kill(pythonProcess(name, 'scheduler')!, 'SIGKILL');
    const failed = await waitFor('the cluster to fail', async () => {
      const c = (await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json();
      return c.status === 'FAILED' ? c : null;
    }, 30_000);
    assert.equal(typeof failed.stop_time, 'number');
    assert.equal(failed.tls_key, null);
    const m = await model(p, alice, name);
    assert.match(m.failure, /^The scheduler exited with code \d+/);
    assert.deepEqual(daskProcesses(name), []);
    // Its dashboard route is gone: the hub answers that it is not running.
    const dash = await http('GET', `${p.base}/clusters/${name}/json/counts.json`, { headers: { authorization: `token ${alice}` } });
    assert.equal(dash.status, 409);
    assert.equal(dash.json().code, 'CLUSTER_NOT_RUNNING');
    // And it no longer counts among the active ones.
    assert.deepEqual((await gw(p, 'GET', '/api/v1/clusters/', alice)).json(), {});
  });
});

describe('workers that never start', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    // A worker preload that does not exist: every worker exits at start; the scheduler is fine.
    p = await Platform.start({
      config: { clusters: { daskPort: 0, idleTimeout: 0, workerStartFailureLimit: 3, env: { DASK_DISTRIBUTED__WORKER__PRELOAD: '["/nonexistent/highrate-test-preload.py"]' } } },
      users: [{ name: 'alice' }],
    });
    alice = await p.token('alice');
  });
  after(async () => {
    if (p) {
      await stopAllClusters(p);
      await p.close();
    }
  });

  test('fail the cluster after N starts in a row, with the reason', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    const failed = await waitFor('the cluster to fail', async () => {
      const m = await model(p, alice, name);
      return m.status === 'FAILED' ? m : null;
    }, 90_000);
    assert.match(failed.failure, /^Workers failed to start 3 times in a row \(clusters\.workerStartFailureLimit\)\. The last failure: Worker dask-worker-[0-9a-f]{32}-\d+ exited with code 1 before connecting to the scheduler\./);
    assert.match(failed.failure, /Last lines of its log:\n[\s\S]*highrate-test-preload/);
    assert.deepEqual(daskProcesses(name), []);
  });
});

describe('hub restart', () => {
  let p: Platform;
  let alice: string;
  let admin: string;
  let daskPort: number;

  before(async () => {
    daskPort = await freePort();
    // A fixed hub port: the proxy outlives the hub and keeps asking the first hub's authorize URL.
    const hubPort = await freePort();
    p = await Platform.start({ process: true, config: { hub: { hubPort }, clusters: { daskPort, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
    admin = await p.token('admin');
  });
  after(async () => {
    if (p) {
      await stopAllClusters(p, admin);
      await p.close();
    }
  });

  test('re-attaches to running clusters: workers, Dask port, dashboard and scaling keep working', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    const c = await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2);

    await p.killHub();
    const survivors = daskProcesses(name, 'worker');
    assert.ok(survivors.length > 0, 'workers outlive the hub');
    await p.startProcess();

    assert.equal((await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json().status, 'RUNNING');
    await waitWorkers(p, alice, name, 2, 30_000);
    // Same workers, not new ones: nothing was restarted.
    assert.deepEqual(daskProcesses(name, 'worker').sort(), survivors.sort());
    assert.deepEqual(await daskClient({ ...connection(p, c, daskPort), job: 'sum' }), { result: 332833500, workers: 2 });
    const dash = await http('GET', `${p.base}/clusters/${name}/json/counts.json`, { headers: { authorization: `token ${alice}` } });
    assert.equal(dash.status, 200);
    assert.equal(dash.json().workers, 2);

    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 1 });
    await waitWorkers(p, alice, name, 1);
    assert.equal((await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice)).status, 204);
    await waitFor('no process of the cluster', async () => daskProcesses(name).length === 0, 15_000);
  });
});
