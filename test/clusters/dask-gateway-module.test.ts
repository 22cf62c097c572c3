import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters, daskProcesses, gw, model } from './helpers.js';

/**
 * highrate's `dask_gateway` module (src/clusters/python/dask_gateway) where the real package is
 * absent: a notebook written for dask-gateway runs unchanged from a real kernel of a real
 * notebook server, with nothing but the server's environment (DASK_GATEWAY__*, its token).
 */
describe('dask_gateway module in a notebook', () => {
  let p: Platform;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('Gateway() → new_cluster, scale(2), get_client, compute, dashboard links through the proxy, adapt, shutdown', async () => {
    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    await p.startServer('alice', token);

    const kernel = await startKernel(p.base, '/user/alice/', auth);
    const ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    try {
      const code = [
        'import json, dask_gateway',
        'from dask_gateway import Gateway, GatewayCluster',
        'gateway = Gateway()',
        'opts = gateway.cluster_options()',
        'opts.worker_cores = 1',
        'try:',
        '    gateway.new_cluster(worker_cores=10**6)',
        '    refused = None',
        'except ValueError as e:',
        '    refused = str(e)',
        'cluster = gateway.new_cluster(opts)',
        'cluster.scale(2)',
        'client = cluster.get_client()',
        'client.wait_for_workers(2, timeout=90)',
        'import highrate_dask as hd',
        'plain = hd.connect(cluster.name)',
        'out = {',
        '  "module": dask_gateway.__file__, "name": cluster.name, "repr": repr(cluster), "html": cluster._repr_html_(),',
        '  "options": sorted(opts), "refused": refused, "auth": type(gateway.auth).__name__,',
        '  "scheduler_address": cluster.scheduler_address, "proxy": gateway.proxy_address,',
        '  "sum": client.submit(sum, range(10)).result(), "workers": len(client.scheduler_info()["workers"]),',
        '  "squares": client.gather(client.map(lambda x: x * x, range(5))),',
        '  "cluster_link": cluster.dashboard_link, "client_link": client.dashboard_link, "plain_link": plain.dashboard_link,',
        '  "listed": [(c.name, c.status.name) for c in gateway.list_clusters()],',
        '  "cookies": sorted(c.name for c in gateway._cookies),',
        '}',
        'plain.close()',
        'cluster.adapt(minimum=1, maximum=2)',
        'print(json.dumps(out))',
      ].join('\n');
      const out = JSON.parse((await execute(ws, code, 150_000)).trim());
      const name = out.name as string;
      assert.deepEqual((await model(p, token, name)).adaptive, { minimum: 1, maximum: 2 });
      const rest = [
        'out = {}',
        'cluster.shutdown()',
        'out["after"] = gateway.get_cluster(cluster.name).status.name',
        'out["listed_after"] = [c.name for c in gateway.list_clusters()]',
        'out["closed_repr"] = repr(cluster)',
        'print(json.dumps(out))',
      ].join('\n');
      Object.assign(out, JSON.parse((await execute(ws, rest, 60_000)).trim()));
      // highrate's module (the pod mounts src/clusters/python there), not a real dask-gateway.
      assert.match(out.module, /^\/opt\/highrate\/python\/\d+\/dask_gateway\/__init__\.py$/);
      assert.deepEqual(out.options, ['max_workers', 'worker_cores', 'worker_executor', 'worker_memory']);
      assert.match(out.refused, /worker_cores/);
      assert.equal(out.auth, 'JupyterHubAuth');
      assert.equal(out.repr, `GatewayCluster<${name}, status=running>`);
      const proxy = `gateway://${p.hub!.clusters!.service.proxyAddress}`;
      assert.equal(out.proxy, proxy);
      assert.equal(out.scheduler_address, `${proxy}/${name}`);
      assert.equal(out.sum, 45);
      assert.equal(out.workers, 2);
      assert.deepEqual(out.squares, [0, 1, 4, 9, 16]);
      const link = `${p.base}/clusters/${name}/status`;
      assert.equal(out.cluster_link, link);
      assert.equal(out.client_link, link);
      assert.equal(out.plain_link, link);
      assert.ok(out.html.includes(`<a href='${link}' target='_blank'>`), out.html);
      assert.deepEqual(out.listed, [[name, 'RUNNING']]);
      // As dask-gateway's client: after the first 401 → `jupyterhub <token>` retry, the gateway's cookie.
      assert.deepEqual(out.cookies, ['dask-gateway-highrate']);
      assert.equal(out.after, 'STOPPED');
      assert.deepEqual(out.listed_after, []);
      assert.equal(out.closed_repr, `GatewayCluster<${name}, status=closed>`);

      // Gone from the API as from the host.
      const api = await gw(p, 'GET', `/api/v1/clusters/${name}`, token);
      assert.equal(api.json().status, 'STOPPED');
      assert.deepEqual((await gw(p, 'GET', '/api/v1/clusters/', token)).json(), {});
      assert.deepEqual(daskProcesses(name), []);
    } finally {
      ws.close();
    }
    assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', { token })).status, 204);
  });
});
