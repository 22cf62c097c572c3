/**
 * configurable-http-proxy 5's command line, over the wire: each forwarding and error flag is given
 * to highrate's proxy process AND to the real CHP 5.3 (devDependency), against the same backend,
 * and both must answer the same. Then: every flag CHP's own --help lists is accepted by highrate
 * (it works, or refuses to start naming the flag, exit 1), never "Unknown option".
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { parseProxyArgs, RefusedFlag } from '../../src/proxy/options.js';
import { call, freePort, openWs, REPO, roundTrip, waitFor, type Answer } from './tools.js';

const TOKEN = 'chp-flags-token';
const HIGHRATE_MAIN = path.join(REPO, 'dist/src/proxy/main.js');
const CHP_BIN = path.join(REPO, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy');

interface Peer {
  readonly publicUrl: string;
  readonly publicPort: number;
  addRoute(prefix: string, target: string): Promise<void>;
  getRoutes(): Promise<Record<string, Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** Starts highrate's proxy process or CHP with the same flags, on free ports; resolves once its API answers. */
async function startPeer(kind: 'highrate' | 'chp', flags: string[]): Promise<Peer> {
  const port = await freePort();
  const apiPort = await freePort();
  const args = ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--log-level', 'error', ...flags];
  const child: ChildProcess = kind === 'highrate'
    ? spawn(process.execPath, [HIGHRATE_MAIN, ...args], { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, [CHP_BIN, ...args], { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const auth = { authorization: `token ${TOKEN}` };
  try {
    await waitFor(async () => (await call(`${apiUrl}/api/routes`, { headers: auth })).status === 200, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${kind} did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    publicUrl: `http://127.0.0.1:${port}`,
    publicPort: port,
    async addRoute(prefix, target) {
      const res = await call(`${apiUrl}/api/routes${prefix}`, { method: 'POST', headers: auth, body: JSON.stringify({ target }) });
      assert.equal(res.status, 201, `${kind} POST /api/routes${prefix}: ${res.body}`);
    },
    async getRoutes() {
      return JSON.parse((await call(`${apiUrl}/api/routes`, { headers: auth })).body);
    },
    stop,
  };
}

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * The backend: answers `{url, headers}` as JSON; `/slow…` answers after 1.5 s; WebSocket echo.
 * Also the error target: `/errors/<code>?url=…` answers `error page <code>` as text/html.
 */
async function startEcho(): Promise<{ url: string; seen: Seen[]; upgrades: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const upgrades: Seen[] = [];
  let port = 0;
  const server = http.createServer(function echo(req, res) {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    if ((req.url ?? '').startsWith('/errors/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`error page ${req.url}`);
      return;
    }
    const answer = () => {
      const body = JSON.stringify({ url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if ((req.url ?? '').includes('/redirect')) {
      // Location absolute to this backend's own host:port, or relative (?to=relative).
      const here = `http://${req.headers['x-test-target-host'] ?? `127.0.0.1:${port}`}`;
      res.writeHead(302, { location: (req.url ?? '').includes('relative') ? '/landing' : `${here}/landing?from=1`, 'content-length': 0 });
      res.end();
      return;
    }
    if ((req.url ?? '').includes('/slow')) setTimeout(answer, 1500);
    else answer();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', function wsEcho(ws, req) {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    ws.on('message', (data) => ws.send(data.toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    upgrades,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What the backend saw for one proxied request. */
function echoed(res: Answer): Seen {
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Seen;
}

/** A request whose connection the proxy drops: resolves with the error code instead of an answer. */
function dropped(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => reject(new Error(`answered ${res.statusCode}`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

let echo: Awaited<ReturnType<typeof startEcho>>;
let errorDir: string;
before(async () => {
  echo = await startEcho();
  errorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-error-pages-'));
  fs.writeFileSync(path.join(errorDir, '404.html'), '<p>custom 404</p>\n');
  fs.writeFileSync(path.join(errorDir, 'error.html'), '<p>custom error</p>\n');
});
after(async () => {
  await echo.close();
  fs.rmSync(errorDir, { recursive: true, force: true });
});

for (const kind of ['highrate', 'chp'] as const) {
  describe(`CHP 5 flags over the wire: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    /** Starts the peer with `flags`, runs `body`, always stops it. */
    async function withPeer(flags: string[], body: (p: Peer) => Promise<void>): Promise<void> {
      const peer = await startPeer(kind, flags);
      try {
        await body(peer);
      } finally {
        await peer.stop();
      }
    }

    test('defaults: X-Forwarded-* added, target path prepended, prefix included, Host kept', () =>
      withPeer([], async (p) => {
        await p.addRoute('/user/a', `${echo.url}/base`);
        const seen = echoed(await call(`${p.publicUrl}/user/a/tree?x=1`, { headers: { 'x-forwarded-for': '10.1.1.1' } }));
        assert.equal(seen.url, '/base/user/a/tree?x=1');
        assert.equal(seen.headers['x-forwarded-for'], '10.1.1.1,127.0.0.1');
        assert.equal(seen.headers['x-forwarded-proto'], 'http');
        assert.equal(seen.headers['x-forwarded-port'], String(p.publicPort));
        assert.equal(seen.headers.host, `127.0.0.1:${p.publicPort}`);
      }));

    test('--no-x-forward: no X-Forwarded-* added (the client\'s own pass unchanged)', () =>
      withPeer(['--no-x-forward'], async (p) => {
        await p.addRoute('/', echo.url);
        const seen = echoed(await call(`${p.publicUrl}/x`, { headers: { 'x-forwarded-for': '10.1.1.1' } }));
        assert.equal(seen.headers['x-forwarded-for'], '10.1.1.1');
        assert.equal(seen.headers['x-forwarded-proto'], undefined);
        assert.equal(seen.headers['x-forwarded-port'], undefined);
        assert.equal(seen.headers['x-forwarded-host'], undefined);
      }));

    test('--no-prepend-path: the target\'s path is not put before the request path', () =>
      withPeer(['--no-prepend-path'], async (p) => {
        await p.addRoute('/user/a', `${echo.url}/base`);
        assert.equal(echoed(await call(`${p.publicUrl}/user/a/tree?x=1`)).url, '/user/a/tree?x=1');
      }));

    test('--no-include-prefix: the route prefix is stripped, for HTTP and WebSocket', () =>
      withPeer(['--no-include-prefix'], async (p) => {
        await p.addRoute('/user/a', `${echo.url}/base`);
        assert.equal(echoed(await call(`${p.publicUrl}/user/a/tree?x=1`)).url, '/base/tree?x=1');
        const before = echo.upgrades.length;
        const ws = await openWs(`ws://127.0.0.1:${p.publicPort}/user/a/api/kernels/k1/channels?s=1`);
        try {
          assert.equal(await roundTrip(ws, 'hello'), 'hello');
          assert.equal(echo.upgrades[before]!.url, '/base/api/kernels/k1/channels?s=1');
        } finally {
          ws.terminate();
        }
      }));

    test('--custom-header (repeatable, spaces trimmed): set on every proxied request, replacing the client\'s', () =>
      withPeer(['--custom-header', 'X-One: 1', '--custom-header', ' x-two : two words '], async (p) => {
        await p.addRoute('/', echo.url);
        const seen = echoed(await call(`${p.publicUrl}/h`, { headers: { 'x-one': 'client' } }));
        assert.equal(seen.headers['x-one'], '1');
        assert.equal(seen.headers['x-two'], 'two words');
      }));

    test('--change-origin: the target\'s host:port is sent as Host', () =>
      withPeer(['--change-origin'], async (p) => {
        await p.addRoute('/', echo.url);
        assert.equal(echoed(await call(`${p.publicUrl}/h`)).headers.host, new URL(echo.url).host);
      }));

    test('--auto-rewrite and --protocol-rewrite: redirects to the target itself point at the proxy', async () => {
      for (const [flags, expected] of [
        [[], (_p: Peer) => `${echo.url}/landing?from=1`],
        [['--auto-rewrite'], (p: Peer) => `${p.publicUrl}/landing?from=1`],
        [['--protocol-rewrite', 'https'], (_p: Peer) => `${echo.url.replace('http:', 'https:')}/landing?from=1`],
        [['--auto-rewrite', '--protocol-rewrite', 'https'], (p: Peer) => `${p.publicUrl.replace('http:', 'https:')}/landing?from=1`],
      ] as const) {
        await withPeer([...flags], async (p) => {
          await p.addRoute('/', echo.url);
          const res = await call(`${p.publicUrl}/redirect`);
          assert.equal(res.status, 302);
          assert.equal(res.headers.location, expected(p), flags.join(' '));
          // Relative, or to another host: unchanged.
          assert.equal((await call(`${p.publicUrl}/redirect?relative`)).headers.location, '/landing');
          assert.equal((await call(`${p.publicUrl}/redirect`, { headers: { 'x-test-target-host': 'elsewhere.example' } })).headers.location, 'http://elsewhere.example/landing?from=1');
        });
      }
    });

    test('--host-routing: the Host (without port) is the first path segment of the route', () =>
      withPeer(['--host-routing', '--error-path', errorDir], async (p) => {
        await p.addRoute('/a.example', `${echo.url}/site-a`);
        await p.addRoute('/b.example/user', `${echo.url}/site-b`);
        const routes = await p.getRoutes();
        assert.equal(routes['/a.example']!.host, 'a.example');
        assert.equal(routes['/b.example/user']!.host, 'b.example');
        assert.equal(echoed(await call(`${p.publicUrl}/tree`, { headers: { host: 'a.example:8000' } })).url, '/site-a/tree');
        assert.equal(echoed(await call(`${p.publicUrl}/user/x`, { headers: { host: 'b.example' } })).url, '/site-b/user/x');
        const none = await call(`${p.publicUrl}/tree`, { headers: { host: 'c.example' } });
        assert.equal(none.status, 404);
        assert.equal(none.body, '<p>custom 404</p>\n');
      }));

    test('--error-path: <code>.html, else error.html, as text/html with the proxy\'s status', () =>
      withPeer(['--error-path', errorDir], async (p) => {
        await p.addRoute('/gone', 'http://127.0.0.1:9');
        const missing = await call(`${p.publicUrl}/nope`);
        assert.deepEqual([missing.status, missing.headers['content-type'], missing.body], [404, 'text/html', '<p>custom 404</p>\n']);
        const down = await call(`${p.publicUrl}/gone/x`);
        assert.deepEqual([down.status, down.headers['content-type'], down.body], [503, 'text/html', '<p>custom error</p>\n']);
      }));

    test('--error-target: GET <target>/<code>?url=<request url>, its body with the proxy\'s status', () =>
      withPeer(['--error-target', `${echo.url}/errors`], async (p) => {
        await p.addRoute('/gone', 'http://127.0.0.1:9');
        const missing = await call(`${p.publicUrl}/nope/a b?q=1`);
        assert.equal(missing.status, 404);
        assert.equal(missing.headers['content-type'], 'text/html; charset=utf-8');
        assert.equal(missing.body, 'error page /errors/404?url=%2Fnope%2Fa%2520b%3Fq%3D1');
        const down = await call(`${p.publicUrl}/gone/x`);
        assert.deepEqual([down.status, down.body], [503, 'error page /errors/503?url=%2Fgone%2Fx']);
      }));

    test('--error-target unreachable: the default error page instead', () =>
      withPeer(['--error-target', 'http://127.0.0.1:9/errors'], async (p) => {
        const missing = await call(`${p.publicUrl}/nope`, { headers: { accept: 'text/html' } });
        assert.equal(missing.status, 404);
      }));

    test('no error flags, a browser: an HTML page titled as CHP\'s', () =>
      withPeer([], async (p) => {
        await p.addRoute('/gone', 'http://127.0.0.1:9');
        const missing = await call(`${p.publicUrl}/nope`, { headers: { accept: 'text/html,application/xhtml+xml' } });
        assert.equal(missing.status, 404);
        assert.match(String(missing.headers['content-type']), /^text\/html/);
        assert.match(missing.body, /<title>404: Not Found<\/title>/);
        const down = await call(`${p.publicUrl}/gone/x`, { headers: { accept: 'text/html' } });
        assert.equal(down.status, 503);
        assert.match(down.body, /<title>503: Proxy Target Missing<\/title>/);
      }));

    test('--proxy-timeout: a target silent that long is a 503; a quick one is not affected', () =>
      withPeer(['--proxy-timeout', '300'], async (p) => {
        await p.addRoute('/', echo.url);
        const started = Date.now();
        const slow = await call(`${p.publicUrl}/slow`, { headers: { accept: 'text/html' } });
        assert.equal(slow.status, 503);
        assert.ok(Date.now() - started < 1400, `answered after ${Date.now() - started} ms`);
        assert.equal(echoed(await call(`${p.publicUrl}/quick`)).url, '/quick');
      }));

    test('--timeout: a client connection idle that long is dropped without an answer', () =>
      withPeer(['--timeout', '300'], async (p) => {
        await p.addRoute('/', echo.url);
        const started = Date.now();
        assert.equal(await dropped(`${p.publicUrl}/slow`), 'ECONNRESET');
        assert.ok(Date.now() - started < 1400, `dropped after ${Date.now() - started} ms`);
        assert.equal(echoed(await call(`${p.publicUrl}/quick`)).url, '/quick');
      }));

    test('an invalid --custom-header: exit 1 explaining the colon', () => {
      const bin = kind === 'highrate' ? HIGHRATE_MAIN : CHP_BIN;
      const r = spawnSync(process.execPath, [bin, '--custom-header', 'NoColonHere', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /A colon was expected in (--)?custom.header: NoColonHere/);
    });

    test('--error-target with --error-path: exit 1, pick one', () => {
      const bin = kind === 'highrate' ? HIGHRATE_MAIN : CHP_BIN;
      const r = spawnSync(process.execPath, [bin, '--error-target', 'http://127.0.0.1:9', '--error-path', errorDir, '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr + r.stdout, /Cannot specify both (--)?error-target and (--)?error-path/);
    });
  });
}

describe('every flag of configurable-http-proxy 5.3 --help is accepted by highrate proxy', () => {
  const help = spawnSync(process.execPath, [CHP_BIN, '--help'], { encoding: 'utf8' }).stdout;
  const flags = [...new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)( <[^>]+>)?/gm)].map((m) => [m[1]!, m[2] !== undefined] as const))]
    .filter(([f]) => f !== '--help' && f !== '--version');

  test('CHP\'s help lists its flags (the list this test checks is not empty)', () => {
    assert.equal(flags.length, 48, `found ${flags.length} flags in CHP's --help`);
    assert.ok(flags.some(([f]) => f === '--no-x-forward'));
  });

  test('each parses: it works, or it is refused naming the flag (exit 1), never an unknown option', () => {
    const refused: string[] = [];
    for (const [flag, takesValue] of flags) {
      const value = flag.endsWith('port') || flag.endsWith('timeout') || flag === '--redirect-to' ? '8123'
        : flag === '--custom-header' ? 'X-A: b' : flag === '--log-level' ? 'info' : flag.endsWith('target') ? 'http://127.0.0.1:9' : '/tmp/x';
      const argv = takesValue ? [flag, value] : [flag];
      try {
        parseProxyArgs(argv, {});
      } catch (err) {
        assert.ok(err instanceof RefusedFlag, `${argv.join(' ')}: ${(err as Error).message}`);
        assert.ok(err.message.includes(flag), `${argv.join(' ')}: the refusal names the flag: ${err.message}`);
        refused.push(flag);
      }
    }
    // Refused only given alone (each needs its partner flags, as in CHP, where a lone --ssl-key
    // fails reading the certificate): the TLS flags and --redirect-port. Everything else works.
    assert.deepEqual(refused, [
      '--ssl-key', '--ssl-cert', '--ssl-ca', '--ssl-request-cert', '--ssl-reject-unauthorized', '--ssl-protocol', '--ssl-ciphers',
      '--ssl-allow-rc4', '--ssl-dhparam', '--api-ssl-key', '--api-ssl-cert', '--api-ssl-ca', '--api-ssl-request-cert',
      '--api-ssl-reject-unauthorized', '--redirect-port',
    ].filter((f) => flags.some(([g]) => g === f)));
  });

  test('a refused combination stops the process with exit 1 and the reason, not the usage', () => {
    const r = spawnSync(process.execPath, [HIGHRATE_MAIN, '--metrics-socket', '/tmp/m.sock', '--metrics-port', '9090', '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, '--metrics-socket cannot be used with --metrics-port: it replaces the address.\n');
  });

  test('JupyterHub\'s own command line starts, and the bin alias runs it', async () => {
    const port = await freePort();
    const apiPort = await freePort();
    // What JupyterHub 3–5 pass to ConfigurableHTTPProxy.command (plus --log-level from its debug setting).
    const child = spawn(process.execPath, [path.join(REPO, 'bin/configurable-http-proxy.js'), '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1',
      '--api-port', String(apiPort), '--error-target', 'http://127.0.0.1:8081/hub/error', '--log-level', 'WARN'],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
    try {
      const res = await waitFor(async () => {
        const r = await call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } });
        return r.status === 200 ? r : undefined;
      });
      assert.deepEqual(JSON.parse(res.body), {});
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  test('zero-to-jupyterhub\'s proxy pod command line (`--flag=value`, empty addresses = all interfaces)', async () => {
    const port = await freePort();
    const apiPort = await freePort();
    const hub = await startEcho();
    const child = spawn(process.execPath, [path.join(REPO, 'bin/configurable-http-proxy.js'), '--ip=', '--api-ip=', `--api-port=${apiPort}`,
      `--default-target=${hub.url}`, `--error-target=${hub.url}/hub/error`, `--port=${port}`],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN, HIGHRATE_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    try {
      const res = await waitFor(async () => {
        const r = await call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } });
        return r.status === 200 ? r : undefined;
      });
      assert.deepEqual(Object.keys(JSON.parse(res.body)), ['/']);
      assert.equal(echoed(await call(`http://127.0.0.1:${port}/hub/home`)).url, '/hub/home');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await hub.close();
    }
  });
});
