/**
 * The isolation matrix: every resource that exists × every kind of actor → the exact status.
 * alice owns a running notebook server (real `jupyter notebook`, HTTP and kernel WebSocket
 * through the proxy). carol is in group `physics`, which holds the config role
 * `alice-collaborators` (use and read alice's servers, read alice's user model): JupyterHub's
 * "shared role" pattern. Each row is one test whose whole row is compared at once, so a failure
 * shows every cell of that resource.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret, newSecret, newTokenId } from '../../src/auth/tokens.js';
import { http } from '../helpers/http.js';
import { openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';

const ACTORS = ['owner', 'other user', 'group member with shared role', 'admin', 'token lacking the scope', 'no credentials', 'expired token', 'token of a deleted user'] as const;
type Actor = (typeof ACTORS)[number];
type Row = Record<Actor, number>;

/** One expected status per actor, in ACTORS order. */
function row(...statuses: number[]): Row {
  assert.equal(statuses.length, ACTORS.length);
  return Object.fromEntries(ACTORS.map((a, i) => [a, statuses[i]!])) as Row;
}

describe('isolation matrix: resources × actors', () => {
  let p: Platform;
  const tokens = {} as Record<Actor, string | null>;
  let kernel = '';

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol', groups: ['physics'] }],
      config: {
        roles: [{
          name: 'alice-collaborators',
          description: "alice's group may use her servers",
          scopes: ['access:servers!user=alice', 'read:servers!user=alice', 'read:users!user=alice'],
          groups: ['physics'],
        }],
      },
    });
    await p.login('carol'); // her groups come from the identity provider at login
    tokens.owner = await p.token('alice');
    tokens['other user'] = await p.token('bob');
    tokens['group member with shared role'] = await p.token('carol');
    tokens.admin = await p.token('admin');
    tokens['token lacking the scope'] = await p.token('alice', ['users:activity!user=alice']);
    tokens['no credentials'] = null;
    const store = await p.openStore();
    try {
      const value = newSecret();
      await store.insertToken({ id: newTokenId(), user: 'alice', hash: hashSecret(value), prefix: value.slice(0, 4), scopes: [], note: 'expired', kind: 'api', created: '2020-01-01T00:00:00.000Z', expiresAt: '2020-01-02T00:00:00.000Z', lastActivity: null });
      tokens['expired token'] = value;
    } finally {
      await store.close();
    }
    tokens['token of a deleted user'] = await p.token('dave');
    assert.equal((await p.api('DELETE', '/hub/api/users/dave', { token: tokens.admin! })).status, 204);

    const start = await p.api('POST', '/hub/api/users/alice/server', { token: tokens.owner! }, { cores: 1 });
    assert.ok([201, 202].includes(start.status), start.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${tokens.owner}` });
    assert.equal(events.at(-1).ready, true, JSON.stringify(events));
    kernel = await startKernel(p.base, '/user/alice/', { authorization: `token ${tokens.owner}` });
  });
  after(async () => { await p?.close(); });

  function headers(actor: Actor): Record<string, string> {
    const t = tokens[actor];
    return t ? { authorization: `token ${t}` } : {};
  }

  /** The status each actor gets for one request. */
  async function statuses(method: string, path: string, body?: unknown): Promise<Row> {
    const out = {} as Row;
    for (const actor of ACTORS) out[actor] = (await http(method, `${p.base}${path}`, { headers: headers(actor), body })).status;
    return out;
  }

  test('server over HTTP through the proxy: GET /user/alice/api/status', async () => {
    assert.deepEqual(await statuses('GET', '/user/alice/api/status'), row(200, 403, 200, 200, 403, 403, 403, 403));
  });

  test("server over WebSocket through the proxy: alice's kernel channels (101 = open)", async () => {
    const out = {} as Row;
    for (const actor of ACTORS) {
      try {
        const ws = await openChannels(p.base, '/user/alice/', kernel, headers(actor));
        out[actor] = 101;
        ws.close();
      } catch (err) {
        out[actor] = (err as { status?: number }).status ?? -1;
      }
    }
    assert.deepEqual(out, row(101, 403, 101, 101, 403, 403, 403, 403));
  });

  test('server API, read: GET /hub/api/users/alice/server/progress', async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/users/alice/server/progress'), row(200, 403, 200, 200, 403, 403, 403, 403));
  });

  test('server API, start: POST /hub/api/users/alice/servers/x (allowed callers reach validation: 400)', async () => {
    assert.deepEqual(await statuses('POST', '/hub/api/users/alice/servers/x', { profile: 'no-such-profile' }), row(400, 403, 403, 400, 403, 403, 403, 403));
  });

  test('server API, stop: DELETE /hub/api/users/alice/servers/nothing (allowed callers reach the lookup: 404)', async () => {
    assert.deepEqual(await statuses('DELETE', '/hub/api/users/alice/servers/nothing'), row(404, 403, 403, 404, 403, 403, 403, 403));
  });

  test("tokens: GET /hub/api/users/alice/tokens", async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/users/alice/tokens'), row(200, 403, 403, 200, 403, 403, 403, 403));
  });

  test("tokens: POST /hub/api/users/alice/tokens (mint a token for alice)", async () => {
    assert.deepEqual(await statuses('POST', '/hub/api/users/alice/tokens', { note: 'matrix' }), row(201, 403, 403, 201, 403, 403, 403, 403));
  });

  test('users: GET /hub/api/users/alice', async () => {
    // users:activity holds read:users:activity, which reads the activity fields of the model, as in
    // JupyterHub (its GET /users/{name} takes any read:users:* scope): that token sees only those.
    assert.deepEqual(await statuses('GET', '/hub/api/users/alice'), row(200, 403, 200, 200, 200, 403, 403, 403));
    const narrow = await http('GET', `${p.base}/hub/api/users/alice`, { headers: headers('token lacking the scope') });
    assert.deepEqual(Object.keys(narrow.json()).sort(), ['kind', 'last_activity', 'name']);
  });

  test('users: GET /hub/api/users (the list)', async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/users'), row(403, 403, 403, 200, 403, 403, 403, 403));
  });

  test('users: PATCH /hub/api/users/alice {blocked: false}', async () => {
    // The admin's own PATCH unblocks at once below; nobody else may change alice.
    const out = await statuses('PATCH', '/hub/api/users/alice', { blocked: false });
    assert.deepEqual(out, row(403, 403, 403, 200, 403, 403, 403, 403));
  });

  test("quota: GET /hub/api/users/alice/quota", async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/users/alice/quota'), row(200, 403, 200, 200, 403, 403, 403, 403));
  });

  test('groups: GET /hub/api/groups/physics', async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/groups/physics'), row(403, 403, 403, 200, 403, 403, 403, 403));
  });

  test('roles: GET /hub/api/roles', async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/roles'), row(403, 403, 403, 200, 403, 403, 403, 403));
  });

  test("audit: GET /hub/api/audit?user=alice (entries by or about alice)", async () => {
    assert.deepEqual(await statuses('GET', '/hub/api/audit?user=alice'), row(200, 403, 403, 200, 403, 403, 403, 403));
  });

  test('audit: GET /hub/api/audit (the whole log)', async () => {
    // Users read only what concerns them: 200 with their own entries; the rest have no read:audit.
    const out = await statuses('GET', '/hub/api/audit');
    assert.deepEqual(out, row(200, 200, 200, 200, 403, 403, 403, 403));
    const bobsView = (await http('GET', `${p.base}/hub/api/audit?limit=500`, { headers: headers('other user') })).json();
    assert.ok(bobsView.items.length > 0);
    for (const e of bobsView.items) assert.ok(e.actor === 'bob' || e.target_user === 'bob', JSON.stringify(e));
  });

  test('the whole matrix was real: alice is still running and her server answers her', async () => {
    assert.equal((await http('GET', `${p.base}/user/alice/api/status`, { headers: headers('owner') })).status, 200);
    const model = (await p.api('GET', '/hub/api/users/alice', { token: tokens.admin! })).json();
    assert.equal(model.servers[''].ready, true);
  });

  test("no hub credential reaches the user's workload: not in the pod spec, not in the pod's files", async () => {
    const secretsDir = join(p.dataDir, 'secrets');
    const secrets = readdirSync(secretsDir).map((f) => [f, readFileSync(join(secretsDir, f), 'utf8').trim()] as const).filter(([, v]) => v.length >= 16);
    assert.ok(secrets.some(([f]) => f === 'proxy-token') && secrets.some(([f]) => f === 'idp-client-secret'), secrets.map(([f]) => f).join());
    const store = await p.openStore();
    const row = await store.getServer('alice', '');
    await store.close();
    const places: Array<[string, string]> = [['pod spec', JSON.stringify(row!.spawnState)]];
    const podDir = join(p.dataDir, 'executors', 'local', 'pods', row!.podUid!);
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const path = join(dir, f);
        if (statSync(path).isDirectory()) walk(path);
        else if (statSync(path).size < 5_000_000) places.push([path, readFileSync(path, 'latin1')]);
      }
    };
    walk(podDir);
    assert.ok(places.length > 1, 'the pod has files');
    for (const [name, secret] of secrets) {
      for (const [where, text] of places) assert.equal(text.includes(secret), false, `${name} found in ${where}`);
    }
  });

  describe('clusters, dashboards, workloads and logs', () => {
    let cluster = '';
    let podUid = '';

    before(async () => {
      const created = await http('POST', `${p.base}/services/dask-gateway/api/v1/clusters/`, { headers: headers('owner'), body: { cluster_options: {} } });
      assert.equal(created.status, 201, created.text);
      cluster = created.json().name;
      const ready = await http('GET', `${p.base}/services/dask-gateway/api/v1/clusters/${cluster}?wait`, { headers: headers('owner') });
      assert.equal(ready.json().status, 'RUNNING', ready.text);
      const store = await p.openStore();
      podUid = (await store.getServer('alice', ''))!.podUid!;
      await store.close();
    });

    test("clusters: GET alice's cluster through the dask-gateway API", async () => {
      // dask-gateway answers a request without (valid) credentials with 401 and WWW-Authenticate.
      assert.deepEqual(await statuses('GET', `/services/dask-gateway/api/v1/clusters/${cluster}`), row(200, 403, 403, 200, 403, 401, 401, 401));
    });

    test("clusters: scale alice's cluster", async () => {
      assert.deepEqual(await statuses('POST', `/services/dask-gateway/api/v1/clusters/${cluster}/scale`, { count: 0 }), row(200, 403, 403, 200, 403, 401, 401, 401));
    });

    test("dashboards: alice's cluster dashboard through the proxy", async () => {
      // The scheduler answers its root with a redirect to its status page: allowed callers get it.
      assert.deepEqual(await statuses('GET', `/clusters/${cluster}/`), row(302, 403, 403, 302, 403, 403, 403, 403));
    });

    test("workloads: GET /hub/api/workloads lists only what the caller may see", async () => {
      assert.deepEqual(await statuses('GET', '/hub/api/workloads'), row(200, 200, 200, 200, 200, 403, 403, 403));
      const bobs = await http('GET', `${p.base}/hub/api/workloads`, { headers: headers('other user') });
      assert.equal(bobs.text.includes(podUid), false, "bob's list does not show alice's pod");
      const alices = await http('GET', `${p.base}/hub/api/workloads`, { headers: headers('owner') });
      assert.equal(alices.text.includes(podUid), true);
    });

    test("logs: alice's notebook pod log", async () => {
      // Someone else's pod is not found rather than forbidden, so its existence does not leak.
      assert.deepEqual(await statuses('GET', `/hub/api/workloads/${podUid}/logs?tail=5`), row(200, 404, 200, 200, 404, 403, 403, 403));
    });

    after(async () => {
      await http('DELETE', `${p.base}/services/dask-gateway/api/v1/clusters/${cluster}`, { headers: headers('owner') });
    });
  });
});
