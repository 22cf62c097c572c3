/**
 * Deadlines towards targets (issue 14), on the proxy as its own process: a target that accepts
 * and never answers gets the client a 504 PROXY_TARGET_TIMEOUT within --target-timeout and its
 * connection is not reused; WebSocket peers that vanish are closed within --ws-ping-interval;
 * an unreachable hub is 503 HUB_STARTING with Retry-After; without the flags (CHP mode) nothing
 * is timed, as CHP.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { call, freePort, openWs, REPO, roundTrip, waitFor } from './tools.js';

const MAIN = path.join(REPO, 'dist/src/proxy/main.js');
const TOKEN = 'deadline-token';
const TARGET_TIMEOUT = 500;
const PING_INTERVAL = 1000;

interface ProxyProc {
  child: ChildProcess;
  base: string;
  port: number;
  addRoute(prefix: string, target: string): Promise<void>;
  stop(): Promise<void>;
}

async function startProxyProcess(flags: string[]): Promise<ProxyProc> {
  const port = await freePort();
  const apiPort = await freePort();
  const child = spawn(process.execPath, [MAIN, '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), ...flags],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'ignore'] });
  const api = `http://127.0.0.1:${apiPort}/api/routes`;
  await waitFor(async () => (await call(api, { headers: { authorization: `token ${TOKEN}` } })).status === 200);
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    async addRoute(prefix, target) {
      const r = await call(`${api}${prefix}`, { method: 'POST', headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ target }) });
      assert.equal(r.status, 201);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/** A target: `/ok` answers at once, `/slow` after 300 ms, `/stall` never, `/pause` sends its head, waits 1.2 s, then the rest. */
async function startTarget() {
  const sockets: net.Socket[] = [];
  const closed = new Set<net.Socket>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    if (req.url === '/t/stall') return; // accepted, never answered
    if (req.url === '/t/slow') {
      setTimeout(() => res.end('slow'), 300);
      return;
    }
    if (req.url === '/t/pause') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      setTimeout(() => res.end('b'), 1200);
      return;
    }
    res.end('ok');
  });
  server.on('connection', (s: net.Socket) => {
    sockets.push(s);
    s.on('close', () => closed.add(s));
  });
  const wss = new WebSocketServer({ server });
  const serverSockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    serverSockets.push(ws);
    ws.on('message', (m) => ws.send(m.toString()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    closed,
    serverSockets,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A raw TCP server: `mode` 'silent' accepts and never writes; 'upgrade-then-silent' answers the handshake, then goes quiet. */
async function startRawTarget(mode: 'silent' | 'upgrade-then-silent') {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    if (mode === 'silent') return;
    let head = '';
    s.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1]!;
      const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      // From here on: no answer to anything (a wedged peer whose TCP connection stays up).
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A WebSocket handshake by hand on a raw socket that will then answer nothing (no pongs). */
async function rawWsClient(port: number, path: string): Promise<{ socket: net.Socket; ended: Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let got = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('data', function onHead(d: Buffer) {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        socket.off('data', onHead);
        if (!got.startsWith('HTTP/1.1 101')) reject(new Error(got));
        else resolve();
      }
    });
  });
  const ended = new Promise<number>((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(Date.now()));
  });
  // Read (so TCP flow control plays no part) but never answer: the proxy's pings go unanswered.
  socket.resume();
  return { socket, ended };
}

describe('proxy deadlines (--target-timeout, --connect-timeout, --ws-ping-interval)', () => {
  let proxy: ProxyProc;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    target = await startTarget();
    const closedPort = await freePort();
    proxy = await startProxyProcess(['--target-timeout', String(TARGET_TIMEOUT), '--connect-timeout', '1000', '--ws-ping-interval', String(PING_INTERVAL),
      '--default-target', `http://127.0.0.1:${closedPort}`]);
    await proxy.addRoute('/t', target.url);
  });
  after(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
    await proxy?.stop();
    await target?.close();
  });

  test('a target that accepts and never answers: 504 PROXY_TARGET_TIMEOUT in time, its connection dropped, the next request on a fresh one', async () => {
    assert.equal((await call(`${proxy.base}/t/ok`)).body, 'ok');
    assert.equal(target.sockets.length, 1, 'one pooled upstream connection');
    const t0 = Date.now();
    const r = await call(`${proxy.base}/t/stall`);
    const took = Date.now() - t0;
    assert.equal(r.status, 504);
    assert.deepEqual(JSON.parse(r.body), { status: 504, message: 'The server behind this address did not answer in time.', code: 'PROXY_TARGET_TIMEOUT' });
    assert.ok(took >= TARGET_TIMEOUT - 50 && took < TARGET_TIMEOUT + 700, `504 after ${took} ms`);
    // The stalled request went on the pooled connection, which the proxy closed.
    await waitFor(async () => target.closed.has(target.sockets[0]!), 2000);
    assert.equal((await call(`${proxy.base}/t/ok`)).body, 'ok');
    assert.equal(target.sockets.length, 2, 'the next request opened a fresh connection');
    // Browsers get a page, with the same status.
    const page = await call(`${proxy.base}/t/stall`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 504);
    assert.match(page.headers['content-type'] ?? '', /^text\/html/);
  });

  test('only the wait for the response head is timed: an idle pooled connection, a slow answer and a paused body all pass', async () => {
    assert.equal((await call(`${proxy.base}/t/ok`)).body, 'ok');
    // Idle in the pool longer than the timeout; its timer fired unseen and is re-armed by the next request.
    await new Promise((r) => setTimeout(r, TARGET_TIMEOUT + 300));
    const before = target.sockets.length;
    assert.equal((await call(`${proxy.base}/t/slow`)).body, 'slow');
    assert.equal(target.sockets.length, before, 'the pooled connection was reused');
    const paused = await call(`${proxy.base}/t/pause`);
    assert.deepEqual([paused.status, paused.body], [200, 'ab']);
  });

  test('a WebSocket target that never answers the handshake: 504', async () => {
    const silent = await startRawTarget('silent');
    cleanups.push(() => silent.close());
    await proxy.addRoute('/silent', silent.url);
    const t0 = Date.now();
    await assert.rejects(openWs(`ws://127.0.0.1:${proxy.port}/silent/ws`), (err: Error & { status?: number }) => err.status === 504);
    assert.ok(Date.now() - t0 < TARGET_TIMEOUT + 700);
  });

  test('healthy WebSocket peers answer the pings and stay connected over several intervals', async () => {
    const ws = await openWs(`ws://127.0.0.1:${proxy.port}/t/ws`);
    cleanups.push(async () => ws.terminate());
    let closed = false;
    ws.on('close', () => (closed = true));
    let pings = 0;
    ws.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, PING_INTERVAL * 2.5));
    assert.equal(closed, false);
    assert.ok(pings >= 1, `the proxy pinged the silent client (${pings})`);
    assert.equal(await roundTrip(ws, 'still here'), 'still here');
    ws.close();
  });

  test('a client that vanishes (no pongs, connection up): both sides closed within the ping interval', async () => {
    const before = target.serverSockets.length;
    const client = await rawWsClient(proxy.port, '/t/ws');
    const t0 = Date.now();
    await waitFor(async () => target.serverSockets.length > before, 2000);
    const serverSide = target.serverSockets.at(-1)!;
    const serverClosed = new Promise<number>((r) => serverSide.once('close', () => r(Date.now())));
    const [clientEnd, serverEnd] = await Promise.all([client.ended, serverClosed]);
    for (const [side, at] of [['client', clientEnd], ['target', serverEnd]] as const) {
      const after = at - t0;
      assert.ok(after >= PING_INTERVAL * 0.8 && after <= PING_INTERVAL * 1.125 + 600, `${side} closed after ${after} ms`);
    }
  });

  test('a target that vanishes after the handshake: the client gets close 1001 within the ping interval', async () => {
    const wedged = await startRawTarget('upgrade-then-silent');
    cleanups.push(() => wedged.close());
    await proxy.addRoute('/wedged', wedged.url);
    const ws = await openWs(`ws://127.0.0.1:${proxy.port}/wedged/ws`);
    const t0 = Date.now();
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    const after = Date.now() - t0;
    assert.equal(code, 1001);
    assert.ok(after >= PING_INTERVAL * 0.8 && after <= PING_INTERVAL * 1.125 + 600, `closed after ${after} ms`);
    await waitFor(async () => wedged.sockets[0]!.destroyed || wedged.sockets[0]!.readableEnded, 2000);
  });

  test('the hub route unreachable (starting, killed): 503 HUB_STARTING at once, with Retry-After', async () => {
    const t0 = Date.now();
    const r = await call(`${proxy.base}/hub/api/`);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.deepEqual(JSON.parse(r.body), { status: 503, message: 'The hub is starting; retry in a moment.', code: 'HUB_STARTING' });
    const page = await call(`${proxy.base}/hub/home`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 503);
    assert.equal(page.headers['retry-after'], '1');
    assert.match(page.body, /The hub is starting/);
  });
});

describe('proxy SIGTERM drains', () => {
  test('a request in flight is answered, then the proxy exits 0 and listens no more', async () => {
    const target = await startTarget();
    const proxy = await startProxyProcess(['--target-timeout', '5000']);
    try {
      await proxy.addRoute('/t', target.url);
      const exited = new Promise<number | null>((r) => proxy.child.once('exit', (code) => r(code)));
      const inflight = call(`${proxy.base}/t/slow`);
      await waitFor(async () => target.sockets.length > 0, 2000);
      proxy.child.kill('SIGTERM');
      const r = await inflight;
      assert.deepEqual([r.status, r.body], [200, 'slow']);
      assert.equal(await exited, 0);
      await assert.rejects(call(`${proxy.base}/t/ok`), /ECONNREFUSED/);
    } finally {
      await proxy.stop();
      await target.close();
    }
  });
});

describe('CHP mode (none of the flags): no deadline towards targets, as CHP', () => {
  test('a stalled target holds the request (no 504 after 2 s)', async () => {
    const target = await startTarget();
    const proxy = await startProxyProcess([]);
    try {
      await proxy.addRoute('/t', target.url);
      const outcome = await new Promise<string>((resolve) => {
        const req = http.get(`${proxy.base}/t/stall`, { agent: false }, (res) => resolve(`answered ${res.statusCode}`));
        req.on('error', () => resolve('error'));
        setTimeout(() => {
          resolve('pending');
          req.destroy();
        }, 2000);
      });
      assert.equal(outcome, 'pending');
    } finally {
      await proxy.stop();
      await target.close();
    }
  });
});
