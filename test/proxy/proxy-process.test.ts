/**
 * The proxy as the hub starts it (`ensureProxy`, src/hub/proxy-process.ts): a minimal environment
 * with none of the hub's secrets, the route API token in a file rather than in an environment,
 * the public origin allowed to use the session cookie, and reuse only of an identical proxy.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureProxy, isAlive, type ProxyProcessOptions } from '../../src/hub/proxy-process.js';
import { loadSecret } from '../../src/hub/secrets.js';
import { startBackend, startFakeHub, type Backend, type FakeHub } from './peers.js';
import { call, freePort, waitFor } from './tools.js';

const ADMIN_PASSWORD = 'hub-admin-password-5e1b';
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'HIGHRATE_LOG_LEVEL', 'NODE_EXTRA_CA_CERTS'];

/** `/proc/<pid>/environ` as a map. */
function environ(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

describe('ensureProxy: the proxy process of the hub', () => {
  let dataDir: string;
  let token: string;
  let hub: FakeHub;
  let backend: Backend;
  let opts: ProxyProcessOptions;
  const started = new Set<number>();
  const saved = { admin: process.env.HIGHRATE_ADMIN_PASSWORD, other: process.env.HIGHRATE_OIDC_CLIENT_SECRET };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-proxy-process-'));
    token = loadSecret(dataDir, 'proxy-token');
    hub = await startFakeHub(token, { 'alice-session': 'alice' });
    backend = await startBackend('nb', { record: true });
    // Secrets the hub process holds in its environment; the proxy must inherit none of them.
    process.env.HIGHRATE_ADMIN_PASSWORD = ADMIN_PASSWORD;
    process.env.HIGHRATE_OIDC_CLIENT_SECRET = 'client-secret-0c4f';
    opts = {
      dataDir, ip: '127.0.0.1', port: await freePort(), apiPort: await freePort(), hubUrl: hub.url, token, dask: null,
      tokenFile: path.join(dataDir, 'secrets', 'proxy-token'), publicUrl: 'https://hub.example.org/',
    };
  });
  after(async () => {
    for (const pid of started) {
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await waitFor(async () => [...started].every((pid) => !isAlive(pid)), 5_000).catch(() => {
      for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    for (const [name, value] of [['HIGHRATE_ADMIN_PASSWORD', saved.admin], ['HIGHRATE_OIDC_CLIENT_SECRET', saved.other]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all([hub.close(), backend.close()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('with tokenFile: a minimal environment (no token, no hub secret), the token file and the public origin on its command line', async () => {
    const { client, pid, reused } = await ensureProxy(opts);
    started.add(pid);
    try {
      assert.equal(reused, false);
      const env = environ(pid);
      const expected: Record<string, string> = { HIGHRATE_COMPONENT: 'proxy' };
      for (const name of INHERITED) if (process.env[name] !== undefined) expected[name] = process.env[name]!;
      assert.deepEqual(env, expected);
      assert.equal(env.CONFIGPROXY_AUTH_TOKEN, undefined);
      assert.equal(env.HIGHRATE_ADMIN_PASSWORD, undefined);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.deepEqual(cmdline.slice(cmdline.indexOf('--auth-token-file'), cmdline.indexOf('--auth-token-file') + 4), ['--auth-token-file', opts.tokenFile, '--allow-origin', 'https://hub.example.org']);
      assert.ok(!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(token), 'the token is not on the command line');

      // The route API answers the token from the file (ensureProxy's client is using it), and the
      // public origin may use the cookie although the Host is the proxy's own address.
      await client.addRoute('/user/alice/', backend.url, { user: 'alice', server_name: '', upstream_token: 'nb-upstream' });
      const base = `http://127.0.0.1:${opts.port}`;
      const own = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { cookie: 'highrate-session=alice-session', origin: 'https://hub.example.org' } });
      assert.equal(own.status, 200);
      assert.equal(JSON.parse(own.body).headers.authorization, 'token nb-upstream');
      const evil = await call(`${base}/user/alice/api/kernels/echo`, { method: 'POST', body: '{}', headers: { cookie: 'highrate-session=alice-session', origin: 'https://evil.example.org' } });
      assert.equal(evil.status, 403);
      assert.equal(JSON.parse(evil.body).code, 'ORIGIN_REFUSED');
    } finally {
      client.close();
    }

    const again = await ensureProxy(opts);
    again.client.close();
    assert.deepEqual({ pid: again.pid, reused: again.reused }, { pid, reused: true }, 'the same configuration reuses the running proxy');
  });

  test('without tokenFile (older call sites): the token travels in CONFIGPROXY_AUTH_TOKEN, still nothing else; the previous proxy is replaced', async () => {
    const { tokenFile: _file, publicUrl: _url, ...legacy } = opts;
    const previous = [...started].at(-1)!;
    const { client, pid, reused } = await ensureProxy(legacy);
    started.add(pid);
    client.close();
    assert.equal(reused, false);
    assert.notEqual(pid, previous);
    assert.equal(isAlive(previous), false, 'the proxy of the other configuration was stopped');
    const env = environ(pid);
    assert.equal(env.CONFIGPROXY_AUTH_TOKEN, token);
    assert.equal(env.HIGHRATE_COMPONENT, 'proxy');
    assert.deepEqual(Object.keys(env).filter((name) => name !== 'CONFIGPROXY_AUTH_TOKEN' && name !== 'HIGHRATE_COMPONENT' && !INHERITED.includes(name)), []);
    assert.ok(!Object.values(env).some((value) => value.includes(ADMIN_PASSWORD)));
  });
});
