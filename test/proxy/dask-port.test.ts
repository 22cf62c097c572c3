/** The proxy's Dask port: its route API extension and TLS connections routed by SNI through it. */
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { generateCredentials } from '../../src/clusters/tls.js';
import { ProxyClient, startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { call } from './tools.js';

const TOKEN = 'api-token';
const auth = { authorization: `token ${TOKEN}` };

/** A TLS echo server with the cluster's pair, requiring a client certificate signed by it (as a scheduler). */
async function scheduler(pair: { cert: string; key: string }): Promise<{ port: number; close: () => Promise<void> }> {
  const server = tls.createServer({ cert: pair.cert, key: pair.key, ca: pair.cert, requestCert: true, rejectUnauthorized: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** Connects through the Dask port with `pair` and SNI `daskgateway-<cluster>`, sends `text`, resolves with the echo. */
function echo(port: number, cluster: string, pair: { cert: string; key: string }, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: `daskgateway-${cluster}`, cert: pair.cert, key: pair.key, ca: pair.cert, checkServerIdentity: () => undefined }, () => s.write(text));
    s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed')));
  });
}

describe('the proxy\'s Dask port', () => {
  let proxy: RunningProxy;
  let plain: RunningProxy;
  let client: ProxyClient;
  let base: string;

  before(async () => {
    proxy = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: TOKEN, daskPort: 0 });
    plain = await startProxy({ port: 0, ip: '127.0.0.1', apiPort: 0, authToken: TOKEN });
    base = `http://127.0.0.1:${proxy.apiPort}`;
    client = new ProxyClient(base, TOKEN);
  });
  after(async () => {
    client.close();
    await proxy.close();
    await plain.close();
  });

  test('routes a cluster\'s TLS connection to its scheduler; GET /api/dask shows the route and its connection', async () => {
    const pair = await generateCredentials('c0ffee', 1);
    const sched = await scheduler(pair);
    try {
      assert.ok(proxy.daskPort! > 0);
      await client.setDaskRoute('c0ffee', '127.0.0.1', sched.port);
      assert.equal(await echo(proxy.daskPort!, 'c0ffee', pair, 'ping'), 'ping');
      const s = tls.connect({ host: '127.0.0.1', port: proxy.daskPort!, servername: 'daskgateway-c0ffee', cert: pair.cert, key: pair.key, ca: pair.cert, checkServerIdentity: () => undefined });
      s.on('error', () => undefined);
      await new Promise((r) => s.once('secureConnect', r));
      const shown = await client.getDask();
      assert.deepEqual(shown, { port: proxy.daskPort, routes: { c0ffee: { host: '127.0.0.1', port: sched.port, connections: 1 } }, routed: 2, refused: 0 });
      // Deleting the route cuts what it carries; a new connection is refused.
      const cut = new Promise((r) => s.once('close', r));
      assert.equal(await client.deleteDaskRoute('c0ffee'), true);
      await cut;
      await assert.rejects(echo(proxy.daskPort!, 'c0ffee', pair, 'ping'));
      assert.equal(await client.deleteDaskRoute('c0ffee'), false);
      assert.deepEqual((await client.getDask()).routes, {});
    } finally {
      await sched.close();
    }
  });

  test('bad calls get 4xx with a code; the token is required', async () => {
    const cases: Array<[string, string, Record<string, string>, string | undefined, number, string]> = [
      ['GET', '/api/dask', {}, undefined, 403, 'FORBIDDEN'],
      ['POST', '/api/dask/routes/abc', {}, '{"host":"127.0.0.1","port":1}', 403, 'FORBIDDEN'],
      ['POST', '/api/dask/routes/abc', auth, '{"host":', 400, 'BAD_JSON'],
      ['POST', '/api/dask/routes/abc', auth, '{"host":"127.0.0.1","port":70000}', 400, 'BAD_REQUEST'],
      ['POST', '/api/dask/routes/abc', auth, '{"host":"","port":1}', 400, 'BAD_REQUEST'],
      ['POST', '/api/dask/routes/ABC', auth, '{"host":"127.0.0.1","port":1}', 400, 'BAD_REQUEST'],
      ['POST', '/api/dask/routes/', auth, '{"host":"127.0.0.1","port":1}', 400, 'BAD_REQUEST'],
      ['DELETE', '/api/dask/routes/nope', auth, undefined, 404, 'ROUTE_NOT_FOUND'],
      ['PUT', '/api/dask/routes/abc', auth, '{}', 405, 'METHOD_NOT_ALLOWED'],
      ['POST', '/api/dask', auth, '{}', 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [method, path, headers, body, status, code] of cases) {
      const r = await call(`${base}${path}`, { method, headers, body });
      assert.equal(r.status, status, `${method} ${path} ${body ?? ''}`);
      assert.equal(JSON.parse(r.body).code, code, `${method} ${path} ${body ?? ''}`);
    }
  });

  test('a proxy started without --dask-port has none, and says how to get one', async () => {
    const c = new ProxyClient(`http://127.0.0.1:${plain.apiPort}`, TOKEN);
    try {
      assert.deepEqual(await c.getDask(), { port: null, routes: {}, routed: 0, refused: 0 });
      const r = await call(`http://127.0.0.1:${plain.apiPort}/api/dask/routes/abc`, { method: 'POST', headers: auth, body: '{"host":"127.0.0.1","port":1}' });
      assert.equal(r.status, 409);
      assert.deepEqual(JSON.parse(r.body), { status: 409, code: 'CONFLICT', message: 'This proxy runs no Dask port: start it with --dask-port.' });
    } finally {
      c.close();
    }
  });
});
