import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, Platform, ROOT } from '../helpers/platform.js';
import { http } from '../helpers/http.js';
import { readProgress } from '../helpers/kernel.js';
import { NOTEBOOK_TOKEN_SCOPES } from '../../src/clusters/notebook-env.js';
import { PYTHON_DIR } from '../../src/clusters/workload.js';
import { closeWithClusters, connection, daskClient, daskProcesses, gw, model, PYTHON, waitFor, waitRunning, waitWorkers } from './helpers.js';

/**
 * A cluster through the dask-gateway REST API with real Dask (Debian's distributed 2022.12):
 * create, wait, scale to 2, a real distributed.Client over TLS through the SNI port with the
 * credentials from the API, compute, stop, and no Dask process left.
 */
describe('Dask cluster lifecycle (local executor)', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('the API asks dask-gateway clients for their JupyterHub token', async () => {
    const r = await gw(p, 'GET', '/api/v1/options', null);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'jupyterhub');
    assert.equal(r.json().error, 'Authentication required');
    const bad = await gw(p, 'GET', '/api/v1/options', 'not-a-token');
    assert.equal(bad.status, 401);
    const ok = await gw(p, 'GET', '/api/v1/options', alice);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json().cluster_options.map((f: any) => f.field), ['worker_cores', 'worker_memory', 'worker_executor', 'max_workers']);
    assert.deepEqual(ok.json().cluster_options[0], { field: 'worker_cores', label: 'Worker cores', default: 1, spec: { type: 'int', min: 1, max: 4 } });
    // The cookie dask-gateway caches its authentication in works on its own afterwards.
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^dask-gateway-highrate=[0-9a-f]{32}$/);
    const again = await http('GET', `${p.base}/services/dask-gateway/api/v1/clusters/`, { headers: { cookie } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json(), {});
    assert.equal((await gw(p, 'GET', '/api/health', null)).json().status, 'pass');
  });

  test('invalid options are refused with 422 naming the field', async () => {
    const r = await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: { worker_cores: 99 } });
    assert.equal(r.status, 422);
    assert.equal(r.json().error, 'worker_cores must be between 1 and 4, got 99.');
    const u = await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: { gpus: 1 } });
    assert.equal(u.status, 422);
    assert.match(u.json().error, /^Unknown cluster option: "gpus"/);
  });

  test('create, scale to 2, compute through the SNI port, stop', async () => {
    const created = await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} });
    assert.equal(created.status, 201, created.text);
    const name: string = created.json().name;
    assert.match(name, /^[0-9a-f]{32}$/);

    // The start as the portal follows it: server-sent events ending with ready.
    const events = await readProgress(p.base, `/hub/api/clusters/${name}/progress`, { authorization: `token ${alice}` });
    assert.deepEqual(events.map((e) => e.message).slice(0, 3), ['Cluster requested', 'Submitting the scheduler to the local executor', 'Scheduler submitted; waiting for it to answer']);
    assert.deepEqual(events.at(-1), { progress: 100, ready: true, message: `Cluster ${name} is running`, url: `/hub/clusters/${name}` });
    const c = await waitRunning(p, alice, name);
    assert.equal(c.status, 'RUNNING');
    assert.deepEqual(Object.keys(c).sort(), ['dashboard_route', 'name', 'options', 'start_time', 'status', 'stop_time', 'tls_cert', 'tls_key']);
    assert.equal(c.dashboard_route, `/clusters/${name}/status`);
    assert.deepEqual(c.options, { worker_cores: 1, worker_memory: '1G', worker_executor: 'local', max_workers: 10 });
    assert.match(c.tls_cert, /^-----BEGIN CERTIFICATE-----/);
    assert.match(c.tls_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(typeof c.start_time, 'number');
    assert.equal(c.stop_time, null);

    const scaled = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    assert.equal(scaled.status, 200);
    assert.deepEqual(scaled.json(), { ok: true, msg: null });
    await waitWorkers(p, alice, name, 2);

    const result = await daskClient({ ...connection(p, c), job: 'sum' });
    assert.deepEqual(result, { result: 332833500, workers: 2 });

    const listed = await gw(p, 'GET', '/api/v1/clusters/?status=RUNNING,PENDING', alice);
    assert.deepEqual(Object.keys(listed.json()), [name]);
    assert.ok(daskProcesses(name).length >= 3, 'a scheduler and two workers run');

    const stopped = await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice);
    assert.equal(stopped.status, 204);
    const after = (await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json();
    assert.equal(after.status, 'STOPPED');
    assert.equal(typeof after.stop_time, 'number');
    assert.equal(after.tls_key, null);
    assert.deepEqual(daskProcesses(name), []);
    assert.deepEqual((await gw(p, 'GET', '/api/v1/clusters/', alice)).json(), {});
    const m = await model(p, alice, name);
    assert.equal(m.status, 'STOPPED');
  });

  test('scale is clamped to max_workers with dask-gateway\'s message', async () => {
    const created = await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: { max_workers: 1 } });
    const name = created.json().name;
    const r = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 3 });
    assert.deepEqual(r.json(), { ok: false, msg: 'Scale request of 3 workers would exceed resource limit of 1 workers. Scaling to 1 instead.' });
    const bad = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: -1 });
    assert.equal(bad.status, 422);
    assert.equal(bad.json().error, 'Scale expects a non-negative integer, got -1');
    await waitRunning(p, alice, name);
    await waitWorkers(p, alice, name, 1);
    assert.equal((await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice)).status, 204);
    await waitFor('no process of the cluster', async () => daskProcesses(name).length === 0, 15_000);
  });

  test('a notebook\'s environment and token are enough: highrate_dask creates, connects (tls:// and gateway://) and stops', async () => {
    // The token a notebook server gets: cluster scopes only.
    const token = await p.token('alice', NOTEBOOK_TOKEN_SCOPES);
    const proxy = p.hub!.clusters!.service.proxyAddress;
    const credentialDirs = () => readdirSync(tmpdir()).filter((d) => /^highrate-dask-[^.]/.test(d)).sort();
    const before = credentialDirs();
    const { stdout } = await promisify(execFile)(PYTHON, [join(ROOT, 'test', 'fixtures', 'notebook_dask.py')], {
      env: {
        PATH: process.env.PATH,
        PYTHONPATH: PYTHON_DIR,
        PYTHONDONTWRITEBYTECODE: '1',
        JUPYTERHUB_API_TOKEN: token,
        DASK_GATEWAY__ADDRESS: `${p.base}/services/dask-gateway`,
        DASK_GATEWAY__PROXY_ADDRESS: `gateway://${proxy}`,
        DASK_GATEWAY__AUTH__TYPE: 'jupyterhub',
      },
      timeout: 120_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(out.first, 6);
    assert.equal(out.second, 42);
    assert.deepEqual(out.listed, [out.name]);
    assert.equal(out.after, 'STOPPED');
    assert.deepEqual(daskProcesses(out.name), []);
    assert.deepEqual(credentialDirs(), before, 'the credentials written for the client are removed at exit');
    // That token reaches nothing else of alice's.
    const r = await http('GET', `${p.base}/hub/api/users/alice/tokens`, { headers: { authorization: `token ${token}` } });
    assert.equal(r.status, 403);
  });

  test('the CLI: create --workers --wait, list, scale, adapt, stop', async () => {
    const run = async (...args: string[]) => {
      const r = await promisify(execFile)(process.execPath, [CLI, 'cluster', ...args, '--url', p.base, '--token', alice], { timeout: 90_000 });
      return r.stdout.trim();
    };
    const name = (await run('create', '--workers', '1', '--worker-cores', '1', '--wait')).split('\n').pop()!;
    assert.match(name, /^[0-9a-f]{32}$/);
    await waitWorkers(p, alice, name, 1);
    const listed = await run('list');
    assert.match(listed, new RegExp(`^${name}  Running   alice  1 running, 0 starting \\(1 wanted\\)  1 core × 954 MiB on local$`));
    assert.equal(await run('scale', name, '2'), 'Scaling to 2 workers.');
    assert.equal(await run('adapt', name, '--min', '0', '--max', '2'), 'Adaptive between 0 and 2 workers.');
    assert.deepEqual((await model(p, alice, name)).adaptive, { minimum: 0, maximum: 2 });
    assert.equal(await run('adapt', name, '--off'), 'Adaptive scaling off.');
    assert.equal(JSON.parse(await run('show', name)).scheduler_address, `gateway://${p.hub!.clusters!.service.proxyAddress}/${name}`);
    assert.equal(await run('stop', name), `Stopped ${name}.`);
    assert.equal(await run('list'), 'No clusters.');
    assert.deepEqual(daskProcesses(name), []);
    await assert.rejects(run('scale', name, '1'), /highrate cluster: Cluster [0-9a-f]+ is stopped\. \(409 CLUSTER_NOT_RUNNING\)/);
  });
});
