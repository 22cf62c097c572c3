import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';

/**
 * SIGKILL the hub while a kernel WebSocket is open through the proxy: the WebSocket stays open and
 * keeps working, the new hub lists the server as running, and stopping it works.
 */
describe('hub restart', () => {
  let p: Platform;

  before(async () => {
    // A fixed hub port, as in production (8081): the new hub must find the proxy it left behind.
    const { freePort } = await import('../../src/http/ports.js');
    p = await Platform.start({ process: true, config: { hub: { hubPort: await freePort() } } });
  });
  after(async () => { await p?.close(); });

  test('a kernel WebSocket survives SIGKILL of the hub; the new hub re-attaches', async () => {
    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    const start = await p.api('POST', '/hub/api/users/alice/server', { token }, { cores: 1 });
    assert.ok([201, 202].includes(start.status), start.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', auth);
    assert.equal(events.at(-1).ready, true, JSON.stringify(events));

    const kernel = await startKernel(p.base, '/user/alice/', auth);
    const ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    let closed = false;
    ws.on('close', () => { closed = true; });
    try {
      assert.equal(await execute(ws, 'x = 6\nprint(x*7)'), '42\n');

      await p.killHub();
      assert.equal(await execute(ws, 'print(x+1)'), '7\n', 'the kernel answers while the hub is dead');

      await p.startProcess();
      assert.equal(closed, false, 'the WebSocket stayed open across the restart');
      assert.equal(await execute(ws, 'print(x*100)'), '600\n');

      const model = (await p.api('GET', '/hub/api/users/alice', { token })).json();
      assert.equal(model.servers[''].ready, true, JSON.stringify(model));
      assert.equal((await p.api('GET', '/user/alice/api/status', { token })).status, 200);
    } finally {
      ws.close();
    }
    const stop = await p.api('DELETE', '/hub/api/users/alice/server', { token });
    assert.equal(stop.status, 204);
    assert.deepEqual((await p.api('GET', '/hub/api/users/alice', { token })).json().servers, {});
    assert.equal((await p.api('GET', '/user/alice/api/status', { token })).status, 424);
  });
});
