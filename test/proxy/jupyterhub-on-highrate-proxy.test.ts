/**
 * A real JupyterHub runs on highrate's proxy: Debian's JupyterHub 3.0 with
 * `c.ConfigurableHTTPProxy.command` set to highrate's `configurable-http-proxy` bin alias starts it,
 * adds its routes, a user logs in (DummyAuthenticator) and reaches a spawned
 * jupyterhub-singleuser through it; and, run outside JupyterHub as zero-to-jupyterhub runs its
 * proxy pod, it survives hub restarts with the routes kept.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CookieJar, http, serverLogin } from '../helpers/http.js';
import { JUPYTERHUB, JupyterHub3 } from '../helpers/jupyterhub.js';
import { REPO, waitFor } from './tools.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JupyterHub 3.0 with ConfigurableHTTPProxy.command = highrate\'s proxy', { skip: existsSync(JUPYTERHUB) ? false : `${JUPYTERHUB} is not installed (scripts/install-deps.sh installs Debian's jupyterhub)` }, () => {
  let hub: JupyterHub3;
  const jar = new CookieJar();

  before(async () => {
    hub = await JupyterHub3.start(os.tmpdir(), {
      proxyCommand: [process.execPath, path.join(REPO, 'bin/configurable-http-proxy.js')],
      keepProxyOnStop: true,
    });
  });
  after(() => hub?.close());

  /** The routing table as the proxy's API shows it (with JupyterHub's proxy token). */
  async function routes(): Promise<Record<string, Record<string, unknown>>> {
    const r = await http('GET', `http://127.0.0.1:${hub.apiPort}/api/routes`, { headers: { authorization: `token ${hub.proxyToken}` } });
    assert.equal(r.status, 200, r.text);
    return r.json();
  }

  test('the hub started highrate\'s proxy and added its own route', async () => {
    const pid = hub.proxyPid();
    assert.ok(pid !== null, 'JupyterHub recorded the proxy pid');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes(path.join(REPO, 'bin/configurable-http-proxy.js')), cmdline.join(' '));
    const table = await routes();
    assert.deepEqual(Object.keys(table), ['/']);
    assert.equal(table['/']!.target, `http://127.0.0.1:${hub.hubPort}`);
    assert.equal(table['/']!.jupyterhub, true);
  });

  test('a user logs in through the proxy and reaches the server it spawned', async () => {
    let r = await http('GET', `${hub.base}/hub/login`, { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200);
    jar.take(r.headers['set-cookie']);
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(r.text)?.[1];
    const form = new URLSearchParams({ username: 'alice', password: 'any', ...(xsrf ? { _xsrf: xsrf } : {}) }).toString();
    r = await http('POST', `${hub.base}/hub/login?next=%2Fhub%2Fhome`, { raw: form, headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 302, r.text.slice(0, 300));
    jar.take(r.headers['set-cookie']);
    assert.ok(jar.get('jupyterhub-session-id'), 'logged in');

    const admin = { authorization: `token ${hub.adminToken}` };
    r = await http('POST', `${hub.base}/hub/api/users/alice/server`, { headers: admin, body: {} });
    assert.ok(r.status === 201 || r.status === 202, `${r.status} ${r.text}`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const u = (await http('GET', `${hub.base}/hub/api/users/alice`, { headers: admin })).json();
      if (u.servers?.['']?.ready) break;
      if (Date.now() > deadline) throw new Error(`server not ready:\n${hub.logTail(30)}`);
      await sleep(200);
    }
    assert.equal((await routes())['/user/alice']?.target !== undefined, true, 'the hub added the user route');

    // The browser's way in: the server sends it through the hub's OAuth flow, all via the proxy.
    const page = await serverLogin(hub.base, jar, '/user/alice/', 'tree');
    assert.equal(page.status, 200, page.text.slice(0, 300));
    assert.match(page.text, /<title>Home Page - Select or create a notebook<\/title>/);
    assert.ok(jar.get('jupyterhub-user-alice'), 'the server set its own login cookie');
    const status = await http('GET', `${hub.base}/user/alice/api/status`, { headers: { cookie: jar.header() } });
    assert.equal(status.status, 200, status.text);
    assert.equal(typeof status.json().started, 'string');
  });

  test('while the hub is down the proxy keeps serving the user; restarted, JupyterHub replaces its proxy (as with CHP) and re-adds the routes', async () => {
    const pid = hub.proxyPid();
    await hub.stopHub();
    process.kill(pid!, 0); // cleanup_proxy = False: still running (throws ESRCH otherwise)
    const during = await http('GET', `${hub.base}/user/alice/api/status`, { headers: { cookie: jar.header() } });
    assert.equal(during.status, 200, 'the user\'s server answers while the hub is down');
    const hubDown = await http('GET', `${hub.base}/hub/api`);
    assert.equal(hubDown.status, 503, 'the hub\'s route answers 503 (CHP: target unreachable)');

    await hub.startHub();
    // JupyterHub 3.0 terminates a proxy it finds from its pid file and starts its own again.
    assert.match(hub.logTail(200), /Proxy still running at pid=/);
    const table = await routes();
    assert.deepEqual(Object.keys(table).sort(), ['/', '/user/alice']);
    const r = await http('GET', `${hub.base}/user/alice/api/status`, { headers: { cookie: jar.header() } });
    assert.equal(r.status, 200);
  });
});

describe('JupyterHub 3.0 with highrate\'s proxy managed outside it (should_start = False, as zero-to-jupyterhub\'s proxy pod)', { skip: existsSync(JUPYTERHUB) ? false : `${JUPYTERHUB} is not installed` }, () => {
  let hub: JupyterHub3;
  let proxy: ChildProcess | undefined;

  before(async () => {
    hub = await JupyterHub3.start(os.tmpdir(), {
      keepProxyOnStop: true,
      async externalProxy(h) {
        // The flags zero-to-jupyterhub's proxy deployment passes to configurable-http-proxy.
        proxy = spawn(process.execPath, [path.join(REPO, 'bin/configurable-http-proxy.js'), '--ip=127.0.0.1', `--port=${h.port}`, '--api-ip=127.0.0.1',
          `--api-port=${h.apiPort}`, `--default-target=http://127.0.0.1:${h.hubPort}`, `--error-target=http://127.0.0.1:${h.hubPort}/hub/error`, '--log-level=warn'],
        { cwd: h.dir, env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: h.proxyToken }, stdio: 'ignore' });
        await waitFor(async () => (await http('GET', `http://127.0.0.1:${h.apiPort}/api/routes`, { headers: { authorization: `token ${h.proxyToken}` } }).catch(() => undefined))?.status === 200, 15_000);
      },
    });
  });
  after(() => {
    if (proxy?.exitCode === null) proxy.kill('SIGKILL');
    hub?.close();
  });

  test('the proxy outlives hub restarts: same process, routes kept, the user\'s server reachable throughout', async () => {
    const admin = { authorization: `token ${hub.adminToken}` };
    const token = await hub.newUser('bob');
    const r = await http('POST', `${hub.base}/hub/api/users/bob/server`, { headers: admin, body: {} });
    assert.ok(r.status === 201 || r.status === 202, `${r.status} ${r.text}`);
    await waitFor(async () => (await http('GET', `${hub.base}/hub/api/users/bob`, { headers: admin })).json().servers?.['']?.ready === true, 60_000);
    const api = `http://127.0.0.1:${hub.apiPort}/api/routes`;
    const auth = { authorization: `token ${hub.proxyToken}` };
    const before = (await http('GET', api, { headers: auth })).json();
    assert.deepEqual(Object.keys(before).sort(), ['/', '/user/bob']);
    // A user already at work: the server has checked this token with the hub once and caches the
    // answer (jupyterhub-singleuser cannot check a new token while the hub is down).
    assert.equal((await http('GET', `${hub.base}/user/bob/api/status`, { headers: { authorization: `token ${token}` } })).status, 200);
    for (let restart = 0; restart < 2; restart++) {
      await hub.stopHub();
      const during = await http('GET', `${hub.base}/user/bob/api/status`, { headers: { authorization: `token ${token}` } });
      assert.equal(during.status, 200, 'the server answers through the proxy while the hub is down');
      await hub.startHub();
      assert.equal(proxy!.exitCode, null, 'the same proxy process');
      const now = (await http('GET', api, { headers: auth })).json();
      assert.deepEqual(Object.keys(now).sort(), ['/', '/user/bob']);
      assert.equal(now['/user/bob'].target, before['/user/bob'].target);
      const res = await http('GET', `${hub.base}/user/bob/api/status`, { headers: { authorization: `token ${token}` } });
      assert.equal(res.status, 200);
    }
  });
});
