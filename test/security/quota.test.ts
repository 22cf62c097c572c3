import { tinyServerCommand } from '../fixtures/tiny-server.js';
/**
 * Quotas per user and per group, enforced at every start (servers here; clusters through the
 * usage provider they register), with errors that name the limit, where it comes from, the
 * current use and the request. Servers are a tiny real HTTP server, so starts take milliseconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Platform } from '../helpers/platform.js';

const TINY = tinyServerCommand();

describe('quotas', () => {
  let p: Platform;
  let admin: string;
  const tok = {} as Record<string, string>;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }, { name: 'carol', groups: ['physics', 'students'] }, { name: 'dan', groups: ['students'] }],
      config: {
        hub: { namedServerLimitPerUser: 0 },
        culler: { idleTimeout: 0 },
        profiles: [
          { name: 'small', default: true, cores: { choices: [1, 2] }, memory: { choices: ['1G', '2G'] }, command: TINY },
          { name: 'big', cores: { choices: [4, 8] }, memory: { choices: ['8G', '16G'] }, command: TINY },
        ],
        quotas: {
          default: { maxServers: 2, maxCores: 3, maxMemory: '3G', maxClusters: 1, profiles: ['small'] },
          groups: {
            physics: { maxCores: 8, maxMemory: '16G', profiles: ['small', 'big'] },
            students: { maxCores: 2, maxServers: 5 },
          },
          users: { bob: { maxServers: 1 } },
        },
      },
    });
    admin = await p.token('admin');
    for (const u of ['alice', 'bob', 'carol', 'dan']) {
      await p.login(u);
      tok[u] = await p.token(u);
    }
  });
  after(async () => { await p?.close(); });

  const start = (user: string, server: string, body: Record<string, unknown>) =>
    p.api('POST', server ? `/hub/api/users/${user}/servers/${server}` : `/hub/api/users/${user}/server`, { token: tok[user]! }, body);
  const stop = (user: string, server: string) =>
    p.api('DELETE', server ? `/hub/api/users/${user}/servers/${server}` : `/hub/api/users/${user}/server`, { token: admin });

  test('the default limits: servers, then cores, each refused with the limit and the use named', async () => {
    assert.equal((await start('alice', '', { cores: 2, memory: '2G' })).status, 201);
    assert.equal((await start('alice', 'b', { cores: 1, memory: '1G' })).status, 201);
    const third = await start('alice', 'c', { cores: 1, memory: '1G' });
    assert.equal(third.status, 403);
    assert.deepEqual(third.json(), {
      status: 403, code: 'QUOTA_EXCEEDED',
      message: 'Quota exceeded: alice may use at most 2 servers (maxServers, from default); 2 servers in use now, and this server asks for 1 server more.',
      quota: { limit: 'maxServers', allowed: 2, used: 2, requested: 1, source: 'default' },
    });
    assert.equal((await stop('alice', 'b')).status, 204);
    const cores = await start('alice', 'c', { cores: 2, memory: '1G' });
    assert.equal(cores.status, 403);
    assert.equal(cores.json().message, 'Quota exceeded: alice may use at most 3 cores (maxCores, from default); 2 cores in use now, and this server asks for 2 cores more.');
    assert.deepEqual(cores.json().quota, { limit: 'maxCores', allowed: 3, used: 2, requested: 2, source: 'default' });
    const memory = await start('alice', 'c', { cores: 1, memory: '2G' });
    assert.equal(memory.json().message, 'Quota exceeded: alice may use at most 3G (maxMemory, from default); 2G in use now, and this server asks for 2G more.');
    assert.equal((await start('alice', 'c', { cores: 1, memory: '1G' })).status, 201, 'exactly at the limit is allowed');
    const usage = (await p.api('GET', '/hub/api/users/alice/quota', { token: tok.alice! })).json();
    assert.deepEqual(usage.usage, { servers: 2, clusters: 0, cores: 3, memory_bytes: 3e9 });
    assert.deepEqual(usage.limits.maxCores, { value: 3, source: 'default' });
    assert.deepEqual(usage.limits.profiles, { value: ['small'], source: 'default' });
    await stop('alice', '');
    await stop('alice', 'c');
  });

  test('allowed profiles: refused at start and hidden from the start form', async () => {
    const big = await start('alice', '', { profile: 'big', cores: 4, memory: '8G' });
    assert.equal(big.status, 403);
    assert.equal(big.json().message, 'Quota: alice may not use profile big (allowed by default: small).');
    const forAlice = (await p.api('GET', '/hub/api/profiles', { token: tok.alice! })).json().profiles.map((x: any) => x.name);
    assert.deepEqual(forAlice, ['small']);
    const forCarol = (await p.api('GET', '/hub/api/profiles', { token: tok.carol! })).json().profiles.map((x: any) => x.name);
    assert.deepEqual(forCarol, ['small', 'big']);
  });

  test('groups: the most generous entry of each field among the user\'s groups; the user entry wins', async () => {
    // carol: physics (8 cores, 16G) and students (2 cores, 5 servers) → 8 cores, 5 servers, 16G.
    assert.equal((await start('carol', '', { profile: 'big', cores: 8, memory: '16G' })).status, 201);
    const more = await start('carol', 'x', { cores: 1, memory: '1G' });
    assert.equal(more.json().message, 'Quota exceeded: carol may use at most 8 cores (maxCores, from group physics); 8 cores in use now, and this server asks for 1 core more.');
    await stop('carol', '');
    // dan: students only → 2 cores; memory from the default (3G).
    assert.equal((await start('dan', '', { cores: 2, memory: '1G' })).status, 201);
    assert.equal((await start('dan', 'y', { cores: 1, memory: '1G' })).json().quota.source, 'group students');
    await stop('dan', '');
    // bob: his own entry, 1 server.
    assert.equal((await start('bob', '', { cores: 1 })).status, 201);
    const second = await start('bob', 'z', { cores: 1 });
    assert.equal(second.json().message, 'Quota exceeded: bob may use at most 1 server (maxServers, from user); 1 server in use now, and this server asks for 1 server more.');
    await stop('bob', '');
  });

  test('concurrent starts cannot pass a limit together', async () => {
    // alice may use 3 cores: of four 2-core starts at once, exactly one can run.
    const answers = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((s) => start('alice', s, { cores: 2, memory: '1G' })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 403, 403, 403], JSON.stringify(answers.map((a) => a.text)));
    for (const s of ['r1', 'r2', 'r3', 'r4']) await stop('alice', s).catch(() => undefined);
  });

  test('clusters plug in: a registered usage provider counts against cores, memory and clusters', async () => {
    const quota = p.hub!.hub.quota;
    const clusters = new Map([['dan', { clusters: 1, cores: 2, memoryBytes: 2e9 }]]);
    // A stand-in for the clusters service's provider (its own registers as kind "cluster").
    quota.register({
      kind: 'test-cluster',
      async usageOf(user) { return clusters.get(user) ?? {}; },
      async list() {
        return [...clusters].map(([user, u]) => ({ kind: 'test-cluster', user, name: 'c1', state: 'running', started: new Date().toISOString(), lastActivity: null, cores: u.cores, memoryBytes: u.memoryBytes, detail: { workers: 2 }, stopUrl: `/services/dask-gateway/api/v1/clusters/${user}.c1` }));
      },
    });
    // dan's cluster uses his 2 cores (students): a 1-core server no longer fits.
    const server = await start('dan', '', { cores: 1, memory: '1G' });
    assert.equal(server.json().message, 'Quota exceeded: dan may use at most 2 cores (maxCores, from group students); 2 cores in use now, and this server asks for 1 core more.');
    // What the clusters service calls before creating or scaling a cluster.
    const dan = (await p.openStore().then(async (s) => { try { return await s.getUser('dan'); } finally { await s.close(); } }))!;
    await assert.rejects(quota.check({ user: dan, kind: 'cluster', add: { clusters: 1, cores: 0, memoryBytes: 0 } }), {
      code: 'QUOTA_EXCEEDED', message: 'Quota exceeded: dan may use at most 1 cluster (maxClusters, from default); 1 cluster in use now, and this cluster asks for 1 cluster more.',
    });
    await assert.rejects(quota.check({ user: dan, kind: 'cluster', add: { cores: 1, memoryBytes: 0 } }), { code: 'QUOTA_EXCEEDED' });
    const ok = await quota.check({ user: { name: 'carol', groups: ['physics'] }, kind: 'cluster', add: { clusters: 1, cores: 4, memoryBytes: 4e9 } });
    assert.deepEqual(ok.usage, { servers: 0, clusters: 0, cores: 0, memoryBytes: 0 });
    const activity = (await p.api('GET', '/hub/api/admin/activity', { token: admin })).json();
    assert.ok(activity.providers.includes('test-cluster'), activity.providers.join());
    const listed = activity.others.filter((c: any) => c.kind === 'test-cluster');
    assert.deepEqual(listed.map((c: any) => [c.kind, c.user, c.name, c.cores, c.memory_bytes, c.detail.workers, c.stop_url]), [['test-cluster', 'dan', 'c1', 2, 2e9, 2, '/services/dask-gateway/api/v1/clusters/dan.c1']]);
    assert.deepEqual((await p.api('GET', '/hub/api/users/dan/quota', { token: tok.dan! })).json().usage, { servers: 0, clusters: 1, cores: 2, memory_bytes: 2e9 });
    clusters.clear();
  });

  test('refusals are audited with the limit', async () => {
    const entries = (await p.api('GET', '/hub/api/audit?action=quota.exceeded&user=bob', { token: admin })).json().items;
    assert.equal(entries.length, 1);
    assert.equal(entries[0].code, 'QUOTA_EXCEEDED');
    assert.equal(entries[0].target, 'POST /hub/api/users/bob/servers/z');
    assert.deepEqual(entries[0].detail.quota, { limit: 'maxServers', allowed: 1, used: 1, requested: 1, source: 'user' });
  });
});

describe('group totals', () => {
  let p: Platform;
  let admin: string;
  const tok = {} as Record<string, string>;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'erin', groups: ['lab'] }, { name: 'frank', groups: ['lab'] }, { name: 'gina', groups: ['other'] }],
      config: {
        hub: { namedServerLimitPerUser: 0 },
        culler: { idleTimeout: 0 },
        profiles: [{ name: 'small', default: true, cores: { choices: [1, 2] }, memory: { choices: ['1G', '2G'] }, command: TINY }],
        quotas: { default: { maxServers: 5, maxCores: 8 }, groupTotals: { lab: { maxCores: 3, maxServers: 2 } } },
      },
    });
    admin = await p.token('admin');
    for (const u of ['erin', 'frank', 'gina']) {
      await p.login(u);
      tok[u] = await p.token(u);
    }
  });
  after(async () => { await p?.close(); });

  const start = (user: string, server: string, cores: number) =>
    p.api('POST', server ? `/hub/api/users/${user}/servers/${server}` : `/hub/api/users/${user}/server`, { token: tok[user]! }, { cores, memory: '1G' });
  const stop = (user: string, server: string) =>
    p.api('DELETE', server ? `/hub/api/users/${user}/servers/${server}` : `/hub/api/users/${user}/server`, { token: admin });

  test('what the members use together is limited, and the error names the group total', async () => {
    assert.equal((await start('erin', '', 2)).status, 201);
    const over = await start('frank', '', 2);
    assert.equal(over.status, 403);
    assert.deepEqual(over.json(), {
      status: 403, code: 'QUOTA_EXCEEDED',
      message: 'Quota exceeded: the members of group lab may use at most 3 cores together (maxCores, group lab total); 2 cores in use now, and this server of frank asks for 2 cores more.',
      quota: { limit: 'maxCores', allowed: 3, used: 2, requested: 2, source: 'group lab total' },
    });
    assert.equal((await start('frank', '', 1)).status, 201, 'up to the total is allowed');
    const shown = (await p.api('GET', '/hub/api/users/frank/quota', { token: tok.frank! })).json();
    assert.deepEqual(shown.group_totals, [{ group: 'lab', limits: { maxCores: 3, maxServers: 2 }, usage: { servers: 2, clusters: 0, cores: 3, memory_bytes: 2e9 } }]);
    assert.deepEqual(shown.usage, { servers: 1, clusters: 0, cores: 1, memory_bytes: 1e9 });
    assert.deepEqual((await p.api('GET', '/hub/api/users/gina/quota', { token: tok.gina! })).json().group_totals, []);
    const third = await start('erin', 'b', 1);
    assert.equal(third.status, 403);
    assert.equal(third.json().quota.limit, 'maxServers');
    assert.equal((await start('gina', '', 2)).status, 201, 'another group is not limited by it');
    assert.equal((await stop('erin', '')).status, 204);
    assert.equal((await start('erin', 'b', 2)).status, 201, 'room again once a member stops');
    for (const [u, s] of [['erin', 'b'], ['frank', ''], ['gina', '']] as const) assert.equal((await stop(u, s)).status, 204);
  });
});
