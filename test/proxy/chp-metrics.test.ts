/**
 * CHP's Prometheus metrics (--metrics-port, --metrics-socket) and --storage-backend, over the wire:
 * highrate's proxy and the real configurable-http-proxy 5.3 get the same traffic, and their
 * /metrics must show the same CHP metrics with the same values; a CHP-style store class keeps the
 * routes across a restart of highrate's proxy.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { call, freePort, openWs, REPO, roundTrip, waitFor } from './tools.js';

const TOKEN = 'chp-metrics-token';
const AUTH = { authorization: `token ${TOKEN}` };

interface Peer {
  publicUrl: string;
  apiUrl: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

async function startPeer(kind: 'highrate' | 'chp', extra: string[], metricsAt: { port?: number; socket?: string }): Promise<Peer> {
  const port = await freePort();
  const apiPort = await freePort();
  const metricsFlags = metricsAt.socket !== undefined ? ['--metrics-socket', metricsAt.socket] : ['--metrics-ip', '127.0.0.1', '--metrics-port', String(metricsAt.port)];
  const args = ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--log-level', 'error', ...metricsFlags, ...extra];
  const main = kind === 'highrate' ? path.join(REPO, 'dist/src/proxy/main.js') : path.join(REPO, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy');
  const child: ChildProcess = spawn(process.execPath, [main, ...args], { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await waitFor(async () => (await call(`${apiUrl}/api/routes`, { headers: AUTH })).status === 200, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${kind} did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    publicUrl: `http://127.0.0.1:${port}`,
    apiUrl,
    metrics: () => scrape(metricsAt),
    stop,
  };
}

/** GET /metrics over a port or a Unix socket: the body, after checking status and content type. */
function scrape(at: { port?: number; socket?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: at.socket, host: '127.0.0.1', port: at.port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`metrics answered ${res.statusCode}`));
        assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        resolve(body);
      });
    });
    req.on('error', reject);
  });
}

/** The CHP-specific samples: `name{labels}` → value, summaries by their _count only (quantiles are timings). */
function chpSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^((api_route_\w+|requests_\w+|find_target_for_req|last_activity_updating)(_count)?(\{[^}]*\})?) (\S+)$/.exec(line);
    if (m === null || /_sum$|quantile/.test(m[1]!)) continue;
    if ((m[2] === 'find_target_for_req' || m[2] === 'last_activity_updating') && m[3] === undefined) continue;
    out.set(m[1]!, Number(m[5]));
  }
  return out;
}

function typeLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('# TYPE ')).sort();
}

/** A backend answering 200 `ok` to HTTP and echoing WebSocket messages. */
async function startBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The same traffic for both proxies: API calls (ok and refused), a proxied request, a miss, a WebSocket. */
async function traffic(peer: Peer, backend: string): Promise<void> {
  assert.equal((await call(`${peer.apiUrl}/api/routes`, { headers: AUTH })).status, 200);
  assert.equal((await call(`${peer.apiUrl}/api/routes`)).status, 403);
  assert.equal((await call(`${peer.apiUrl}/api/routes/a`, { method: 'POST', headers: AUTH, body: JSON.stringify({ target: backend }) })).status, 201);
  assert.equal((await call(`${peer.publicUrl}/a/x`)).status, 200);
  assert.equal((await call(`${peer.publicUrl}/a/y`)).status, 200);
  assert.equal((await call(`${peer.publicUrl}/nowhere`)).status, 404);
  const ws = await openWs(`${peer.publicUrl.replace('http', 'ws')}/a/ws`);
  assert.equal(await roundTrip(ws, 'hello'), 'hello');
  ws.close();
  assert.equal((await call(`${peer.apiUrl}/api/routes/a`, { method: 'DELETE', headers: AUTH })).status, 204);
  assert.equal((await call(`${peer.apiUrl}/api/routes/a`, { method: 'DELETE', headers: AUTH })).status, 404);
}

describe('--metrics-port: CHP\'s metrics, side by side with configurable-http-proxy 5.3', () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  const peers: Peer[] = [];
  before(async () => {
    backend = await startBackend();
  });
  after(async () => {
    for (const p of peers) await p.stop();
    await backend.close();
  });

  test('the same traffic gives the same CHP counters, and every CHP metric name is there', async () => {
    const ours = await startPeer('highrate', [], { port: await freePort() });
    peers.push(ours);
    const chp = await startPeer('chp', [], { port: await freePort() });
    peers.push(chp);
    await traffic(ours, backend.url);
    await traffic(chp, backend.url);
    const [ourText, chpText] = [await ours.metrics(), await chp.metrics()];
    const expected = chpSamples(chpText);
    const ourSamples = chpSamples(ourText);
    // CHP also records activity on every chunk of request and reply data (WebSocket frames
    // included), so that count depends on how frames fall into reads; highrate counts the
    // successful web responses (it records chunk activity without timing it).
    assert.ok(expected.get('last_activity_updating_count')! >= 2);
    assert.equal(ourSamples.get('last_activity_updating_count'), 2);
    expected.delete('last_activity_updating_count');
    ourSamples.delete('last_activity_updating_count');
    // What CHP counted (the start-up probe is one GET /api/routes), written out so a change on either side shows here.
    assert.deepEqual(Object.fromEntries(expected), {
      api_route_get: 2,
      api_route_add: 1,
      api_route_delete: 2,
      find_target_for_req_count: 4,
      requests_ws: 1,
      requests_web: 3,
      'requests_proxy{status="200"}': 2,
      'requests_proxy{status="404"}': 1,
      'requests_api{status="200"}': 2,
      'requests_api{status="403"}': 1,
      'requests_api{status="201"}': 1,
      'requests_api{status="204"}': 1,
      'requests_api{status="404"}': 1,
    });
    assert.deepEqual(Object.fromEntries(ourSamples), Object.fromEntries(expected));
    const missing = typeLines(chpText).filter((l) => !typeLines(ourText).includes(l));
    assert.deepEqual(missing, [], 'every metric CHP exposes, with the same type');
    assert.match(ourText, /^highrate_proxy_routes 0$/m);
    assert.match(ourText, /^process_resident_memory_bytes \d+$/m);
    assert.match(ourText, /^find_target_for_req\{quantile="0.5"\} \d/m);
  });

  test('--metrics-socket serves the same on a Unix socket; other paths are 404', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chp-metrics-'));
    try {
      const socket = path.join(dir, 'metrics.sock');
      const ours = await startPeer('highrate', [], { socket });
      peers.push(ours);
      assert.match(await ours.metrics(), /^requests_web 0$/m);
      const status = await new Promise<number>((resolve, reject) => {
        http.get({ socketPath: socket, path: '/other' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
      });
      assert.equal(status, 404);
      await ours.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--storage-backend: a CHP store class keeps the routes across a restart', () => {
  let dir: string;
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let peer: Peer | undefined;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chp-store-'));
    backend = await startBackend();
    // A store in CHP's shape (CommonJS class, promise methods) keeping its table in a JSON file.
    fs.writeFileSync(path.join(dir, 'file-store.cjs'), `
const fs = require('node:fs');
module.exports = class FileStore {
  constructor(options) { this.file = process.env.ROUTE_FILE; this.sawOptions = typeof options === 'object'; }
  read() { try { return JSON.parse(fs.readFileSync(this.file, 'utf8')); } catch { return {}; } }
  async getAll() { return this.read(); }
  async add(path, data) { const all = this.read(); all[path] = data; fs.writeFileSync(this.file, JSON.stringify(all)); }
  async update(path, data) { const all = this.read(); Object.assign(all[path], data); fs.writeFileSync(this.file, JSON.stringify(all)); }
  async remove(path) { const all = this.read(); delete all[path]; fs.writeFileSync(this.file, JSON.stringify(all)); }
};
`);
  });
  after(async () => {
    await peer?.stop();
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Peer> {
    const port = await freePort();
    const apiPort = await freePort();
    const child = spawn(process.execPath, [path.join(REPO, 'dist/src/proxy/main.js'), '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1',
      '--api-port', String(apiPort), '--log-level', 'error', '--storage-backend', path.join(dir, 'file-store.cjs')],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN, ROUTE_FILE: path.join(dir, 'routes.json') }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const p: Peer = {
      publicUrl: `http://127.0.0.1:${port}`,
      apiUrl,
      metrics: () => Promise.reject(new Error('no metrics')),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
    await waitFor(async () => (await call(`${apiUrl}/api/routes`, { headers: AUTH })).status === 200, 15_000);
    return p;
  }

  test('routes added and deleted through the API are in the store; a new process routes them at once', async () => {
    peer = await start();
    for (const prefix of ['/user/alice', '/user/bob']) {
      assert.equal((await call(`${peer.apiUrl}/api/routes${prefix}`, { method: 'POST', headers: AUTH, body: JSON.stringify({ target: backend.url, owner: prefix.slice(6) }) })).status, 201);
    }
    assert.equal((await call(`${peer.apiUrl}/api/routes/user/bob`, { method: 'DELETE', headers: AUTH })).status, 204);
    const stored = await waitFor(async () => {
      const all = JSON.parse(fs.readFileSync(path.join(dir, 'routes.json'), 'utf8'));
      return Object.keys(all).length === 1 ? all : undefined;
    });
    assert.deepEqual(stored, { '/user/alice': { target: backend.url, owner: 'alice' } });
    await peer.stop();
    peer = await start();
    const routes = JSON.parse((await call(`${peer.apiUrl}/api/routes`, { headers: AUTH })).body);
    assert.deepEqual(Object.keys(routes), ['/user/alice']);
    assert.equal(routes['/user/alice'].target, backend.url);
    const res = await call(`${peer.publicUrl}/user/alice/tree`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
  });

  test('a module that is not a store is refused at start (exit 1, naming it)', async () => {
    fs.writeFileSync(path.join(dir, 'not-a-store.cjs'), 'module.exports = { hello: 1 };');
    const child = spawn(process.execPath, [path.join(REPO, 'dist/src/proxy/main.js'), '--port', '0', '--storage-backend', path.join(dir, 'not-a-store.cjs')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(stderr, /--storage-backend .*not-a-store\.cjs does not export a store class/);
  });
});
