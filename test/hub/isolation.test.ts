import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CookieJar } from '../helpers/http.js';
import { http, serverLogin } from '../helpers/http.js';
import { execute, openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';

/**
 * User B never reaches user A's server (HTTP or WebSocket) or A's API resources, whichever way the
 * server authenticates: jupyterhub-singleuser checking with the hub itself (the browser first goes
 * through the server's OAuth login), or the plain notebook behind the proxy's token swap.
 */
for (const auth of ['jupyterhub', 'token'] as const) describe(`isolation between users (auth: ${auth})`, () => {
  let p: Platform;
  let alice: CookieJar;
  let bob: CookieJar;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    p = await Platform.start({ users: [{ name: 'alice' }, { name: 'bob' }], config: { profiles: [{ name: 'default', default: true, auth }] } });
    alice = await p.login('alice');
    bob = await p.login('bob');
    aliceToken = await p.token('alice');
    bobToken = await p.token('bob');
    const start = await p.api('POST', '/hub/api/users/alice/server', { jar: alice }, { cores: 1 });
    assert.ok([201, 202].includes(start.status), start.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { cookie: alice.header() });
    assert.equal(events.at(-1).ready, true, JSON.stringify(events));
    if (auth === 'jupyterhub') assert.equal((await serverLogin(p.base, alice, '/user/alice/')).status, 200);
  });
  after(async () => { await p?.close(); });

  test('the owner reaches her server with her session cookie and with her token', async () => {
    const byCookie = await http('GET', `${p.base}/user/alice/api/status`, { headers: { cookie: alice.header() } });
    assert.equal(byCookie.status, 200);
    const byToken = await http('GET', `${p.base}/user/alice/api/status`, { headers: { authorization: `token ${aliceToken}` } });
    assert.equal(byToken.status, 200);
  });

  test("another user's session and token get 403 on A's server over HTTP", async () => {
    const byCookie = await http('GET', `${p.base}/user/alice/api/status`, { headers: { cookie: bob.header() } });
    assert.equal(byCookie.status, 403);
    const byToken = await http('GET', `${p.base}/user/alice/api/status`, { headers: { authorization: `token ${bobToken}` } });
    assert.equal(byToken.status, 403);
    const browser = await http('GET', `${p.base}/user/alice/tree`, { headers: { cookie: bob.header(), accept: 'text/html' } });
    assert.equal(browser.status, 403);
  });

  test('without credentials, browsers are sent to log in and API clients get 403', async () => {
    const browser = await http('GET', `${p.base}/user/alice/tree?x=1`, { headers: { accept: 'text/html' } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, '/hub/login?next=%2Fuser%2Falice%2Ftree%3Fx%3D1');
    const api = await http('GET', `${p.base}/user/alice/api/status`);
    assert.equal(api.status, 403);
  });

  test("another user's WebSocket to A's kernel is refused with 403; the owner's works", async () => {
    const kernel = await startKernel(p.base, '/user/alice/', { authorization: `token ${aliceToken}` });
    await assert.rejects(openChannels(p.base, '/user/alice/', kernel, { cookie: bob.header() }), (e: any) => e.status === 403);
    await assert.rejects(openChannels(p.base, '/user/alice/', kernel, { authorization: `token ${bobToken}` }), (e: any) => e.status === 403);
    const ws = await openChannels(p.base, '/user/alice/', kernel, { cookie: alice.header(), origin: p.base });
    try {
      assert.equal(await execute(ws, 'print(6*7)'), '42\n');
    } finally {
      ws.close();
    }
  });

  test("another user cannot read, start, stop or mint tokens for A through the API", async () => {
    for (const auth of [{ jar: bob }, { token: bobToken }]) {
      assert.equal((await p.api('GET', '/hub/api/users/alice', auth)).status, 403);
      assert.equal((await p.api('POST', '/hub/api/users/alice/servers/x', auth, {})).status, 403);
      assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', auth)).status, 403);
      assert.equal((await p.api('GET', '/hub/api/users/alice/tokens', auth)).status, 403);
      assert.equal((await p.api('POST', '/hub/api/users/alice/tokens', auth, {})).status, 403);
      assert.equal((await p.api('GET', '/hub/api/users/alice/server/progress', auth)).status, 403);
      assert.equal((await p.api('GET', '/hub/api/users', auth)).status, 403);
    }
    const model = (await p.api('GET', '/hub/api/users/alice', { jar: alice })).json();
    assert.equal(model.servers[''].ready, true, 'still running after all that');
  });

  test('a revoked token stops reaching the server at once, though the proxy had cached it', async () => {
    const created = (await p.api('POST', '/hub/api/users/alice/tokens', { jar: alice }, { note: 'short-lived' })).json();
    const viaProxy = () => http('GET', `${p.base}/user/alice/api/status`, { headers: { authorization: `token ${created.token}` } });
    assert.equal((await viaProxy()).status, 200);
    assert.equal((await viaProxy()).status, 200, 'now answered from the edge cache');
    assert.equal((await p.api('DELETE', `/hub/api/users/alice/tokens/${created.id}`, { jar: alice })).status, 204);
    assert.equal((await viaProxy()).status, 403);
  });

  test('a token without the servers scope cannot start servers', async () => {
    const readOnly = await p.token('bob', ['read:users!user=bob']);
    const r = await p.api('POST', '/hub/api/users/bob/server', { token: readOnly }, {});
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'MISSING_SCOPE');
  });

  test('cookie-authenticated state changes need the XSRF token', async () => {
    const noXsrf = await http('POST', `${p.base}/hub/api/users/alice/tokens`, { headers: { cookie: alice.header() }, body: {} });
    assert.equal(noXsrf.status, 403);
    assert.equal(noXsrf.json().code, 'CSRF_FAILED');
    const wrong = await http('POST', `${p.base}/hub/api/users/alice/tokens`, { headers: { cookie: alice.header(), 'x-xsrftoken': 'nope' }, body: {} });
    assert.equal(wrong.status, 403);
    const ok = await p.api('POST', '/hub/api/users/alice/tokens', { jar: alice }, { note: 'from the portal' });
    assert.equal(ok.status, 201);
  });

  test('session cookies are HttpOnly and SameSite; the XSRF cookie is readable; tokens are stored only hashed', async () => {
    const session = alice.lines.get('highrate-session')!;
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Lax/);
    assert.match(session, /; Path=\//);
    const xsrf = alice.lines.get('_xsrf')!;
    assert.doesNotMatch(xsrf, /HttpOnly/);
    assert.match(xsrf, /SameSite=Strict/);
    const store = await p.openStore();
    try {
      const tokens = await store.listTokens('alice');
      assert.ok(tokens.length > 0);
      for (const t of tokens) assert.notEqual(t.hash, aliceToken);
      assert.equal(await store.getTokenByHash(aliceToken), null);
    } finally {
      await store.close();
    }
  });
});
