import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '../helpers/http.js';
import { readProgress } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';

/**
 * The JupyterHub REST API subset, against the real hub, proxy and embedded IdP, with real
 * `jupyter notebook` servers on the local executor.
 */
describe('JupyterHub REST API', () => {
  let p: Platform;
  let admin: string;
  const auth = () => ({ token: admin });

  before(async () => {
    p = await Platform.start({
      config: {
        profiles: [
          { name: 'default', default: true, cores: { choices: [1, 2] }, memory: { choices: ['1G', '2G'] } },
          { name: 'broken', displayName: 'Broken', command: ['/bin/sh', '-c', 'echo boom-the-server-failed >&2; exit 3'] },
          { name: 'sleepy', command: ['/bin/sh', '-c', 'echo never-listening; exec sleep 600'], startTimeout: 3 },
        ],
      },
    });
    admin = await p.token('admin');
  });
  after(async () => { await p?.close(); });

  test('GET /hub/api/ answers the version without credentials', async () => {
    const r = await p.api('GET', '/hub/api/', {});
    assert.equal(r.status, 200);
    assert.equal(r.json().version, '4.1.6');
  });

  test('GET /hub/api/user names the token owner and its scopes', async () => {
    const r = await p.api('GET', '/hub/api/user', auth());
    assert.equal(r.status, 200);
    const me = r.json();
    assert.equal(me.name, 'admin');
    assert.equal(me.admin, true);
    assert.equal(me.kind, 'user');
    assert.ok(me.scopes.includes('admin:users'));
    assert.deepEqual(me.servers, {});
  });

  test('both Authorization schemes work; bad credentials get 403 with a JSON error', async () => {
    const bearer = await http('GET', `${p.base}/hub/api/user`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(bearer.status, 200);
    const none = await p.api('GET', '/hub/api/user', {});
    assert.equal(none.status, 403);
    assert.deepEqual(Object.keys(none.json()).sort(), ['code', 'message', 'status']);
    assert.equal(none.json().status, 403);
    const bad = await p.api('GET', '/hub/api/user', { token: 'not-a-token' });
    assert.equal(bad.status, 403);
  });

  test('POST /hub/api/users creates users (201), refuses existing ones (409) and bad names (400)', async () => {
    const r = await p.api('POST', '/hub/api/users', auth(), { usernames: ['carol', 'dave'] });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json().map((u: any) => u.name), ['carol', 'dave']);
    const again = await p.api('POST', '/hub/api/users', auth(), { usernames: ['erin', 'carol'] });
    assert.equal(again.status, 409);
    assert.equal(again.json().code, 'USER_EXISTS');
    const erin = await p.api('GET', '/hub/api/users/erin', auth());
    assert.equal(erin.status, 404, 'all or nothing: erin was not created');
    for (const bad of ['Bad Name', '-dash', 'a/b', 'x'.repeat(65), 'аdmin']) {
      const b = await p.api('POST', '/hub/api/users', auth(), { usernames: [bad] });
      assert.equal(b.status, 400, bad);
      assert.equal(b.json().code, 'INVALID_NAME');
    }
    const wrongType = await p.api('POST', '/hub/api/users', auth(), { usernames: 'carol' });
    assert.equal(wrongType.status, 400);
  });

  test('GET /hub/api/users lists with offset/limit and the pagination media type', async () => {
    const list = await p.api('GET', '/hub/api/users', auth());
    assert.equal(list.status, 200);
    const names = list.json().map((u: any) => u.name);
    assert.ok(names.includes('carol') && names.includes('admin'));
    const page = await http('GET', `${p.base}/hub/api/users?offset=1&limit=1`, { headers: { authorization: `token ${admin}`, accept: 'application/jupyterhub-pagination+json' } });
    const body = page.json();
    assert.equal(body.items.length, 1);
    assert.equal(body._pagination.offset, 1);
    assert.equal(body._pagination.limit, 1);
    assert.equal(body._pagination.total, names.length);
    const bad = await p.api('GET', '/hub/api/users?limit=abc', auth());
    assert.equal(bad.status, 400);
    const badState = await p.api('GET', '/hub/api/users?state=sleepy', auth());
    assert.equal(badState.status, 400);
  });

  test('DELETE /hub/api/users/{name} → 204, then 404', async () => {
    assert.equal((await p.api('DELETE', '/hub/api/users/dave', auth())).status, 204);
    assert.equal((await p.api('GET', '/hub/api/users/dave', auth())).status, 404);
    assert.equal((await p.api('DELETE', '/hub/api/users/dave', auth())).status, 404);
  });

  test('a server starts (201/202), streams progress, answers through the proxy, refuses a second start, stops (204)', async () => {
    await p.api('POST', '/hub/api/users', auth(), { usernames: ['alice'] });
    const start = await p.api('POST', '/hub/api/users/alice/server', auth(), { profile: 'default', cores: 1, memory: '1G' });
    assert.ok([201, 202].includes(start.status), `start: ${start.status} ${start.text}`);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${admin}` });
    const last = events.at(-1);
    assert.equal(last.ready, true, JSON.stringify(events));
    assert.equal(last.url, '/user/alice/');
    assert.equal(events[0].progress, 0);
    assert.ok(events.every((e) => typeof e.progress === 'number' && typeof e.message === 'string'));

    const model = (await p.api('GET', '/hub/api/users/alice', auth())).json();
    const s = model.servers[''];
    assert.equal(s.ready, true);
    assert.equal(s.pending, null);
    assert.equal(s.url, '/user/alice/');
    assert.equal(s.progress_url, '/hub/api/users/alice/server/progress');
    assert.deepEqual(s.user_options, { profile: 'default', cores: 1, memory: '1G' });
    assert.ok(s.started && s.last_activity);
    assert.equal(model.server, '/user/alice/');

    const aliceToken = await p.token('alice');
    const nb = await p.api('GET', '/user/alice/api/status', { token: aliceToken });
    assert.equal(nb.status, 200, nb.text);
    assert.equal(typeof nb.json().kernels, 'number');

    const again = await p.api('POST', '/hub/api/users/alice/server', auth(), {});
    assert.equal(again.status, 400);
    assert.equal(again.json().code, 'SERVER_ALREADY_RUNNING');

    const stop = await p.api('DELETE', '/hub/api/users/alice/server', auth());
    assert.equal(stop.status, 204);
    const after = (await p.api('GET', '/hub/api/users/alice', auth())).json();
    assert.deepEqual(after.servers, {});
    const gone = await p.api('GET', '/user/alice/api/status', { token: aliceToken });
    assert.equal(gone.status, 424);
  });

  test('named servers use the 6.0 user_options body and live at /user/<name>/<server>/', async () => {
    const start = await p.api('POST', '/hub/api/users/alice/servers/analysis', auth(), { user_options: { cores: 2, memory: '2G' } });
    assert.ok([201, 202].includes(start.status), start.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/servers/analysis/progress', { authorization: `token ${admin}` });
    assert.equal(events.at(-1).url, '/user/alice/analysis/');
    const model = (await p.api('GET', '/hub/api/users/alice', auth())).json();
    assert.deepEqual(model.servers.analysis.user_options, { profile: 'default', cores: 2, memory: '2G' });
    const nb = await p.api('GET', '/user/alice/analysis/api/status', { token: admin });
    assert.equal(nb.status, 200);
    assert.equal((await p.api('DELETE', '/hub/api/users/alice/servers/analysis', auth(), { remove: true })).status, 204);
    const withStopped = (await p.api('GET', '/hub/api/users/alice?include_stopped_servers', auth())).json();
    assert.equal(withStopped.servers.analysis, undefined, 'removed');
    assert.equal((await p.api('POST', '/hub/api/users/alice/servers/Bad_Name', auth(), {})).status, 400);
  });

  test('options are validated against the profile', async () => {
    const cases: Array<[unknown, string]> = [
      [{ cores: 3 }, 'cores must be one of 1, 2'],
      [{ memory: '64G' }, 'memory must be one of 1G, 2G'],
      [{ profile: 'nope' }, 'No such profile: nope'],
      [{ cores: 'many' }, 'cores must be a number'],
      [{ gpus: 1 }, 'Unknown option: gpus'],
      [{ image: 'docker.io/evil' }, 'does not offer a choice of image'],
      [{ user_options: [] }, 'user_options must be an object'],
    ];
    for (const [body, message] of cases) {
      const r = await p.api('POST', '/hub/api/users/alice/server', auth(), body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json().code, 'INVALID_OPTIONS', JSON.stringify(body));
      assert.ok(r.json().message.includes(message), `${r.json().message} should include ${message}`);
    }
  });

  test('malformed and oversized bodies get 400 and 413', async () => {
    const bad = await http('POST', `${p.base}/hub/api/users`, { headers: { authorization: `token ${admin}` }, raw: '{"usernames": [' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().code, 'BAD_JSON');
    const big = await http('POST', `${p.base}/hub/api/users`, { headers: { authorization: `token ${admin}` }, raw: JSON.stringify({ usernames: ['x'.repeat(2 * 1024 * 1024)] }) });
    assert.equal(big.status, 413);
    assert.equal(big.json().code, 'BODY_TOO_LARGE');
    const unknown = await p.api('GET', '/hub/api/nothing-here', auth());
    assert.equal(unknown.status, 404);
  });

  test('a failing server reports its exit code and last log lines in progress and in the API', async () => {
    const start = await p.api('POST', '/hub/api/users/alice/server', auth(), { profile: 'broken' });
    assert.ok([500, 202].includes(start.status), start.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${admin}` });
    const last = events.at(-1);
    assert.equal(last.failed, true);
    assert.match(last.message, /exited with code 3/);
    assert.match(last.message, /boom-the-server-failed/);
    const model = (await p.api('GET', '/hub/api/users/alice?include_stopped_servers', auth())).json();
    assert.match(model.servers[''].failure, /boom-the-server-failed/);
  });

  test('a server that never answers fails at the start timeout, and its workload is removed', async () => {
    const t0 = Date.now();
    const start = await p.api('POST', '/hub/api/users/alice/server', auth(), { profile: 'sleepy' });
    assert.equal(start.status, 500, start.text);
    assert.equal(start.json().code, 'SPAWN_FAILED');
    assert.match(start.json().message, /did not answer within 3 seconds/);
    assert.match(start.json().message, /never-listening/);
    assert.ok(Date.now() - t0 < 15_000);
    const model = (await p.api('GET', '/hub/api/users/alice', auth())).json();
    assert.deepEqual(model.servers, {});
  });

  test('tokens: create (201, shown once), list, get, delete; scopes cannot exceed the owner', async () => {
    const aliceToken = await p.token('alice');
    const created = await p.api('POST', '/hub/api/users/alice/tokens', { token: aliceToken }, { note: 'ci', expires_in: 3600, scopes: ['read:users!user=alice'] });
    assert.equal(created.status, 201);
    const tok = created.json();
    assert.equal(typeof tok.token, 'string');
    assert.equal(tok.note, 'ci');
    assert.deepEqual(tok.scopes, ['read:users!user=alice']);
    const list = (await p.api('GET', '/hub/api/users/alice/tokens', { token: aliceToken })).json();
    assert.ok(list.api_tokens.some((t: any) => t.id === tok.id && !('token' in t)));
    assert.equal((await p.api('GET', `/hub/api/users/alice/tokens/${tok.id}`, { token: aliceToken })).json().note, 'ci');
    // the narrow token reads alice but cannot start servers
    const narrow = tok.token as string;
    assert.equal((await p.api('GET', '/hub/api/users/alice', { token: narrow })).status, 200);
    const denied = await p.api('POST', '/hub/api/users/alice/server', { token: narrow }, {});
    assert.equal(denied.status, 403);
    assert.equal(denied.json().code, 'MISSING_SCOPE');
    // alice cannot mint a token with admin powers
    const escalate = await p.api('POST', '/hub/api/users/alice/tokens', { token: aliceToken }, { scopes: ['admin:users'] });
    assert.equal(escalate.status, 403);
    const unknownScope = await p.api('POST', '/hub/api/users/alice/tokens', { token: aliceToken }, { scopes: ['root'] });
    assert.equal(unknownScope.status, 400);
    assert.equal((await p.api('DELETE', `/hub/api/users/alice/tokens/${tok.id}`, { token: aliceToken })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/users/alice', { token: narrow })).status, 403, 'revoked token no longer works');
    assert.equal((await p.api('DELETE', `/hub/api/users/alice/tokens/${tok.id}`, { token: aliceToken })).status, 404);
  });

  test('activity only moves forward; timestamps far in the future are refused', async () => {
    // Half an hour ahead (within the hour allowed): newer than anything alice's server reports itself.
    const recent = new Date(Date.now() + 30 * 60_000).toISOString();
    assert.equal((await p.api('POST', '/hub/api/users/alice/activity', auth(), { last_activity: recent })).status, 200);
    assert.equal((await p.api('POST', '/hub/api/users/alice/activity', auth(), { last_activity: '2020-01-01T00:00:00Z' })).status, 200);
    const model = (await p.api('GET', '/hub/api/users/alice', auth())).json();
    assert.equal(model.last_activity, recent, 'an older report does not move activity back');
    const future = await p.api('POST', '/hub/api/users/alice/activity', auth(), { last_activity: new Date(Date.now() + 3 * 3600e3).toISOString() });
    assert.equal(future.status, 400);
  });
});
