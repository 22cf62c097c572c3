/** The proxy as its own process: flags, pid file, graceful SIGTERM, no secret in its logs, the token from a file. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ProxyClient } from '../../src/proxy/index.js';
import { startBackend, startFakeHub, type Backend, type FakeHub } from './peers.js';
import { call, openWs, REPO, roundTrip, waitFor } from './tools.js';

const MAIN = path.join(REPO, 'dist/src/proxy/main.js');
const TOKEN = 'process-token';

describe('proxy process (dist/src/proxy/main.js)', () => {
  let dir: string;
  let hub: FakeHub;
  let backend: Backend;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-proxy-'));
    hub = await startFakeHub(TOKEN, { 'alice-session': 'alice' });
    backend = await startBackend('nb');
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all([hub.close(), backend.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--help prints usage and exits 0; an unknown flag exits 2', () => {
    const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: highrate-proxy \[options\]/);
    assert.match(help.stdout, /--authorize-url <url>/);
    assert.match(help.stdout, /--allow-origin <url>/);
    assert.match(help.stdout, /--auth-token-file <file>/);
    const bad = spawnSync(process.execPath, [MAIN, '--nope'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--nope'/);
  });

  test('a port in use: exits 1 with the reason, and leaves no pid file', async () => {
    const pidFile = path.join(dir, 'failed.pid');
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const r = spawnSync(process.execPath, [MAIN, '--port', '0', '--ip', '127.0.0.1', '--api-port', '0', '--dask-port', String(port), '--dask-ip', '127.0.0.1', '--pid-file', pidFile], { encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`"msg":"proxy could not start","error":"listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}"`));
      assert.equal(fs.existsSync(pidFile), false);
    } finally {
      busy.close();
    }
  });

  test('runs with CHP-style flags, serves, writes and removes its pid file, stops on SIGTERM', async () => {
    const pidFile = path.join(dir, 'proxy.pid');
    child = spawn(process.execPath, [MAIN, '--port', '0', '--ip', '127.0.0.1', '--api-port', '0', '--api-ip', '127.0.0.1',
      '--default-target', hub.url, '--authorize-url', hub.authorizeUrl, '--pid-file', pidFile, '--log-level', 'debug'],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const listening = await waitFor(async () => {
      const line = stderr.split('\n').find((l) => l.includes('"proxy listening"'));
      return line ? (JSON.parse(line) as { publicPort: number; apiPort: number }) : undefined;
    });
    assert.equal(fs.readFileSync(pidFile, 'utf8'), String(child.pid));

    const client = new ProxyClient(`http://127.0.0.1:${listening.apiPort}`, TOKEN);
    try {
      await client.addRoute('/user/alice/', backend.url, { user: 'alice', server_name: '', upstream_token: 'UPSTREAM-SECRET-1234' });
      assert.deepEqual(Object.keys(await client.getRoutes()).sort(), ['/', '/user/alice']);
    } finally {
      client.close();
    }
    const base = `http://127.0.0.1:${listening.publicPort}`;
    assert.equal((await call(`${base}/hub/home`)).headers['x-backend'], 'hub');
    const ok = await call(`${base}/user/alice/x?token=QUERYSECRET`, { headers: { cookie: 'highrate-session=alice-session' } });
    assert.equal(ok.status, 200);
    const ws = await openWs(`ws://127.0.0.1:${listening.publicPort}/user/alice/ws?token=alice-session`);
    assert.equal(await roundTrip(ws, 'x'), 'x');

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(pidFile), false, 'pid file removed');
    ws.terminate();
    assert.match(stderr, /"msg":"proxy closed"/);
    for (const secret of ['UPSTREAM-SECRET-1234', 'alice-session', TOKEN]) {
      assert.ok(!stderr.includes(secret), `${secret} must not be logged`);
    }
  });

  test('--auth-token-file: the token comes from the file, not from CONFIGPROXY_AUTH_TOKEN', async () => {
    const tokenFile = path.join(dir, 'proxy-token');
    fs.writeFileSync(tokenFile, 'file-token-77\n', { mode: 0o600 });
    const fromFile = spawn(process.execPath, [MAIN, '--port', '0', '--ip', '127.0.0.1', '--api-port', '0', '--auth-token-file', tokenFile, '--log-level', 'info'],
      { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'env-token' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    fromFile.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => fromFile.once('exit', (code) => resolve(code)));
    try {
      const listening = await waitFor(async () => {
        const line = stderr.split('\n').find((l) => l.includes('"proxy listening"'));
        return line ? (JSON.parse(line) as { apiPort: number }) : undefined;
      });
      const api = `http://127.0.0.1:${listening.apiPort}/api/routes`;
      assert.equal((await call(api, { headers: { authorization: 'token file-token-77' } })).status, 200);
      assert.equal((await call(api, { headers: { authorization: 'token env-token' } })).status, 403);
    } finally {
      fromFile.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.ok(!stderr.includes('file-token-77'), 'the token is not logged');
  });

  test('--auth-token-file unreadable or empty: exits 1 with the reason, listens nowhere, leaves no pid file', () => {
    const pidFile = path.join(dir, 'token.pid');
    const missing = path.join(dir, 'no-such-token');
    const empty = path.join(dir, 'empty-token');
    fs.writeFileSync(empty, '\n');
    for (const [file, reason] of [
      [missing, `Cannot read the route API token from --auth-token-file ${missing}: no such file.`],
      [empty, `The --auth-token-file ${empty} is empty; it must hold the route API token.`],
    ] as const) {
      const r = spawnSync(process.execPath, [MAIN, '--port', '0', '--api-port', '0', '--auth-token-file', file, '--pid-file', pidFile],
        { encoding: 'utf8', env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: 'env-token' }, timeout: 10_000 });
      assert.equal(r.status, 1, r.stderr);
      const line = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as { msg: string; error: string };
      assert.deepEqual({ msg: line.msg, error: line.error }, { msg: 'proxy could not start', error: reason });
      assert.ok(!r.stderr.includes('"proxy listening"'));
      assert.equal(fs.existsSync(pidFile), false);
    }
  });
});
