import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { Platform } from '../helpers/platform.js';
import { http } from '../helpers/http.js';
import { stateOf } from '../../src/clusters/state.js';
import { closeWithClusters, connection, daskClient, gw, waitRunning, waitWorkers } from './helpers.js';

/**
 * Another user cannot list, scale, stop, connect to or view the dashboard of a cluster: the API
 * refuses, the scheduler refuses TLS without the cluster's own pair, the proxy refuses the
 * dashboard, and the scheduler's HTTP port refuses anything without the cluster's token.
 */
describe('cluster isolation between users', () => {
  let p: Platform;
  let alice: string;
  let bob: string;
  let admin: string;
  let mine: any;
  let theirs: any;

  before(async () => {
    p = await Platform.start({
      // bob's quota: one cluster, 3 cores and 5G across servers and clusters (a scheduler is 1 core and 2G, a worker 1 core and 1G).
      config: { clusters: { daskPort: 0, idleTimeout: 0 }, quotas: { users: { bob: { maxClusters: 1, maxCores: 3, maxMemory: '5G' } } } },
      users: [{ name: 'alice' }, { name: 'bob' }],
    });
    alice = await p.token('alice');
    bob = await p.token('bob');
    admin = await p.token('admin');
    const a = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    const b = (await gw(p, 'POST', '/api/v1/clusters/', bob, { cluster_options: {} })).json().name;
    [mine, theirs] = await Promise.all([waitRunning(p, alice, a), waitRunning(p, bob, b)]);
    await gw(p, 'POST', `/api/v1/clusters/${a}/scale`, alice, { count: 1 });
    await waitWorkers(p, alice, a, 1);
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('the API shows and changes nothing of another user\'s cluster', async () => {
    const name = mine.name;
    assert.deepEqual(Object.keys((await gw(p, 'GET', '/api/v1/clusters/', bob)).json()), [theirs.name]);
    const get = await gw(p, 'GET', `/api/v1/clusters/${name}`, bob);
    assert.equal(get.status, 403);
    assert.equal(get.json().error, `User bob lacks permissions to view cluster ${name}`);
    for (const [path, body, verb] of [['scale', { count: 3 }, 'scale'], ['adapt', { minimum: 0, maximum: 3 }, 'adapt']] as const) {
      const r = await gw(p, 'POST', `/api/v1/clusters/${name}/${path}`, bob, body);
      assert.equal(r.status, 403, path);
      assert.equal(r.json().error, `User bob lacks permissions to ${verb} cluster ${name}`);
    }
    const del = await gw(p, 'DELETE', `/api/v1/clusters/${name}`, bob);
    assert.equal(del.status, 403);
    // highrate's own API does not even confirm it exists.
    const own = await http('GET', `${p.base}/hub/api/clusters/${name}`, { headers: { authorization: `token ${bob}` } });
    assert.equal(own.status, 404);
    assert.equal(own.json().code, 'CLUSTER_NOT_FOUND');
    const dash = await http('GET', `${p.base}/hub/api/clusters/${name}/dashboard`, { headers: { authorization: `token ${bob}` } });
    assert.equal(dash.status, 404);
    // Still running, still one worker.
    const still = (await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json();
    assert.equal(still.status, 'RUNNING');
    const m = (await http('GET', `${p.base}/hub/api/clusters/${name}`, { headers: { authorization: `token ${alice}` } })).json();
    assert.equal(m.workers.requested, 1);
  });

  test('an admin sees and may scale it', async () => {
    const r = await gw(p, 'GET', `/api/v1/clusters/${mine.name}`, admin);
    assert.equal(r.status, 200);
    assert.equal(r.json().status, 'RUNNING');
    const s = await gw(p, 'POST', `/api/v1/clusters/${mine.name}/scale`, admin, { count: 1 });
    assert.deepEqual(s.json(), { ok: true, msg: null });
  });

  test('TLS to the scheduler is refused without the cluster\'s own credentials', async () => {
    // With bob's (valid, but other) cluster pair, naming alice's cluster.
    const wrongPair = await daskClient({ ...connection(p, { ...theirs, name: mine.name }), job: 'refused', timeout: 5 });
    assert.equal(wrongPair.refused, true, JSON.stringify(wrongPair));
    // With alice's pair it works (the control).
    assert.deepEqual(await daskClient({ ...connection(p, mine), job: 'workers' }), { workers: 1 });
    // Without any client certificate: the scheduler ends the handshake.
    const port = Number(p.hub!.clusters!.service.proxyAddress.split(':').pop());
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: `daskgateway-${mine.name}`, ca: mine.tls_cert, checkServerIdentity: () => undefined });
      s.on('secureConnect', () => s.write('x'));
      s.on('data', () => resolve('data'));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
      s.on('close', () => resolve('closed'));
    });
    assert.match(outcome, /^(error|closed)/);
    assert.notEqual(outcome, 'data');
    // An unknown cluster name is closed by the Dask port itself.
    const unknown = await daskClient({ ...connection(p, { ...mine, name: '0'.repeat(32) }), job: 'refused', timeout: 5 });
    assert.equal(unknown.refused, true);
  });

  test('the dashboard is the owner\'s: through the proxy, and on the scheduler\'s own port', async () => {
    const url = `${p.base}/clusters/${mine.name}/json/counts.json`;
    const owner = await http('GET', url, { headers: { authorization: `token ${alice}` } });
    assert.equal(owner.status, 200, owner.text);
    assert.equal(owner.json().workers, 1);
    assert.equal((await http('GET', url, { headers: { authorization: `token ${bob}` } })).status, 403);
    assert.equal((await http('GET', url)).status, 403);
    const browser = await http('GET', `${p.base}/clusters/${mine.name}/status`, { headers: { accept: 'text/html' } });
    assert.equal(browser.status, 302);
    assert.match(String(browser.headers.location), /^\/hub\/login\?next=/);
    // The scheduler's HTTP port itself answers only to the cluster's token.
    const row = await p.hub!.hub.store.getCluster(mine.name);
    const direct = `http://127.0.0.1:${stateOf(row!).scheduler!.ports.dashboard}/clusters/${mine.name}/api/v1/retire_workers`;
    const refused = await http('POST', direct, { body: { n: 1 } });
    assert.equal(refused.status, 403);
    assert.equal((await http('POST', direct, { body: { n: 1 }, headers: { authorization: `token ${alice}` } })).status, 403);
    // A worker's own HTTP port has no guard, so it serves only /health: no metrics for anyone on the host.
    const workers = Object.values(p.hub!.clusters!.service.live(mine.name)!.identity!.workers ?? {}) as unknown as Array<{ host: string; services: { dashboard: number } }>;
    assert.equal(workers.length, 1);
    const workerHttp = `http://${workers[0]!.host}:${workers[0]!.services.dashboard}`;
    assert.equal((await http('GET', `${workerHttp}/health`)).text, 'ok');
    for (const path of ['/metrics', '/statics/', '/info/main/workers.html']) assert.equal((await http('GET', `${workerHttp}${path}`)).status, 404, path);
    // highrate's dashboard data, for the owner.
    const data = await http('GET', `${p.base}/hub/api/clusters/${mine.name}/dashboard`, { headers: { authorization: `token ${alice}` } });
    assert.equal(data.status, 200);
    assert.equal(data.json().workers.length, 1);
    assert.equal(data.json().totals.threads, 1);
    assert.equal(data.json().bokeh, false);
  });

  test('quotas: clusters, cores and memory are refused on create, scale and adapt, naming the limit', async () => {
    const second = await gw(p, 'POST', '/api/v1/clusters/', bob, { cluster_options: {} });
    assert.equal(second.status, 403);
    assert.equal(second.json().code, 'QUOTA_EXCEEDED');
    assert.match(second.json().error, /maxClusters/);
    const name = theirs.name;
    assert.deepEqual((await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, bob, { count: 2 })).json(), { ok: true, msg: null });
    const tooMany = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, bob, { count: 3 });
    assert.equal(tooMany.status, 403);
    assert.match(tooMany.json().error, /maxCores/);
    const adapt = await gw(p, 'POST', `/api/v1/clusters/${name}/adapt`, bob, { minimum: 0, maximum: 4 });
    assert.equal(adapt.status, 403);
    assert.match(adapt.json().error, /maxCores/);
    // Going down is never refused; the refused requests changed nothing.
    const m = (await http('GET', `${p.base}/hub/api/clusters/${name}`, { headers: { authorization: `token ${bob}` } })).json();
    assert.equal(m.workers.requested, 2);
    assert.equal(m.adaptive, null);
    assert.deepEqual((await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, bob, { count: 0 })).json(), { ok: true, msg: null });
  });
});
