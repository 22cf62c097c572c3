/** Route-API behaviour of ours beyond what CHP shares: error bodies, limits, HTTP edge cases. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ProxyClient, startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { call } from './tools.js';

const TOKEN = 'api-token';
const auth = { authorization: `token ${TOKEN}` };

/** Sends raw bytes on one connection and collects what comes back until the server closes or `ms` pass. */
function raw(port: number, bytes: string, ms = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, ms);
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

describe('route API (highrate specifics)', () => {
  let proxy: RunningProxy;
  let api: string;

  before(async () => {
    proxy = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: TOKEN, bodyLimit: 1024, defaultTarget: 'http://127.0.0.1:9' });
    api = `http://127.0.0.1:${proxy.apiPort}/api/routes`;
  });
  after(() => proxy.close());

  test('errors carry the catalogue body {status, message, code}', async () => {
    const forbidden = await call(api);
    assert.equal(forbidden.status, 403);
    assert.deepEqual(JSON.parse(forbidden.body), { status: 403, message: 'A valid proxy API token is required.', code: 'FORBIDDEN' });
    const badJson = await call(`${api}/x`, { method: 'POST', headers: auth, body: '{"target": ' });
    assert.equal(badJson.status, 400);
    assert.deepEqual(JSON.parse(badJson.body), { status: 400, message: 'The request body is not valid JSON.', code: 'BAD_JSON' });
    const noTarget = await call(`${api}/x`, { method: 'POST', headers: auth, body: '[1]' });
    assert.deepEqual(JSON.parse(noTarget.body), { status: 400, message: "The body must be a JSON object with 'target'.", code: 'BAD_REQUEST' });
    const badTarget = await call(`${api}/x`, { method: 'POST', headers: auth, body: '{"target":"ftp://x/"}' });
    assert.equal(JSON.parse(badTarget.body).code, 'BAD_REQUEST');
    const missing = await call(`${api}/nope`, { headers: auth });
    assert.deepEqual(JSON.parse(missing.body), { status: 404, message: 'No such route.', code: 'ROUTE_NOT_FOUND' });
    const method = await call(`${api}/x`, { method: 'PATCH', headers: auth });
    assert.equal(JSON.parse(method.body).code, 'METHOD_NOT_ALLOWED');
  });

  test('a body over the limit is 413 and the connection is closed', async () => {
    const big = JSON.stringify({ target: 'http://127.0.0.1:9', pad: 'x'.repeat(2000) });
    const res = await call(`${api}/big`, { method: 'POST', headers: auth, body: big });
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).code, 'BODY_TOO_LARGE');
    assert.equal(res.headers.connection, 'close');
    assert.equal((await call(`${api}/big`, { headers: auth })).status, 404);
    // Declared small, sent chunked and large: refused as it arrives.
    const chunk = 'x'.repeat(800);
    const answer = await raw(proxy.apiPort, `POST /api/routes/big HTTP/1.1\r\nHost: x\r\nAuthorization: token ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n${chunk}\r\n320\r\n${chunk}\r\n0\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 413 /);
  });

  test('Bearer works too; the default target shows as the "/" route, as in CHP', async () => {
    const res = await call(api, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(res.body)), ['/']);
  });

  test('keep-alive with pipelined requests answers in order; chunked bodies and Expect: 100-continue work', async () => {
    const body = JSON.stringify({ target: 'http://127.0.0.1:9', user: 'p' });
    const answer = await raw(
      proxy.apiPort,
      `POST /api/routes/user/p1 HTTP/1.1\r\nHost: x\r\nAuthorization: token ${TOKEN}\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        `POST /api/routes/user/p2 HTTP/1.1\r\nHost: x\r\nAuthorization: token ${TOKEN}\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` +
        `GET /api/routes/user/p2 HTTP/1.1\r\nHost: x\r\nAuthorization: token ${TOKEN}\r\nConnection: close\r\n\r\n`,
    );
    const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['201', '100', '201', '200']);
    assert.match(answer, /"user":"p"/);
  });

  test('malformed HTTP gets 400 and a closed connection', async () => {
    const answer = await raw(proxy.apiPort, 'GET /api/routes HTTP/1.1\r\nHost : x\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /Connection: close/);
    assert.match(answer, /"code":"BAD_REQUEST"/);
  });

  test('route data never shows the upstream token: GET one and GET all show its SHA-256 instead', async () => {
    const res = await call(`${api}/user/secret`, { method: 'POST', headers: auth, body: JSON.stringify({ target: 'http://127.0.0.1:9', user: 's', upstream_token: 'TOPSECRET' }) });
    assert.equal(res.status, 201);
    const one = await call(`${api}/user/secret`, { headers: auth });
    const all = await call(api, { headers: auth });
    for (const body of [one.body, all.body]) assert.ok(!body.includes('TOPSECRET') && !body.includes('"upstream_token"'), body);
    const got = JSON.parse(one.body);
    // `printf TOPSECRET | sha256sum`
    assert.deepEqual(got, {
      target: 'http://127.0.0.1:9',
      user: 's',
      upstream_token_sha256: 'f97a346b8c7b97a0d1297ea4daadca775c6866d1b409f033b470e0d09099074e',
      last_activity: got.last_activity,
    });
    assert.deepEqual(JSON.parse(all.body)['/user/secret'], got);
  });

  test('ProxyClient: many calls at once are pipelined, and it survives the proxy closing idle connections', async () => {
    const quick = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: TOKEN, keepAliveTimeoutMs: 100 });
    const client = new ProxyClient(`http://127.0.0.1:${quick.apiPort}`, TOKEN);
    try {
      await Promise.all(Array.from({ length: 300 }, (_, i) => client.addRoute(`/user/q${i}/`, 'http://127.0.0.1:9', { user: `q${i}` })));
      assert.equal(quick.routes.size, 300);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await client.deleteRoute('/user/q0/'), true, 'a fresh connection after the idle one was closed');
      assert.equal((await client.getRoute('/user/q299'))?.user, 'q299');
    } finally {
      client.close();
      await quick.close();
    }
  });

  test('ProxyClient: a proxy that is not there rejects with UPSTREAM_UNAVAILABLE', async () => {
    const client = new ProxyClient('http://127.0.0.1:9', TOKEN);
    await assert.rejects(client.getRoutes(), { code: 'UPSTREAM_UNAVAILABLE' });
    client.close();
  });
});
