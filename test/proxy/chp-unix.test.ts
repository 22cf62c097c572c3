/**
 * Unix sockets, as configurable-http-proxy 5: `--socket` and `--api-socket` to listen, and
 * `http+unix://<percent-encoded path>/…` route targets, over the wire, for highrate's proxy and
 * for CHP 5.3 itself with the same flags.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { REPO, roundTrip, waitFor, type Answer } from './tools.js';

const TOKEN = 'chp-unix-token';
const BINS = {
  highrate: path.join(REPO, 'dist/src/proxy/main.js'),
  chp: path.join(REPO, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'),
};

/** One request over a Unix socket. */
function callUnix(socketPath: string, urlPath: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

let dir: string;
let backendSocket: string;
let backend: http.Server;
before(async () => {
  // Short: a Unix socket path is limited to ~107 bytes.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-unix-'));
  backendSocket = path.join(dir, 'backend.sock');
  backend = http.createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({ url: req.url, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  new WebSocketServer({ server: backend }).on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${m.toString()}`)));
  await new Promise<void>((resolve) => backend.listen(backendSocket, resolve));
});
after(async () => {
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const kind of ['highrate', 'chp'] as const) {
  describe(`Unix sockets: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    test('--socket and --api-socket listen; an http+unix:// target is proxied, HTTP and WebSocket', async () => {
      const publicSocket = path.join(dir, `${kind}-public.sock`);
      const apiSocket = path.join(dir, `${kind}-api.sock`);
      const child = spawn(process.execPath, [BINS[kind], '--socket', publicSocket, '--api-socket', apiSocket, '--log-level', 'error'],
        { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const auth = { authorization: `token ${TOKEN}` };
      try {
        await waitFor(async () => (await callUnix(apiSocket, '/api/routes', { headers: auth })).status === 200);
        const target = `http+unix://${encodeURIComponent(backendSocket)}/base`;
        const added = await callUnix(apiSocket, '/api/routes/user/a', { method: 'POST', headers: auth, body: JSON.stringify({ target }) });
        assert.equal(added.status, 201, added.body);
        const res = await callUnix(publicSocket, '/user/a/tree?x=1');
        assert.equal(res.status, 200, res.body);
        assert.equal(JSON.parse(res.body).url, '/base/user/a/tree?x=1');
        const ws = new WebSocket('ws+unix://' + publicSocket + ':/user/a/ws');
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        try {
          assert.equal(await roundTrip(ws, 'hi'), 'echo hi');
        } finally {
          ws.terminate();
        }
        const routes = JSON.parse((await callUnix(apiSocket, '/api/routes', { headers: auth })).body);
        assert.equal(routes['/user/a'].target, target);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });

    test('--socket with --port: exit 1, the two cannot be combined', () => {
      const r = spawnSync(process.execPath, [BINS[kind], '--socket', path.join(dir, 'x.sock'), '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /--socket .*cannot be used with .*--port/);
    });
  });
}
