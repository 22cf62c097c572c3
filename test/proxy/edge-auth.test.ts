/** Edge authentication on user routes, against a fake hub authorize endpoint (a real HTTP server). */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ProxyClient, startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { startBackend, startFakeHub, type Backend, type FakeHub } from './peers.js';
import { call, openWs, roundTrip } from './tools.js';

const PROXY_TOKEN = 'proxy-secret';
const CREDENTIALS = { 'alice-session': 'alice', 'alice-api-token': 'alice', 'bob-session': 'bob', 'carol-session': 'carol' };

describe('edge authentication', () => {
  let hub: FakeHub;
  let alice: Backend;
  let open: Backend;
  let proxy: RunningProxy;
  let base: string;

  before(async () => {
    hub = await startFakeHub(PROXY_TOKEN, CREDENTIALS, { alice: ['carol'] });
    alice = await startBackend('alice', { record: true });
    open = await startBackend('open', { record: true });
    proxy = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: PROXY_TOKEN, defaultTarget: hub.url, authorizeUrl: hub.authorizeUrl });
    proxy.routes.add('/user/alice', { target: alice.url, user: 'alice', server_name: '', upstream_token: 'alice-upstream' });
    proxy.routes.add('/user/alice/gpu', { target: alice.url, user: 'alice', server_name: 'gpu', upstream_token: 'alice-gpu-upstream' });
    proxy.routes.add('/services/open', { target: open.url });
    base = `http://127.0.0.1:${proxy.publicPort}`;
  });
  after(async () => {
    await proxy.close();
    await Promise.all([hub.close(), alice.close(), open.close()]);
  });
  beforeEach(() => {
    proxy.authorizer.cache.clear();
  });

  test("the owner's cookie passes: the server sees its own token, not the session cookie", async () => {
    const res = await call(`${base}/user/alice/echo?x=1`, { headers: { cookie: '_xsrf=abc; highrate-session=alice-session; theme=dark' } });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers.authorization, 'token alice-upstream');
    assert.equal(seen.headers.cookie, '_xsrf=abc; theme=dark');
    assert.equal(seen.url, '/user/alice/echo?x=1');
    const call0 = hub.calls.at(-1)!;
    assert.equal(call0.authorization, `token ${PROXY_TOKEN}`);
    assert.deepEqual(call0.body, { credential: { kind: 'cookie', value: 'alice-session' }, user: 'alice', server: '' });
  });

  test('a token in Authorization (token or bearer) passes and is replaced; named servers are asked about by name', async () => {
    const res = await call(`${base}/user/alice/gpu/echo`, { headers: { authorization: 'Bearer alice-api-token' } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).headers.authorization, 'token alice-gpu-upstream');
    assert.deepEqual(hub.calls.at(-1)!.body, { credential: { kind: 'token', value: 'alice-api-token' }, user: 'alice', server: 'gpu' });
  });

  test("someone else's valid credential: 403 (JSON for API clients, HTML for browsers)", async () => {
    const json = await call(`${base}/user/alice/api/contents`, { headers: { cookie: 'highrate-session=bob-session' } });
    assert.equal(json.status, 403);
    assert.deepEqual(JSON.parse(json.body), { status: 403, message: 'You are not allowed to access this server.', code: 'FORBIDDEN' });
    const html = await call(`${base}/user/alice/tree`, { headers: { cookie: 'highrate-session=bob-session', accept: 'text/html' } });
    assert.equal(html.status, 403);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    const before = alice.seen.length;
    await call(`${base}/user/alice/x`, { headers: { authorization: 'token bob-session' } });
    assert.equal(alice.seen.length, before, 'nothing reached the server');
  });

  test('access the hub grants to others is honoured (carol may use alice\'s server)', async () => {
    const res = await call(`${base}/user/alice/echo`, { headers: { cookie: 'highrate-session=carol-session' } });
    assert.equal(res.status, 200);
  });

  test('no credential: browsers are sent to log in with the exact next URL; API clients get 403', async () => {
    const browser = await call(`${base}/user/alice/tree/a b.ipynb?kernel=py&x=%2F`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, '/hub/login?next=%2Fuser%2Falice%2Ftree%2Fa%2520b.ipynb%3Fkernel%3Dpy%26x%3D%252F');
    const api = await call(`${base}/user/alice/api/status`);
    assert.equal(api.status, 403);
    assert.deepEqual(JSON.parse(api.body), { status: 403, message: 'A valid credential for this server is required.', code: 'FORBIDDEN' });
    const post = await call(`${base}/user/alice/api/x`, { method: 'POST', body: '{}', headers: { accept: 'application/json' } });
    assert.equal(post.status, 403);
  });

  test('an unknown credential counts as none', async () => {
    const browser = await call(`${base}/user/alice/lab`, { headers: { cookie: 'highrate-session=forged', accept: 'text/html' } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, '/hub/login?next=%2Fuser%2Falice%2Flab');
    assert.equal((await call(`${base}/user/alice/lab`, { headers: { authorization: 'token forged' } })).status, 403);
  });

  test('?token= is honoured on WebSocket upgrades only, and removed before the server sees the URL', async () => {
    const http = await call(`${base}/user/alice/api/status?token=alice-api-token`);
    assert.equal(http.status, 403, 'not on plain requests');
    const ws = await openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/api/kernels/k/channels?session_id=s1&token=alice-api-token`);
    try {
      assert.equal(await roundTrip(ws, 'hi'), 'hi');
      const up = alice.upgrades.at(-1)!;
      assert.equal(up.url, '/user/alice/api/kernels/k/channels?session_id=s1');
      assert.equal(up.headers.authorization, 'token alice-upstream');
    } finally {
      ws.close();
    }
    await assert.rejects(openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/ws`), { status: 403 });
    await assert.rejects(openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/ws?token=bob-session`), { status: 403 });
    const cookieWs = await openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/ws`, { cookie: 'highrate-session=alice-session; k=v' });
    try {
      assert.equal(await roundTrip(cookieWs, 'c'), 'c');
      assert.equal(alice.upgrades.at(-1)!.headers.cookie, 'k=v');
    } finally {
      cookieWs.close();
    }
  });

  test('answers are cached: many requests, one hub call (also when they arrive together)', async () => {
    const before = hub.calls.length;
    const headers = { cookie: 'highrate-session=alice-session' };
    const results = await Promise.all(Array.from({ length: 10 }, () => call(`${base}/user/alice/x`, { headers })));
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
    for (let i = 0; i < 10; i++) assert.equal((await call(`${base}/user/alice/x`, { headers })).status, 200);
    assert.equal(hub.calls.length - before, 1);
    // A different server of the same user is a different question.
    await call(`${base}/user/alice/gpu/x`, { headers });
    assert.equal(hub.calls.length - before, 2);
    // Denials are cached too.
    for (let i = 0; i < 3; i++) await call(`${base}/user/alice/x`, { headers: { cookie: 'highrate-session=bob-session' } });
    assert.equal(hub.calls.length - before, 3);
  });

  test('a route added through the route API shows only its token\'s SHA-256, and still forwards with the token', async () => {
    const client = new ProxyClient(`http://127.0.0.1:${proxy.apiPort}`, PROXY_TOKEN);
    try {
      await client.addRoute('/user/alice/added/', alice.url, { user: 'alice', server_name: 'added', upstream_token: 'added-upstream-9f2' });
      const shown = await client.getRoute('/user/alice/added');
      assert.deepEqual(shown, {
        target: alice.url,
        user: 'alice',
        server_name: 'added',
        upstream_token_sha256: '5c254a359b3c9a02d2bbd26929e72d5496f995bae91b191d801afe4440b8de36', // printf added-upstream-9f2 | sha256sum
        last_activity: shown!.last_activity,
      });
      assert.ok(!JSON.stringify(await client.getRoutes()).includes('added-upstream-9f2'));
      const res = await call(`${base}/user/alice/added/echo`, { headers: { cookie: 'highrate-session=alice-session' } });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).headers.authorization, 'token added-upstream-9f2');
    } finally {
      await client.deleteRoute('/user/alice/added');
      client.close();
    }
  });

  test('routes without a user are forwarded as they are, with no hub call', async () => {
    const before = hub.calls.length;
    const res = await call(`${base}/services/open/echo`, { headers: { authorization: 'token anything', cookie: 'highrate-session=x' } });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers.authorization, 'token anything');
    assert.equal(seen.headers.cookie, 'highrate-session=x');
    assert.equal(hub.calls.length, before);
  });

  test('the hub unreachable, or refusing the proxy: 503, and nothing is cached', async () => {
    const lonely = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: PROXY_TOKEN, authorizeUrl: 'http://127.0.0.1:9/hub/api/proxy/authorize' });
    const wrongToken = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: 'not-the-hubs', authorizeUrl: hub.authorizeUrl });
    try {
      for (const p of [lonely, wrongToken]) {
        p.routes.add('/user/alice', { target: alice.url, user: 'alice' });
        const res = await call(`http://127.0.0.1:${p.publicPort}/user/alice/x`, { headers: { cookie: 'highrate-session=alice-session' } });
        assert.equal(res.status, 503);
        assert.equal(JSON.parse(res.body).code, 'UPSTREAM_UNAVAILABLE');
        assert.equal(p.authorizer.cache.size, 0);
        await assert.rejects(openWs(`ws://127.0.0.1:${p.publicPort}/user/alice/ws?token=alice-api-token`), { status: 503 });
      }
    } finally {
      await Promise.all([lonely.close(), wrongToken.close()]);
    }
  });
});
