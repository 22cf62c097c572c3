/** Forwarding through the public port: routing, headers, bodies, WebSockets, activity, failures. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { startBackend, type Backend } from './peers.js';
import { call, openWs, roundTrip } from './tools.js';

describe('forwarding', () => {
  let proxy: RunningProxy;
  let hub: Backend;
  let a: Backend;
  let b: Backend;
  let base: string;

  before(async () => {
    hub = await startBackend('hub', { record: true });
    a = await startBackend('a', { record: true });
    b = await startBackend('b', { record: true });
    proxy = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: 't', defaultTarget: hub.url });
    proxy.routes.add('/user/alice', { target: a.url });
    proxy.routes.add('/user/alice/deep', { target: b.url });
    proxy.routes.add('/based', { target: `${b.url}/prefix/` });
    base = `http://127.0.0.1:${proxy.publicPort}`;
  });
  after(async () => {
    await proxy.close();
    await Promise.all([hub.close(), a.close(), b.close()]);
  });

  test('longest prefix wins; unmatched paths go to the default target', async () => {
    assert.equal((await call(`${base}/user/alice/tree`)).headers['x-backend'], 'a');
    assert.equal((await call(`${base}/user/alice`)).headers['x-backend'], 'a');
    assert.equal((await call(`${base}/user/alice/deep/x`)).headers['x-backend'], 'b');
    assert.equal((await call(`${base}/user/alicex/`)).headers['x-backend'], 'hub');
    assert.equal((await call(`${base}/hub/login`)).headers['x-backend'], 'hub');
  });

  test('the request reaches the target unchanged: path, query, Host, headers; X-Forwarded-* as CHP', async () => {
    const res = await call(`${base}/user/alice/echo?x=1&y=%20`, { headers: { 'x-custom': 'v', authorization: 'token passes', 'x-forwarded-for': '192.0.2.1' } });
    const seen = JSON.parse(res.body);
    assert.equal(seen.url, '/user/alice/echo?x=1&y=%20');
    assert.equal(seen.headers.host, `127.0.0.1:${proxy.publicPort}`);
    assert.equal(seen.headers['x-custom'], 'v');
    assert.equal(seen.headers.authorization, 'token passes', 'routes without user are not touched');
    assert.equal(seen.headers['x-forwarded-for'], '192.0.2.1,127.0.0.1');
    assert.equal(seen.headers['x-forwarded-port'], String(proxy.publicPort));
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${proxy.publicPort}`);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
  });

  test("a target's own path is prepended (CHP prependPath)", async () => {
    const seen = JSON.parse((await call(`${base}/based/echo?q`)).body);
    assert.equal(seen.url, '/prefix/based/echo?q');
  });

  test('request bodies stream through, with Content-Length or chunked', async () => {
    const sized = JSON.parse((await call(`${base}/user/alice/echo`, { method: 'POST', body: 'x'.repeat(100_000), headers: { 'content-type': 'text/plain' } })).body);
    assert.equal(sized.body.length, 100_000);
    assert.equal(sized.headers['content-length'], '100000');
    const chunked = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${base}/user/alice/echo`, { method: 'PUT', agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.write('part one, ');
      setTimeout(() => req.end('part two'), 30);
    });
    const seen = JSON.parse(chunked);
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.body, 'part one, part two');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
  });

  test('streamed (chunked) responses arrive in full; HEAD has no body', async () => {
    const res = await call(`${base}/user/alice/stream`);
    assert.equal(res.body, 'chunk 0\nchunk 1\nchunk 2\n');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const head = await call(`${base}/user/alice/x`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('connections to targets are kept alive and reused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seenBefore = a.seen.length;
    const connectionsBefore = a.connections;
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        http.get(`${base}/user/alice/x`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        }).on('error', reject);
      });
    }
    agent.destroy();
    assert.equal(a.seen.length - seenBefore, 20);
    assert.ok(a.connections - connectionsBefore <= 1, `new backend connections: ${a.connections - connectionsBefore}`);
  });

  test('WebSockets are forwarded both ways, with the rewritten head', async () => {
    const ws = await openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/api/kernels/k1/channels?session=s`, { 'x-client': 'yes' });
    try {
      assert.equal(await roundTrip(ws, 'hello'), 'hello');
      assert.equal(await roundTrip(ws, 'x'.repeat(200_000)), 'x'.repeat(200_000));
      const up = a.upgrades.at(-1)!;
      assert.equal(up.url, '/user/alice/api/kernels/k1/channels?session=s');
      assert.equal(up.headers['x-client'], 'yes');
      assert.equal(up.headers['x-forwarded-proto'], 'ws');
      assert.equal(up.headers.host, `127.0.0.1:${proxy.publicPort}`);
    } finally {
      ws.close();
    }
  });

  test('last_activity moves with HTTP traffic and with WebSocket frames', async () => {
    const route = proxy.routes.get('/user/alice')!;
    route.lastActivity = 0;
    await call(`${base}/user/alice/x`);
    assert.ok(Date.now() - route.lastActivity < 5_000, 'an HTTP request stamps the route');
    const ws = await openWs(`ws://127.0.0.1:${proxy.publicPort}/user/alice/ws`);
    try {
      route.lastActivity = 0;
      await roundTrip(ws, 'ping');
      assert.ok(Date.now() - route.lastActivity < 5_000, 'a WebSocket frame stamps the route');
      const apiView = JSON.parse((await call(`http://127.0.0.1:${proxy.apiPort}/api/routes/user/alice`, { headers: { authorization: 'token t' } })).body);
      assert.ok(Date.now() - Date.parse(apiView.last_activity) < 5_000);
    } finally {
      ws.close();
    }
  });

  test('a target that is down: 503 (JSON for API clients, HTML for browsers, also for WebSockets)', async () => {
    proxy.routes.add('/user/gone', { target: 'http://127.0.0.1:9' });
    const json = await call(`${base}/user/gone/api/status`);
    assert.equal(json.status, 503);
    assert.deepEqual(JSON.parse(json.body), { status: 503, message: 'The server behind this address is not reachable.', code: 'UPSTREAM_UNAVAILABLE' });
    const html = await call(`${base}/user/gone/tree`, { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(html.status, 503);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.match(html.body, /<h1>503<\/h1>/);
    await assert.rejects(openWs(`ws://127.0.0.1:${proxy.publicPort}/user/gone/ws`), { status: 503 });
  });

  test('a pooled connection the target drops without answering is retried once on a fresh one', async () => {
    // A target that answers the first request on each connection and silently drops the
    // connection on the second: the race of a keep-alive timeout, made deterministic.
    let accepted = 0;
    const dropper = net.createServer((socket) => {
      accepted++;
      let requests = 0;
      socket.on('data', (d) => {
        if (!d.includes('\r\n\r\n')) return;
        if (++requests === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
    });
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    try {
      proxy.routes.add('/dropper', { target: `http://127.0.0.1:${(dropper.address() as net.AddressInfo).port}` });
      for (let i = 0; i < 3; i++) {
        const res = await call(`${base}/dropper/x`);
        assert.equal(res.status, 200, `request ${i}`);
        assert.equal(res.body, 'ok');
      }
      assert.equal(accepted, 3, 'requests 2 and 3 each failed silently once and went to a fresh connection');
      const post = await call(`${base}/dropper/x`, { method: 'POST', body: 'data' });
      assert.equal(post.status, 503, 'a request with a body is never replayed');
    } finally {
      dropper.close();
    }
  });

  test('no route and no default target: 404; health check needs no route', async () => {
    const bare = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: 't' });
    try {
      const res = await call(`http://127.0.0.1:${bare.publicPort}/anything`);
      assert.equal(res.status, 404);
      assert.equal(JSON.parse(res.body).code, 'NOT_FOUND');
      assert.equal((await call(`http://127.0.0.1:${bare.publicPort}/_chp_healthz`)).body, '{"status":"OK"}');
    } finally {
      await bare.close();
    }
  });
});
