import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { readProgress } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { pidAlive as alive } from '../helpers/processes.js';

/** `POST /hub/api/shutdown` against a real `highrate up` process, as JupyterHub's admin "Shut down" does. */
describe('POST /hub/api/shutdown ends `highrate up`', () => {
  let p: Platform;

  before(async () => {
    p = await Platform.start({ process: true, users: [{ name: 'alice' }], config: { profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }] } });
  });
  after(async () => { await p?.close(); });

  test('with {servers, proxy}: 202, servers stopped, the proxy stopped, the process exits 0', async () => {
    const alice = await p.token('alice');
    const start = await p.api('POST', '/hub/api/users/alice/server', { token: alice }, {});
    assert.ok([201, 202].includes(start.status), start.text);
    assert.equal((await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${alice}` })).at(-1).ready, true);
    const proxyPid = p.proxyPid();
    assert.ok(alive(proxyPid));
    assert.equal((await p.api('POST', '/hub/api/shutdown', { token: alice }, {})).status, 403, 'a user holds no shutdown scope');

    const r = await p.api('POST', '/hub/api/shutdown', { token: await p.token('admin') }, { servers: true, proxy: true });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json(), { message: 'Shutting down Hub' });
    const child = p.child!;
    const code = child.exitCode ?? await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, p.output);
    const deadline = Date.now() + 10_000;
    while (alive(proxyPid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(alive(proxyPid), false, 'the proxy was stopped');
    const store = await p.openStore();
    try {
      const row = await store.getServer('alice', '');
      assert.equal(row?.state, 'stopped');
      assert.equal(row?.failure, 'The hub was shut down with its servers.');
    } finally {
      await store.close();
    }
  });
});
