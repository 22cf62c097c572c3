import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '../helpers/http.js';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { Platform } from '../helpers/platform.js';

const TINY = tinyServerCommand();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Idle servers are stopped; traffic through the proxy keeps a server alive; max age stops it anyway. */
describe('idle culling', () => {
  let p: Platform;
  let admin: string;

  before(async () => {
    p = await Platform.start({
      config: {
        culler: { idleTimeout: 3, maxAge: 0, every: 1 },
        profiles: [{ name: 'tiny', default: true, command: TINY }, { name: 'short', command: TINY }],
      },
    });
    admin = await p.token('admin');
    await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['idle', 'busy'] });
  });
  after(async () => { await p?.close(); });

  test('a server without traffic is stopped after the idle timeout; one with traffic is not', async () => {
    for (const u of ['idle', 'busy']) {
      const r = await p.api('POST', `/hub/api/users/${u}/server`, { token: admin }, {});
      assert.equal(r.status, 201, r.text);
    }
    const busyToken = await p.token('busy');
    for (let i = 0; i < 12; i++) {
      const r = await http('GET', `${p.base}/user/busy/ping`, { headers: { authorization: `token ${busyToken}` } });
      assert.equal(r.status, 200);
      await sleep(500);
    }
    const idle = (await p.api('GET', '/hub/api/users/idle?include_stopped_servers', { token: admin })).json();
    assert.equal(idle.servers[''].ready, false);
    assert.match(idle.servers[''].failure, /without activity \(idle timeout 3 s\)/);
    const busy = (await p.api('GET', '/hub/api/users/busy', { token: admin })).json();
    assert.equal(busy.servers[''].ready, true, 'proxied traffic counts as activity');
    assert.ok(busy.servers[''].last_activity > busy.servers[''].started, 'activity from the proxy reached the store');
  });
});

describe('maximum age', () => {
  let p: Platform;

  before(async () => {
    p = await Platform.start({ config: { culler: { idleTimeout: 0, maxAge: 2, every: 1 }, profiles: [{ name: 'tiny', command: TINY }] } });
  });
  after(async () => { await p?.close(); });

  test('a server older than maxAge is stopped even with traffic', async () => {
    const admin = await p.token('admin');
    await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['old'] });
    assert.equal((await p.api('POST', '/hub/api/users/old/server', { token: admin }, {})).status, 201);
    const tok = await p.token('old');
    for (let i = 0; i < 10; i++) {
      await http('GET', `${p.base}/user/old/x`, { headers: { authorization: `token ${tok}` } });
      await sleep(500);
    }
    const m = (await p.api('GET', '/hub/api/users/old?include_stopped_servers', { token: admin })).json();
    assert.equal(m.servers[''].ready, false);
    assert.match(m.servers[''].failure, /maximum age 2 s/);
  });
});
