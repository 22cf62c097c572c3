import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { hashSecret, newSecret, newTokenId } from '../../src/auth/tokens.js';
import { http, type Reply } from '../helpers/http.js';
import { readProgress } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';

const PAGINATION = 'application/jupyterhub-pagination+json';
const VERSION = '4.1.6';

/** JupyterHub's error body (`status`, `message`) plus highrate's `code`, and nothing else. */
function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  const body = r.json();
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message', 'status']);
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
}

/**
 * Where highrate's hub API differed from JupyterHub 4.1's (found with jupyterhub-idle-culler and
 * HubAuth), against the real hub and proxy, with tiny real servers on the local executor.
 */
describe('JupyterHub 4.1 REST API parity', () => {
  let p: Platform;
  let admin: string;
  let alice: string;
  let bob: string;
  const get = (path: string, token: string, headers: Record<string, string> = {}) =>
    http('GET', `${p.base}${path}`, { headers: { authorization: `token ${token}`, ...headers } });

  /** Follows `_pagination.next.url` verbatim until it is null, as jupyterhub-idle-culler does. */
  async function walk(url: string, token: string, headers: Record<string, string> = {}): Promise<{ items: any[]; urls: string[]; pages: any[] }> {
    const items: any[] = [];
    const urls: string[] = [];
    const pages: any[] = [];
    let next: string | null = url;
    while (next) {
      urls.push(next);
      const r = await http('GET', next, { headers: { authorization: `token ${token}`, accept: PAGINATION, ...headers } });
      assert.equal(r.status, 200, r.text);
      const body = r.json();
      pages.push(body._pagination);
      items.push(...(Array.isArray(body.items) ? body.items : Object.entries(body.items)));
      next = body._pagination.next?.url ?? null;
      assert.ok(urls.length < 20, 'pagination ends');
    }
    return { items, urls, pages };
  }

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }],
      config: {
        culler: { idleTimeout: 0, maxAge: 0 },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
      },
    });
    admin = await p.token('admin');
    alice = await p.token('alice');
    bob = await p.token('bob');
    const names = ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e', 'pg-f', 'pg-g'];
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: names })).status, 201);
  });
  after(async () => { await p?.close(); });

  test('X-JupyterHub-Version is on every /hub/api answer, errors included', async () => {
    const root = await http('GET', `${p.base}/hub/api`);
    assert.equal(root.status, 200);
    assert.equal(root.headers['x-jupyterhub-version'], VERSION);
    assert.equal(root.json().version, VERSION);
    assert.equal(typeof root.json().highrate, 'string');
    const missing = await get('/hub/api/no-such-endpoint', admin);
    assertError(missing, 404, 'NOT_FOUND');
    assert.equal(missing.headers['x-jupyterhub-version'], VERSION);
    const denied = await http('GET', `${p.base}/hub/api/users`);
    assertError(denied, 403, 'FORBIDDEN');
    assert.equal(denied.headers['x-jupyterhub-version'], VERSION);
    assert.equal((await get('/hub/api/users', admin)).headers['x-jupyterhub-version'], VERSION);
  });

  test('users: next.url is the full URL with the other parameters kept, and walking it lists everyone once', async () => {
    const first = await get('/hub/api/users?name_filter=pg-&limit=3&include_stopped_servers=1', admin, { accept: PAGINATION });
    assert.deepEqual(first.json()._pagination, {
      offset: 0, limit: 3, total: 7,
      next: { offset: 3, limit: 3, url: `${p.base}/hub/api/users?name_filter=pg-&limit=3&include_stopped_servers=1&offset=3` },
    });
    const { items, urls, pages } = await walk(`${p.base}/hub/api/users?name_filter=pg-&limit=3&include_stopped_servers=1`, admin);
    assert.deepEqual(items.map((u) => u.name), ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e', 'pg-f', 'pg-g']);
    assert.deepEqual(urls.slice(1), [
      `${p.base}/hub/api/users?name_filter=pg-&limit=3&include_stopped_servers=1&offset=3`,
      `${p.base}/hub/api/users?name_filter=pg-&limit=3&include_stopped_servers=1&offset=6`,
    ]);
    assert.deepEqual(pages.map((pg) => [pg.offset, pg.limit, pg.total]), [[0, 3, 7], [3, 3, 7], [6, 3, 7]]);
    assert.equal(pages[2].next, null);
    // An offset/limit already in the query is replaced where it stands, not repeated.
    const again = await get('/hub/api/users?offset=0&state=inactive&name_filter=pg-&limit=5', admin, { accept: PAGINATION });
    assert.equal(again.json()._pagination.next.url, `${p.base}/hub/api/users?offset=5&state=inactive&name_filter=pg-&limit=5`);
  });

  test('users: without a limit, 50 per page with the pagination type, a plain list without it', async () => {
    const paged = await get('/hub/api/users?name_filter=pg-', admin, { accept: `application/json, ${PAGINATION}` });
    assert.deepEqual(paged.json()._pagination, { offset: 0, limit: 50, total: 7, next: null });
    const plain = await get('/hub/api/users?name_filter=pg-&limit=2', admin);
    assert.ok(Array.isArray(plain.json()));
    assert.deepEqual(plain.json().map((u: any) => u.name), ['pg-a', 'pg-b']);
    assertError(await get('/hub/api/users?limit=two', admin), 400, 'BAD_REQUEST');
  });

  test('next.url follows the host and scheme the client used: via a TLS front, and at the hub\'s own port', async () => {
    // Through the proxy, as behind a TLS terminator that set X-Forwarded-Proto and kept the Host.
    const fronted = await get('/hub/api/users?name_filter=pg-&limit=4', admin, { accept: PAGINATION, host: 'hub.example.test', 'x-forwarded-proto': 'https' });
    assert.equal(fronted.json()._pagination.next.url, 'https://hub.example.test/hub/api/users?name_filter=pg-&limit=4&offset=4');
    // A client of the hub's own address (no proxy in between) is sent on there.
    const hubUrl = p.hub!.hub.hubUrl;
    const direct = await walk(`${hubUrl}/hub/api/users?name_filter=pg-&limit=4`, admin);
    assert.deepEqual(direct.urls, [`${hubUrl}/hub/api/users?name_filter=pg-&limit=4`, `${hubUrl}/hub/api/users?name_filter=pg-&limit=4&offset=4`]);
    assert.equal(direct.items.length, 7);
    // A Host that is no host name is not echoed: the public URL is used.
    const odd = await http('GET', `${hubUrl}/hub/api/users?name_filter=pg-&limit=4`, { headers: { authorization: `token ${admin}`, accept: PAGINATION, host: 'evil.test/x?y=' } });
    assert.equal(odd.json()._pagination.next.url, `${p.base}/hub/api/users?name_filter=pg-&limit=4&offset=4`);
  });

  test('groups: items carry their members as `users` (highrate\'s keys kept), pages linked by next.url', async () => {
    const members: Record<string, string[]> = { 'pgroup-1': ['pg-a'], 'pgroup-2': ['pg-b', 'pg-c'], 'pgroup-3': [], 'pgroup-4': ['pg-g'], 'pgroup-5': ['pg-a', 'pg-d'] };
    for (const [g, users] of Object.entries(members)) {
      assert.equal((await p.api('POST', `/hub/api/groups/${g}`, { token: admin }, users.length ? { users } : {})).status, 201);
    }
    const { items, urls } = await walk(`${p.base}/hub/api/groups?name_filter=pgroup&limit=2`, admin);
    assert.equal(urls.length, 3);
    assert.equal(urls[1], `${p.base}/hub/api/groups?name_filter=pgroup&limit=2&offset=2`);
    assert.deepEqual(Object.fromEntries(items.map((g) => [g.name, g.users])), members);
    assert.deepEqual(Object.keys(items[1]).sort(), ['kind', 'member_count', 'name', 'properties', 'roles', 'source', 'users']);
    assert.equal(items[1].member_count, 2);
    const plain = (await get('/hub/api/groups?name_filter=pgroup-2', admin)).json();
    assert.deepEqual(plain.map((g: any) => [g.name, g.users]), [['pgroup-2', ['pg-b', 'pg-c']]]);
  });

  test('scope-filtered user models: each scope shows JupyterHub 4.1\'s fields and no more', async () => {
    const nameOnly = await p.token('admin', ['read:users:name']);
    const listOnly = await p.token('admin', ['list:users']);
    const groupsOnly = await p.token('admin', ['read:users:groups']);
    const culler = await p.token('admin', ['list:users', 'read:users:activity', 'read:servers']);
    const keys = (o: object) => Object.keys(o).sort();

    assert.deepEqual((await get('/hub/api/users/pg-a', nameOnly)).json(), { kind: 'user', name: 'pg-a', admin: false });
    assert.deepEqual((await get('/hub/api/users/pg-a', groupsOnly)).json(), { kind: 'user', name: 'pg-a', groups: ['pgroup-1', 'pgroup-5'] });
    assertError(await get('/hub/api/users', nameOnly), 403, 'MISSING_SCOPE');
    assertError(await get('/hub/api/users/pg-a', await p.token('admin', ['read:tokens'])), 403, 'MISSING_SCOPE');

    const listed = (await get('/hub/api/users?name_filter=pg-', listOnly)).json();
    assert.equal(listed.length, 7);
    for (const u of listed) assert.deepEqual(keys(u), ['admin', 'kind', 'name']);
    const culled = (await get('/hub/api/users?name_filter=pg-', culler)).json();
    for (const u of culled) assert.deepEqual(keys(u), ['admin', 'kind', 'last_activity', 'name', 'servers']);
    assert.deepEqual(culled[0].servers, {});

    const full = (await get('/hub/api/users/pg-a', admin)).json();
    assert.deepEqual(keys(full), ['admin', 'blocked', 'created', 'groups', 'kind', 'last_activity', 'name', 'pending', 'roles', 'server', 'servers']);
    assert.deepEqual(full.groups, ['pgroup-1', 'pgroup-5']);

    // /hub/api/user: the owner's name and groups always, the rest by scope, with session_id and scopes.
    const me = (await get('/hub/api/user', nameOnly)).json();
    assert.deepEqual(keys(me), ['admin', 'groups', 'kind', 'name', 'scopes', 'session_id', 'token_id']);
    assert.equal(me.name, 'admin');
    assert.equal(me.session_id, null);
    assert.deepEqual(me.scopes, ['read:users:name']);
    const mine = (await get('/hub/api/user', alice)).json();
    assert.deepEqual(keys(mine), ['admin', 'blocked', 'created', 'groups', 'kind', 'last_activity', 'name', 'pending', 'roles', 'scopes', 'server', 'servers', 'session_id', 'token_id']);
  });

  test('/hub/api/user: a browser session has a stable session_id that is not its cookie', async () => {
    const jar = await p.login('alice');
    const one = (await p.api('GET', '/hub/api/user', { jar })).json();
    const two = (await p.api('GET', '/hub/api/user', { jar })).json();
    assert.match(one.session_id, /^[0-9a-f]{32}$/);
    assert.equal(two.session_id, one.session_id);
    assert.ok(!jar.get('highrate-session')!.includes(one.session_id));
    assert.equal(one.token_id, undefined);
    const other = (await p.api('GET', '/hub/api/user', { jar: await p.login('alice') })).json();
    assert.notEqual(other.session_id, one.session_id);
  });

  test('servers/ with an empty name is the default server; remove on it is 400 and stops nothing', async () => {
    const start = await p.api('POST', '/hub/api/users/alice/servers/', { token: admin }, {});
    assert.equal(start.status, 201, start.text);
    const one = await get('/hub/api/users/alice/servers/', admin);
    assert.equal(one.status, 200);
    assert.equal(one.json().name, '');
    assert.equal(one.json().ready, true);
    assert.equal(one.json().url, '/user/alice/');
    assert.equal((await get('/hub/api/users/alice', admin)).json().server, '/user/alice/');
    const events = await readProgress(p.base, '/hub/api/users/alice/servers//progress', { authorization: `token ${admin}` });
    assert.equal(events.at(-1).ready, true);
    const again = await p.api('POST', '/hub/api/users/alice/servers/', { token: admin }, {});
    assertError(again, 400, 'SERVER_ALREADY_RUNNING');

    const remove = await p.api('DELETE', '/hub/api/users/alice/servers/', { token: admin }, { remove: true });
    assertError(remove, 400, 'BAD_REQUEST');
    assert.match(remove.json().message, /Cannot delete the default server/);
    assert.equal((await get('/hub/api/users/alice', admin)).json().servers[''].ready, true, 'still running');
    assertError(await p.api('DELETE', '/hub/api/users/alice/server', { token: admin }, { remove: true }), 400, 'BAD_REQUEST');

    const stop = await p.api('DELETE', '/hub/api/users/alice/servers/', { token: admin });
    assert.equal(stop.status, 204);
    assert.deepEqual((await get('/hub/api/users/alice', admin)).json().servers, {});
  });

  test('a request with a user\'s token records their activity, at most every 30 s; one with their server\'s own token does not', async () => {
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['act-a', 'act-b'] })).status, 201);
    const activityOf = async (name: string) => (await get(`/hub/api/users/${name}`, admin)).json().last_activity;
    assert.equal(await activityOf('act-a'), null);
    const token = await p.token('act-a');
    const before = Date.now();
    const me = await get('/hub/api/user', token);
    assert.equal(me.status, 200, me.text);
    const seen = me.json().last_activity;
    assert.ok(Date.parse(seen) >= before - 5 && Date.parse(seen) <= Date.now(), `${seen} is the time of the request`);
    assert.equal(await activityOf('act-a'), seen);
    assert.equal((await get('/hub/api/user', token)).json().last_activity, seen, 'within 30 s nothing is written again');
    // A server's token carries JupyterHub's note "Server at …": its calls are the server's doing.
    const value = newSecret();
    const store = await p.openStore();
    try {
      await store.insertToken({ id: newTokenId(), user: 'act-b', hash: hashSecret(value), prefix: value.slice(0, 4), scopes: [], note: 'Server at /user/act-b/', kind: 'api', created: new Date().toISOString(), expiresAt: null, lastActivity: null });
    } finally {
      await store.close();
    }
    const server = await get('/hub/api/user', value);
    assert.equal(server.status, 200, server.text);
    assert.equal(server.json().name, 'act-b');
    assert.equal(await activityOf('act-b'), null);
  });

  test('activity: an unknown server is 400 and nothing is written; a known one moves forward', async () => {
    assert.equal((await p.api('POST', '/hub/api/users/pg-b/servers/work', { token: admin }, {})).status, 201);
    const before = (await get('/hub/api/users/pg-b', admin)).json();
    const ts = new Date(Date.now() + 5000).toISOString();
    const unknown = await p.api('POST', '/hub/api/users/pg-b/activity', { token: admin }, { last_activity: ts, servers: { work: { last_activity: ts }, nope: { last_activity: ts } } });
    assertError(unknown, 400, 'BAD_REQUEST');
    assert.match(unknown.json().message, /No such server 'nope' for user pg-b/);
    const unchanged = (await get('/hub/api/users/pg-b', admin)).json();
    assert.equal(unchanged.last_activity, before.last_activity);
    assert.equal(unchanged.servers.work.last_activity, before.servers.work.last_activity);
    assertError(await p.api('POST', '/hub/api/users/pg-b/activity', { token: admin }, {}), 400, 'BAD_REQUEST');
    assertError(await p.api('POST', '/hub/api/users/pg-b/activity', { token: admin }, { servers: { work: {} } }), 400, 'BAD_REQUEST');
    const ok = await p.api('POST', '/hub/api/users/pg-b/activity', { token: admin }, { servers: { work: { last_activity: ts } } });
    assert.equal(ok.status, 200, ok.text);
    const moved = (await get('/hub/api/users/pg-b', admin)).json();
    assert.equal(moved.servers.work.last_activity, ts);
    assert.equal(moved.last_activity, ts);
    assertError(await p.api('POST', '/hub/api/users/nobody-at-all/activity', { token: admin }, { last_activity: ts }), 404, 'USER_NOT_FOUND');
  });

  test('proxy: GET is the route table (paginated as 4.1, no upstream tokens), POST re-syncs a proxy that lost its routes', async () => {
    assert.equal((await p.api('POST', '/hub/api/users/pg-c/server', { token: admin }, {})).status, 201);
    const table = (await get('/hub/api/proxy', admin)).json();
    // JupyterHub's shape (Proxy.get_all_routes): routespec with its trailing slash → {routespec, target, data}.
    assert.deepEqual(Object.keys(table).sort(), ['/', '/user/pg-b/work/', '/user/pg-c/']);
    assert.deepEqual(Object.keys(table['/user/pg-c/']).sort(), ['data', 'routespec', 'target']);
    assert.equal(table['/'].target, p.hub!.hub.hubUrl);
    assert.equal(table['/'].data.hub, true);
    assert.equal(table['/user/pg-c/'].routespec, '/user/pg-c/');
    assert.equal(table['/user/pg-c/'].data.user, 'pg-c');
    assert.equal(table['/user/pg-c/'].data.server_name, '');
    assert.equal(typeof table['/user/pg-c/'].data.last_activity, 'string');
    for (const route of Object.values<any>(table)) assert.equal(route.data.upstream_token, undefined);

    const paged = await walk(`${p.base}/hub/api/proxy?limit=1`, admin);
    assert.deepEqual(paged.items.map(([prefix]) => prefix), ['/', '/user/pg-b/work/', '/user/pg-c/']);
    assert.deepEqual(paged.urls.slice(1), [`${p.base}/hub/api/proxy?limit=1&offset=1`, `${p.base}/hub/api/proxy?limit=1&offset=2`]);
    assert.deepEqual(paged.pages[0], { offset: 0, limit: 1, total: 3, next: { offset: 1, limit: 1, url: `${p.base}/hub/api/proxy?limit=1&offset=1` } });
    assertError(await get('/hub/api/proxy', alice), 403, 'MISSING_SCOPE');

    // A proxy that lost its table (the hub's own route included) gets it back at once.
    await p.hub!.hub.proxy.deleteRoute('/user/pg-c');
    await p.hub!.hub.proxy.deleteRoute('/');
    assert.notEqual((await http('GET', `${p.base}/hub/api/`)).status, 200, 'the hub is unreachable through the proxy');
    const sync = await http('POST', `${p.hub!.hub.hubUrl}/hub/api/proxy`, { headers: { authorization: `token ${admin}` } });
    assert.equal(sync.status, 200, sync.text);
    assert.equal(sync.text, '');
    assert.equal((await http('GET', `${p.base}/hub/api/`)).status, 200);
    assert.deepEqual(Object.keys((await get('/hub/api/proxy', admin)).json()).sort(), ['/', '/user/pg-b/work/', '/user/pg-c/']);
    assert.equal((await http('GET', `${p.base}/user/pg-c/ping`, { headers: { authorization: `token ${admin}` } })).status, 200);
    assertError(await p.api('POST', '/hub/api/proxy', { token: admin }, { api_url: 'http://x' }), 400, 'BAD_REQUEST');
    assertError(await p.api('POST', '/hub/api/proxy', { token: alice }), 403, 'MISSING_SCOPE');
  });

  test('proxy: PATCH accepts the current API URL and token (then syncs), refuses changes it cannot make with 501', async () => {
    const hub = p.hub!.hub;
    const patch = (body?: unknown) => p.api('PATCH', '/hub/api/proxy', { token: admin }, body);
    const same = await patch({ api_url: `${hub.proxyApiUrl}/`, auth_token: hub.proxyToken });
    assert.equal(same.status, 200, same.text);
    assert.equal(same.text, '');
    assert.equal((await patch({})).status, 200);
    assertError(await patch({ api_url: 'http://127.0.0.1:1' }), 501, 'NOT_SUPPORTED');
    assertError(await patch({ auth_token: 'another-token' }), 501, 'NOT_SUPPORTED');
    assertError(await patch(), 400, 'BAD_REQUEST');
    assertError(await patch(['api_url']), 400, 'BAD_REQUEST');
    assertError(await patch({ ip: '10.0.0.1' }), 400, 'BAD_REQUEST');
    assertError(await patch({ api_url: 5 }), 400, 'BAD_REQUEST');
    assertError(await p.api('PATCH', '/hub/api/proxy', { token: bob }, {}), 403, 'MISSING_SCOPE');
    assert.equal((await http('GET', `${p.base}/hub/api/`)).status, 200, 'the proxy still serves');
  });

  test('info (read:hub) names highrate\'s equivalents; shutdown (shutdown) validates, answers 202, then calls the hook', async () => {
    const info = await get('/hub/api/info', admin);
    assert.equal(info.status, 200);
    const body = info.json();
    assert.deepEqual(Object.keys(body).sort(), ['authenticator', 'highrate', 'python', 'spawner', 'sys_executable', 'version']);
    assert.equal(body.version, VERSION);
    assert.equal(body.sys_executable, process.execPath);
    assert.match(body.python, /^Node\.js v\d+/);
    assert.deepEqual(body.spawner, { class: 'highrate.executors.local', version: body.highrate.version });
    assert.deepEqual(body.authenticator, { class: 'highrate.auth.embedded', version: body.highrate.version });
    assert.deepEqual(body.highrate.executors, [{ name: 'local', kind: 'local' }]);
    assert.equal((await get('/hub/api/info', await p.token('admin', ['read:hub']))).status, 200);
    assertError(await get('/hub/api/info', alice), 403, 'MISSING_SCOPE');

    const shutdown = (token: string, body?: unknown) => p.api('POST', '/hub/api/shutdown', { token }, body);
    assertError(await shutdown(alice, {}), 403, 'MISSING_SCOPE');
    assertError(await shutdown(admin, { proxy: 'yes' }), 400, 'BAD_REQUEST');
    assertError(await shutdown(admin, { servers: 1 }), 400, 'BAD_REQUEST');
    assertError(await shutdown(admin, { now: true }), 400, 'BAD_REQUEST');
    const absent = await shutdown(admin);
    assertError(absent, 501, 'NOT_SUPPORTED');

    const calls: Array<{ proxy: boolean; servers: boolean }> = [];
    (p.hub!.hub as { shutdown?: (o: { proxy: boolean; servers: boolean }) => void }).shutdown = (o) => calls.push(o);
    try {
      const r = await shutdown(admin, { proxy: true });
      assert.equal(r.status, 202);
      assert.deepEqual(r.json(), { message: 'Shutting down Hub' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(calls, [{ proxy: true, servers: false }]);
      assert.equal((await shutdown(admin)).status, 202);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(calls[1], { proxy: false, servers: false });
    } finally {
      delete (p.hub!.hub as { shutdown?: unknown }).shutdown;
    }
  });

  test('authorizations/token/<token>: the owner\'s model as the caller may see it, name and groups always; tokens only', async () => {
    const seen = await get(`/hub/api/authorizations/token/${alice}`, bob);
    assert.equal(seen.status, 200, seen.text);
    assert.deepEqual(seen.json(), { kind: 'user', name: 'alice', admin: false, groups: [] });
    const full = (await get(`/hub/api/authorizations/token/${alice}`, admin)).json();
    assert.equal(full.name, 'alice');
    assert.deepEqual(full.servers, {});
    assert.equal(typeof full.created, 'string');
    // Seeing a token is its owner's activity, as any request with it (first use: recorded at once).
    const unused = await p.token('seen-once');
    assert.equal((await get('/hub/api/users/seen-once', admin)).json().last_activity, null);
    const t0 = Date.now();
    assert.equal((await get(`/hub/api/authorizations/token/${unused}`, bob)).status, 200);
    const at = (await get('/hub/api/users/seen-once', admin)).json().last_activity;
    assert.ok(Date.parse(at) >= t0 - 5 && Date.parse(at) <= Date.now(), `${at} is the time of the check`);

    assertError(await get('/hub/api/authorizations/token/not-a-token-at-all', bob), 404, 'TOKEN_NOT_FOUND');
    const jar = await p.login('alice');
    assertError(await p.api('GET', `/hub/api/authorizations/token/${bob}`, { jar }), 403, 'FORBIDDEN');
    // The refusal is audited without the token that was in the path.
    const denied = (await get('/hub/api/audit?action=request.denied&limit=20', admin)).json().items;
    const entry = denied.find((e: any) => e.target?.includes('/authorizations/token/'));
    assert.equal(entry.target, 'GET /hub/api/authorizations/token/[redacted]');
    assert.ok(!JSON.stringify(denied).includes(bob));

    const post = await p.api('POST', '/hub/api/authorizations/token', { token: bob }, { username: 'bob', password: 'x' });
    assertError(post, 404, 'NOT_FOUND');
    assert.match(post.json().message, /removed in JupyterHub 2\.0/);
  });

  test('authorizations/cookie/<name>/<value>: the session\'s user, by the caller\'s own scopes', async () => {
    const jar = await p.login('alice');
    const cookie = jar.get('highrate-session')!;
    const r = await get(`/hub/api/authorizations/cookie/highrate-session/${encodeURIComponent(cookie)}`, admin);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().name, 'alice');
    assert.equal(r.json().kind, 'user');
    assert.deepEqual((await get(`/hub/api/authorizations/cookie/highrate-session/${encodeURIComponent(cookie)}`, bob)).json(), {});
    assertError(await get(`/hub/api/authorizations/cookie/jupyterhub-hub-login/${encodeURIComponent(cookie)}`, admin), 404, 'NOT_FOUND');
    assertError(await get('/hub/api/authorizations/cookie/highrate-session/not-a-session', admin), 404, 'NOT_FOUND');
    const inBody = await http('GET', `${p.base}/hub/api/authorizations/cookie/highrate-session`, { headers: { authorization: `token ${admin}`, 'content-type': 'text/plain' }, raw: cookie });
    assert.equal(inBody.json().name, 'alice');
  });
});
