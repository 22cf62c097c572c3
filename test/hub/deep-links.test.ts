import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http, type CookieJar } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

/**
 * Links into servers that reach the hub because no route exists (JupyterHub 4.1's UserUrlHandler
 * and /hub/user-redirect/): the whole link is kept, the owner is sent to start the right server,
 * other users learn nothing, API clients keep their 424, and `next` never leaves the site.
 */
describe('deep links to stopped servers', () => {
  let p: Platform;
  let admin: string;
  let bob: CookieJar;
  let alice: CookieJar;
  let adminJar: CookieJar;

  const page = (path: string, jar?: CookieJar, accept = 'text/html,application/xhtml+xml') =>
    http('GET', `${p.base}${path}`, { headers: { accept, ...(jar ? { cookie: jar.header() } : {}) } });
  /** The redirect target, split so query values compare decoded. */
  const target = (location: unknown) => new URL(String(location), 'http://local.invalid');

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'bob', password: 'bob-secret-pw' }, { name: 'alice', password: 'alice-secret-pw' }],
      config: {
        // No periodic reconcile: it would put back the route a test drops before the request reaches the hub.
        hub: { reconcileInterval: 3600 },
        profiles: [
          { name: 'tiny', default: true, command: tinyServerCommand() },
          // Never listens: stays "starting" for the start timeout.
          { name: 'never', command: ['/bin/sleep', '300'], startTimeout: 300 },
        ],
      },
    });
    admin = await p.token('admin');
    bob = await p.login('bob', 'bob-secret-pw');
    alice = await p.login('alice', 'alice-secret-pw');
    adminJar = await p.login('admin');
    // bob has a named server "gpu" that ran once and is stopped now.
    assert.equal((await p.api('POST', '/hub/api/users/bob/servers/gpu', { token: admin }, { profile: 'tiny' })).status, 201);
    assert.equal((await p.api('DELETE', '/hub/api/users/bob/servers/gpu', { token: admin })).status, 204);
  });
  after(async () => { await p?.close(); });

  test('the owner is sent home to start the default server, the whole link (query included) kept as next', async () => {
    const link = '/user/bob/notebooks/sub/Analysis.ipynb?kernel_name=python3&note=a%20b';
    const r = await page(link, bob);
    assert.equal(r.status, 302);
    const to = target(r.headers.location);
    assert.equal(to.pathname, '/hub/home');
    assert.equal(to.searchParams.get('not_running'), '');
    assert.equal(to.searchParams.get('next'), link);
  });

  test('a named server is recognised by its first segment; an unknown one means the default server', async () => {
    const named = await page('/user/bob/gpu/lab/tree/run%201.ipynb?reset', bob);
    assert.equal(named.status, 302);
    assert.equal(target(named.headers.location).searchParams.get('not_running'), 'gpu');
    assert.equal(target(named.headers.location).searchParams.get('next'), '/user/bob/gpu/lab/tree/run%201.ipynb?reset');

    const unknown = await page('/user/bob/nosuch/lab', bob);
    assert.equal(target(unknown.headers.location).searchParams.get('not_running'), '');
    assert.equal(target(unknown.headers.location).searchParams.get('next'), '/user/bob/nosuch/lab');
  });

  test('a server that is starting: to its progress page, which comes back to the link', async () => {
    assert.equal((await p.api('POST', '/hub/api/users/bob/servers/slow', { token: admin }, { profile: 'never' })).status, 202);
    try {
      const r = await page('/user/bob/slow/tree/data?x=1', bob);
      assert.equal(r.status, 303);
      const to = target(r.headers.location);
      assert.equal(to.pathname, '/hub/spawn-pending/bob/slow');
      assert.equal(to.searchParams.get('next'), '/user/bob/slow/tree/data?x=1');
    } finally {
      await p.api('DELETE', '/hub/api/users/bob/servers/slow', { token: admin }, { remove: true });
    }
  });

  test('a running server the proxy has no route to yet: back to the link a few times, then a page saying so', async () => {
    assert.equal((await p.api('POST', '/hub/api/users/bob/servers/up', { token: admin }, { profile: 'tiny' })).status, 201);
    const proxyToken = readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim();
    // As if the proxy lost the route (restart, lag): the hub restores it at its next reconcile.
    const dropRoute = async () => (await http('DELETE', `http://127.0.0.1:${p.port + 1}/api/routes/user/bob/up`, { headers: { authorization: `token ${proxyToken}` } })).status;
    try {
      assert.equal(await dropRoute(), 204);
      const first = await page('/user/bob/up/tree?x=a%20b+c', bob);
      assert.equal(first.status, 302);
      assert.equal(first.headers.location, '/user/bob/up/tree?x=a%20b+c&redirects=1');
      assert.ok([204, 404].includes(await dropRoute()), 'restored meanwhile, or still gone');
      const last = await page('/user/bob/up/tree?x=1&redirects=4', bob);
      assert.equal(last.status, 503);
      assert.match(last.text, /The server is running, but the proxy does not route to it/);
    } finally {
      await p.api('DELETE', '/hub/api/users/bob/servers/up', { token: admin }, { remove: true });
    }
  });

  test('not logged in: to the login, which comes back to the whole link', async () => {
    const r = await page('/user/bob/notebooks/sub/Analysis.ipynb?x=1');
    assert.equal(r.status, 302);
    const to = target(r.headers.location);
    assert.equal(to.pathname, '/hub/login');
    assert.equal(to.searchParams.get('next'), '/user/bob/notebooks/sub/Analysis.ipynb?x=1');
    // A logged-in browser at that login URL is sent straight on (safeNext keeps a local path).
    const again = await page(`${to.pathname}${to.search}`, bob);
    assert.equal(again.headers.location, '/user/bob/notebooks/sub/Analysis.ipynb?x=1');
  });

  test('API clients still get 424 SERVER_NOT_RUNNING as JSON (JupyterLab, tokens, non-GET, /api/ paths)', async () => {
    const token = await p.token('bob');
    const asApi = await http('GET', `${p.base}/user/bob/api/contents/sub`, { headers: { authorization: `token ${token}` } });
    assert.equal(asApi.status, 424);
    assert.equal(asApi.json().code, 'SERVER_NOT_RUNNING');
    const json = await page('/user/bob/notebooks/x.ipynb', bob, 'application/json');
    assert.equal(json.status, 424);
    const post = await http('POST', `${p.base}/user/bob/api/kernels`, { headers: { cookie: bob.header(), accept: 'text/html' }, body: {} });
    assert.equal(post.status, 424);
    const apiPath = await page('/user/bob/api/contents', bob);
    assert.equal(apiPath.status, 424);
    assert.equal(apiPath.json().code, 'SERVER_NOT_RUNNING');
  });

  test("another user's link: 403 that says nothing about that user or server, offering the path on one's own server", async () => {
    const r = await page('/user/bob/gpu/notebooks/x.ipynb?y=2', alice);
    assert.equal(r.status, 403);
    assert.match(r.text, /a server of bob, which you may not open/);
    assert.doesNotMatch(r.text, /not running|gpu”|stopped/i);
    assert.match(r.text, /href="\/hub\/user-redirect\/gpu\/notebooks\/x\.ipynb\?y=2"/);
    // Exactly the same answer for a user that does not exist, and for a default server.
    const ghost = await page('/user/nobody/gpu/notebooks/x.ipynb?y=2', alice);
    assert.equal(ghost.status, 403);
    assert.equal(ghost.text.replace('nobody', 'bob'), r.text);
    const audit = (await p.api('GET', '/hub/api/audit?action=request.denied', { token: admin })).json();
    assert.ok(JSON.stringify(audit).includes('link to a server of another user'), 'the refusal is audited');
  });

  test('an admin (access:servers on everyone) is told it is not running and offered its start page', async () => {
    const r = await page('/user/bob/gpu/lab?a=1', adminJar);
    assert.equal(r.status, 424);
    assert.match(r.text, /The server “gpu” of bob is not running/);
    assert.match(r.text, /href="\/hub\/spawn\/bob\/gpu\?next=%2Fuser%2Fbob%2Fgpu%2Flab%3Fa%3D1"/);
    assert.equal((await page('/user/nobody/lab', adminJar)).status, 404);
  });

  test('/hub/user-redirect/<path> is <path> on the caller\'s own server, query kept; login first otherwise', async () => {
    const r = await page('/hub/user-redirect/notebooks/sub/Analysis.ipynb?kernel_name=python3', alice);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/user/alice/notebooks/sub/Analysis.ipynb?kernel_name=python3');
    assert.equal((await page('/hub/user-redirect/', bob)).headers.location, '/user/bob/');
    assert.equal((await page('/hub/user-redirect/gpu/lab', bob)).headers.location, '/user/bob/gpu/lab');
    // Slashes cannot make it leave the site: it stays a path on the user's server.
    assert.equal((await page('/hub/user-redirect//evil.example/x', bob)).headers.location, '/user/bob/evil.example/x');

    const anon = await page('/hub/user-redirect/notebooks/a.ipynb?x=1');
    assert.equal(anon.status, 302);
    const to = target(anon.headers.location);
    assert.equal(to.pathname, '/hub/login');
    assert.equal(to.searchParams.get('next'), '/hub/user-redirect/notebooks/a.ipynb?x=1');
    // The whole way for bob: user-redirect → his server's link → home, offering to start it.
    const onward = await page(String((await page('/hub/user-redirect/notebooks/a.ipynb?x=1', bob)).headers.location), bob);
    assert.equal(target(onward.headers.location).searchParams.get('next'), '/user/bob/notebooks/a.ipynb?x=1');
  });

  test('an unsafe next is refused: other sites and scheme tricks end at /hub/home', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=1'.replace('%0d%0a', '\r\n')]) {
      const r = await page(`/hub/login?next=${encodeURIComponent(next)}`, bob);
      assert.equal(r.status, 302, next);
      assert.equal(r.headers.location, '/hub/home', next);
    }
  });
});
