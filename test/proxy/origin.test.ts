/**
 * The cross-origin check on edge-authenticated routes: a page of another origin of the same site
 * (another port, a sibling subdomain) must not use the victim's session cookie to POST to a
 * notebook or open its kernel WebSocket. Real proxy, fake hub, recording backend.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { startBackend, startFakeHub, type Backend, type FakeHub } from './peers.js';
import { call, openWs, roundTrip } from './tools.js';

const PROXY_TOKEN = 'proxy-secret';
const CREDENTIALS = { 'alice-session': 'alice', 'alice-api-token': 'alice' };
const COOKIE = 'highrate-session=alice-session';
const ADVICE = "Open the notebook from the platform's own address, or use a token.";

/** Sends one raw upgrade request and returns everything the proxy answers before closing. */
function rawUpgrade(port: number, path: string, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('utf8')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`);
  });
}

describe('cross-origin check on cookie-authenticated user routes', () => {
  let hub: FakeHub;
  let alice: Backend;
  let proxy: RunningProxy;
  let port: number;
  let base: string;
  let self: string;

  before(async () => {
    hub = await startFakeHub(PROXY_TOKEN, CREDENTIALS);
    alice = await startBackend('alice', { record: true });
    proxy = await startProxy({
      port: 0, ip: '127.0.0.1', apiPort: 0, authToken: PROXY_TOKEN, defaultTarget: hub.url, authorizeUrl: hub.authorizeUrl,
      allowOrigins: ['https://hub.example.org'],
    });
    proxy.routes.add('/user/alice', { target: alice.url, user: 'alice', server_name: '', upstream_token: 'alice-upstream' });
    port = proxy.publicPort;
    base = `http://127.0.0.1:${port}`;
    self = base;
  });
  after(async () => {
    await proxy.close();
    await Promise.all([hub.close(), alice.close()]);
  });
  beforeEach(() => {
    proxy.authorizer.cache.clear();
  });

  test('cookie + cross-origin POST: 403 ORIGIN_REFUSED, no hub call, nothing reaches the server', async () => {
    const seen = alice.seen.length;
    const calls = hub.calls.length;
    const res = await call(`${base}/user/alice/api/kernels`, { method: 'POST', body: '{"name":"python3"}', headers: { cookie: COOKIE, origin: 'http://127.0.0.1:9', 'content-type': 'application/json' } });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), {
      status: 403,
      code: 'ORIGIN_REFUSED',
      message: `Cross-origin request refused: Origin http://127.0.0.1:9 is not this site (127.0.0.1:${port}). ${ADVICE}`,
    });
    // Other state-changing methods, a sibling subdomain, and a browser (HTML answer) alike.
    for (const [method, origin] of [['DELETE', 'http://127.0.0.1:9'], ['PUT', 'http://evil.127.0.0.1.nip.io'], ['PATCH', `https://127.0.0.1:${port + 1}`]] as const) {
      const other = await call(`${base}/user/alice/api/contents/x`, { method, body: '{}', headers: { cookie: COOKIE, origin, 'content-length': '2' } });
      assert.equal(other.status, 403, `${method} ${origin}`);
      assert.equal(JSON.parse(other.body).code, 'ORIGIN_REFUSED');
    }
    const html = await call(`${base}/user/alice/api/kernels`, { method: 'POST', body: 'x', headers: { cookie: COOKIE, origin: 'http://127.0.0.1:9', accept: 'text/html' } });
    assert.equal(html.status, 403);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.ok(html.body.includes('Origin http://127.0.0.1:9 is not this site'), html.body);
    assert.equal(alice.seen.length, seen, 'the server saw nothing');
    assert.equal(hub.calls.length, calls, 'the hub was not asked');
  });

  test('cookie + same-origin POST (Origin is the Host): forwarded with its body, as the server token', async () => {
    const res = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{"name":"python3"}', headers: { cookie: COOKIE, origin: self } });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, '{"name":"python3"}');
    assert.equal(seen.headers.authorization, 'token alice-upstream');
    assert.equal(seen.headers.origin, self, 'the Origin itself is forwarded unchanged');
    assert.equal(seen.headers.cookie, undefined);
  });

  test('cookie + POST without Origin: Sec-Fetch-Site same-site is refused; none or same-origin pass; no header at all passes', async () => {
    const seen = alice.seen.length;
    const sameSite = await call(`${base}/user/alice/api/kernels`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, 'sec-fetch-site': 'same-site' } });
    assert.equal(sameSite.status, 403);
    assert.deepEqual(JSON.parse(sameSite.body), {
      status: 403,
      code: 'ORIGIN_REFUSED',
      message: `Cross-site request refused: it came from another site's page (Sec-Fetch-Site: same-site). ${ADVICE}`,
    });
    assert.equal(alice.seen.length, seen);
    for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}] as Array<Record<string, string>>) {
      const res = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, ...headers } });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
  });

  test('Origin null is refused', async () => {
    const res = await call(`${base}/user/alice/api/kernels`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, origin: 'null' } });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), {
      status: 403,
      code: 'ORIGIN_REFUSED',
      message: `Cross-origin request refused: Origin null (a sandboxed page, a file or a redirect from another site) is not this site (127.0.0.1:${port}). ${ADVICE}`,
    });
  });

  test('cookie + cross-origin GET, HEAD and OPTIONS are forwarded: links and navigations from elsewhere keep working', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const res = await call(`${base}/user/alice/tree`, { method, headers: { cookie: COOKIE, origin: 'http://127.0.0.1:9', 'sec-fetch-site': 'cross-site' } });
      assert.equal(res.status, 200, method);
      assert.equal(res.headers['x-backend'], 'alice');
    }
  });

  test('a token in Authorization: a cross-origin POST is forwarded (the check is for the cookie only)', async () => {
    const res = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { authorization: 'token alice-api-token', cookie: COOKIE, origin: 'http://127.0.0.1:9' } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).headers.authorization, 'token alice-upstream');
  });

  test('a configured allowed origin passes whatever the Host; the same host with another scheme does not', async () => {
    const res = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, origin: 'https://hub.example.org' } });
    assert.equal(res.status, 200);
    const http = await call(`${base}/user/alice/api/kernels`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, origin: 'http://hub.example.org' } });
    assert.equal(http.status, 403);
    // Behind a TLS terminator: the browser says https, the Host is the public name without a port.
    const behind = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { cookie: COOKIE, host: 'notebooks.example.org', origin: 'https://notebooks.example.org' } });
    assert.equal(behind.status, 200);
  });

  test('WebSocket with the cookie and a foreign Origin: refused on the socket before the hub is asked; same-origin connects', async () => {
    const calls = hub.calls.length;
    const upgrades = alice.upgrades.length;
    await assert.rejects(openWs(`ws://127.0.0.1:${port}/user/alice/api/kernels/k/channels`, { cookie: COOKIE, origin: 'http://127.0.0.1:9' }), { status: 403 });
    const answer = await rawUpgrade(port, '/user/alice/api/kernels/k/channels', `Cookie: ${COOKIE}\r\nOrigin: http://evil.example:9\r\n`);
    const body = JSON.stringify({ status: 403, message: `Cross-origin request refused: Origin http://evil.example:9 is not this site (127.0.0.1:${port}). ${ADVICE}`, code: 'ORIGIN_REFUSED' });
    assert.equal(answer, `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    await assert.rejects(openWs(`ws://127.0.0.1:${port}/user/alice/ws`, { cookie: COOKIE, origin: 'null' }), { status: 403 });
    await assert.rejects(openWs(`ws://127.0.0.1:${port}/user/alice/ws`, { cookie: COOKIE, 'sec-fetch-site': 'same-site' }), { status: 403 });
    assert.equal(hub.calls.length, calls, 'no hub call for a refused origin');
    assert.equal(alice.upgrades.length, upgrades, 'nothing reached the server');

    for (const origin of [self, 'https://hub.example.org']) {
      const ws = await openWs(`ws://127.0.0.1:${port}/user/alice/api/kernels/k/channels`, { cookie: COOKIE, origin });
      try {
        assert.equal(await roundTrip(ws, 'hello'), 'hello');
        assert.equal(alice.upgrades.at(-1)!.headers.authorization, 'token alice-upstream');
      } finally {
        ws.close();
      }
    }
    // ?token= is a token: a foreign Origin does not matter, as for the Authorization header.
    const tokenWs = await openWs(`ws://127.0.0.1:${port}/user/alice/ws?token=alice-api-token`, { origin: 'http://127.0.0.1:9' });
    try {
      assert.equal(await roundTrip(tokenWs, 't'), 't');
    } finally {
      tokenWs.close();
    }
  });

  test('routes without a user are not checked: the hub does its own', async () => {
    proxy.routes.add('/services/open', { target: alice.url });
    try {
      const res = await call(`${base}/services/open/echo`, { method: 'POST', body: 'x', headers: { cookie: COOKIE, origin: 'http://127.0.0.1:9' } });
      assert.equal(res.status, 200);
    } finally {
      proxy.routes.delete('/services/open');
    }
  });
});
