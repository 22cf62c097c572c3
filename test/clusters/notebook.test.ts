import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters, daskProcesses } from './helpers.js';

/**
 * From a notebook server on the platform, with nothing but its environment: a kernel creates a
 * cluster through the dask-gateway API with the server's own token, connects a distributed.Client
 * through the Dask port, computes, and stops the cluster. The server's token holds JupyterHub's
 * server role and its owner's cluster scopes, and is revoked when the server stops.
 */
describe('Dask from a notebook server', () => {
  let p: Platform;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('a kernel creates, uses and stops a cluster; the server token goes with the server', async () => {
    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    await p.startServer('alice', token);

    const tokens = (await http('GET', `${p.base}/hub/api/users/alice/tokens`, { headers: auth })).json().api_tokens;
    // The server's own token (JupyterHub's server role) carries the cluster and data scopes too.
    const serverToken = tokens.find((t: any) => t.note === 'Server at /user/alice/ (revoked when it stops)');
    assert.ok(serverToken, JSON.stringify(tokens));
    assert.deepEqual([...serverToken.scopes].sort(), ['access:clusters!user', 'access:servers!server=alice/', 'clusters!user', 'read:data!user', 'read:users:name!user', 'users:activity!user=alice', 'write:data!user']);

    const kernel = await startKernel(p.base, '/user/alice/', auth);
    const ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    try {
      const env = await execute(ws, 'import os\nprint(os.environ["DASK_GATEWAY__ADDRESS"], os.environ["DASK_GATEWAY__PROXY_ADDRESS"], os.environ["DASK_GATEWAY__AUTH__TYPE"], "JUPYTERHUB_API_TOKEN" in os.environ)');
      assert.equal(env, `${p.base}/services/dask-gateway gateway://${p.hub!.clusters!.service.proxyAddress} jupyterhub True\n`);
      // The data helper is on the kernel's path too (src/data/notebook-env.ts).
      assert.equal(await execute(ws, 'import highrate_data\nprint(callable(highrate_data.files), callable(highrate_data.download))'), 'True True\n');
      const code = [
        'import highrate_dask as hd',
        'name = hd.new_cluster(workers=2)',
        'client = hd.connect(name)',
        'client.wait_for_workers(2, timeout=60)',
        'print(client.submit(sum, range(10)).result(), len(client.scheduler_info()["workers"]))',
        'client.close()',
        'hd.stop(name)',
        'print(name, hd.get_cluster(name)["status"])',
      ].join('\n');
      const out = (await execute(ws, code, 120_000)).trim().split('\n');
      assert.equal(out[0], '45 2');
      const [name, status] = out[1]!.split(' ');
      assert.equal(status, 'STOPPED');
      assert.deepEqual(daskProcesses(name), []);
    } finally {
      ws.close();
    }

    assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', { token })).status, 204);
    const after = (await http('GET', `${p.base}/hub/api/users/alice/tokens`, { headers: auth })).json().api_tokens;
    assert.equal(after.find((t: any) => t.id === serverToken.id), undefined, 'the server token is revoked at stop');
  });
});
