import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '../helpers/platform.js';
import { http } from '../helpers/http.js';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ProxyClient } from '../../src/proxy/index.js';
import { closeWithClusters, connection, daskClient, daskProcesses, daskSession, freePort, gw, model, pythonProcess, stopAllClusters, waitFor, waitRunning, waitWorkers } from './helpers.js';

/** Misbehaving parts, for real: dying workers and schedulers, workers that never start, a hub restart. */
describe('cluster faults (local executor)', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
  });
  after(async () => {
    await closeWithClusters(p);
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
    await closeWithClusters(p);
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

describe('time limits', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 6, maxLifetime: 20 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('an idle cluster stops after idleTimeout; a busy one at maxLifetime, each with its reason', async () => {
    // The busy cluster first, with its worker at once: its work must arrive within the idle timeout.
    const busy = (await http('POST', `${p.base}/hub/api/clusters`, { headers: { authorization: `token ${alice}` }, body: { workers: 1 } })).json().name;
    const b = await waitRunning(p, alice, busy);
    // One long task keeps it from idling until its lifetime ends (the client then loses its
    // scheduler, which is expected).
    const client = daskClient({ ...connection(p, b), job: 'busy', tasks: 1, seconds: 40 }, 60_000).catch(() => null);
    await waitFor('the task to run', async () => (await http('GET', `${p.base}/hub/api/clusters/${busy}/dashboard`, { headers: { authorization: `token ${alice}` } })).json().tasks?.processing === 1, 30_000);
    const idle = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;

    const stoppedIdle = await waitFor('the idle cluster to stop', async () => {
      const m = await model(p, alice, idle);
      return m.status === 'STOPPED' ? m : null;
    }, 30_000);
    assert.equal(stoppedIdle.failure, 'Stopped after 6 seconds without work (clusters.idleTimeout).');
    assert.equal((await model(p, alice, busy)).status, 'RUNNING', 'work keeps a cluster from idling');

    const stoppedOld = await waitFor('the busy cluster to reach its lifetime', async () => {
      const m = await model(p, alice, busy);
      return m.status === 'STOPPED' ? m : null;
    }, 30_000);
    assert.equal(stoppedOld.failure, 'Stopped after its maximum lifetime of 20 seconds (clusters.maxLifetime).');
    assert.ok(Date.parse(stoppedOld.stopped) - Date.parse(stoppedOld.created) >= 20_000);
    await client;
    assert.deepEqual([...daskProcesses(idle), ...daskProcesses(busy)], []);
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
      try {
        await stopAllClusters(p, admin);
      } finally {
        await p.close();
      }
    }
  });

  test('re-attaches to running clusters: workers, Dask port, dashboard and scaling keep working', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    const c = await waitRunning(p, alice, name);
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2);

    // A client connected through the Dask port (the proxy's) with a result kept in the cluster.
    const session = daskSession({ ...connection(p, c, daskPort), job: 'session' });
    let survivors: number[] = [];
    const proxyApi = new ProxyClient(`http://127.0.0.1:${p.port + 1}`, readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim());
    try {
      assert.deepEqual(await session.next(), { phase: 'connected', result: 328350 });
      const before = await proxyApi.getDask();
      assert.ok(before.routes[name]!.connections >= 1);

      await p.killHub();
      survivors = daskProcesses(name, 'worker');
      assert.ok(survivors.length > 0, 'workers outlive the hub');
      // While the hub is down the proxy still routes: the same connections, none made anew.
      const during = await proxyApi.getDask();
      assert.equal(during.routes[name]!.connections, before.routes[name]!.connections);
      assert.equal(during.routed, before.routed);
      await p.startProcess();
      const afterRestart = await proxyApi.getDask();
      assert.deepEqual(afterRestart.routes[name], before.routes[name]);
      assert.equal(afterRestart.routed, before.routed);
      // The client never lost its connection: its kept result is still there (a reconnect would cancel it).
      session.send('go');
      assert.deepEqual(await session.next(), { kept: 'finished', kept_result: 328350, result: 332833500, workers: 2 });
    } finally {
      session.kill();
      proxyApi.close();
    }

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

describe('a Dask port in use', () => {
  test('the start fails, naming the cause, the port and the fix', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      await assert.rejects(Platform.start({ config: { hub: { ip: '127.0.0.1' }, clusters: { daskPort: port } } }), (err: Error) => {
        assert.match(err.message, new RegExp(`^The proxy did not start \\(listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}\\); see .*proxy\\.log\\. Is one of the ports .*${port} in use\\? Choose others with --port and --dask-port\\.$`));
        return true;
      });
    } finally {
      busy.close();
    }
  });
});
