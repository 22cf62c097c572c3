/**
 * The store's behaviour suite: what every backend must do, asserted with exact values.
 * store.test.ts runs it on SQLite (a temp file) and on a real PostgreSQL server.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createStore, KyselyStore, SCHEMA_VERSION } from '../../src/store/index.js';
import type { LoginStateRow, SessionRow, TokenRow, UserRow } from '../../src/store/types.js';
import { server, seedRows, T0 } from './seed.js';
import { unixIdentityBehaviour } from './unix-identities.js';
import { oauthBehaviour } from './oauth.js';

const run = promisify(execFile);
/** Every migration version, 1 … SCHEMA_VERSION (other parts append migrations). */
const ALL_VERSIONS = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);

/** What the suite needs from a backend: a fresh empty database per test, and raw SQL on it. */
export interface BackendUnderTest {
  name: 'sqlite' | 'postgres';
  freshUrl(): Promise<string>;
  /** Runs one SQL statement outside the store (to inspect or tamper with the database). */
  rawQuery(url: string, text: string): Promise<Record<string, unknown>[]>;
}

function token(user: string, id: string, extra: Partial<TokenRow> = {}): TokenRow {
  return {
    id, user, hash: `hash-${id}`, prefix: id.slice(0, 4), scopes: ['read:users'], note: `note ${id}`,
    kind: 'api', created: T0, expiresAt: null, lastActivity: null, oauthClient: null, sessionId: null, ...extra,
  };
}

function user(name: string, extra: Partial<UserRow> = {}): UserRow {
  return { name, admin: false, blocked: false, created: T0, lastActivity: null, groups: [], ...extra };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const storeModule = new URL('../../src/store/index.js', import.meta.url).href;

/** How a part of the suite gets its store (see `fresh` in behaviourSuite). */
export type FreshStore = (t: TestContext) => Promise<{ store: KyselyStore; url: string }>;

export function behaviourSuite(b: BackendUnderTest): void {
  /** A migrated store on an empty database, closed after the test; timestamps pinned to T0. */
  async function fresh(t: TestContext): Promise<{ store: KyselyStore; url: string }> {
    const url = await b.freshUrl();
    const store = await createStore(url, { now: () => T0 });
    t.after(() => store.close());
    return { store, url };
  }

  describe('schema', () => {
    test('migrate is idempotent and keeps data across re-opening', async (t) => {
      const { store, url } = await fresh(t);
      await store.migrate();
      await store.migrate();
      assert.deepEqual(await store.schemaVersions(), ALL_VERSIONS);
      await store.createUsers(['ada']);
      const again = await createStore(url);
      t.after(() => again.close());
      await again.migrate();
      assert.deepEqual(await again.schemaVersions(), ALL_VERSIONS);
      assert.deepEqual((await again.getUser('ada'))?.name, 'ada');
    });

    test('three processes migrating one fresh database at once apply each version exactly once', async () => {
      const url = await b.freshUrl();
      // Each process loads the module, then waits for a common instant before opening the
      // database and migrating, so the three really race (node's start-up jitter is larger
      // than a migration).
      const code = `const { createStore } = await import(process.argv[1]);
        await new Promise((r) => setTimeout(r, Number(process.argv[3]) - Date.now()));
        const s = await createStore(process.argv[2], { migrate: false });
        await s.migrate(); await s.close();`;
      const startAt = String(Date.now() + 1500);
      const results = await Promise.allSettled([1, 2, 3].map(() =>
        run(process.execPath, ['--input-type=module', '-e', code, storeModule, url, startAt], { env: { ...process.env, HIGHRATE_LOG_LEVEL: 'error' }, timeout: 30_000 })));
      for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      const rows = await b.rawQuery(url, 'select version from schema_version order by version');
      assert.deepEqual(rows.map((r) => Number(r.version)), ALL_VERSIONS);
      const store = await createStore(url);
      try {
        assert.equal((await store.createUsers(['after']))[0]!.name, 'after');
      } finally {
        await store.close();
      }
    });

    test('a schema newer than the code is refused with CONFIG_INVALID', async (t) => {
      const { store, url } = await fresh(t);
      await b.rawQuery(url, `insert into schema_version (version, applied) values (999, '${T0}')`);
      await assert.rejects(store.migrate(), {
        name: 'HighrateError', code: 'CONFIG_INVALID',
        message: `The store's schema is version 999, newer than this highrate understands (${SCHEMA_VERSION}); upgrade highrate.`,
      });
    });
  });

  describe('users', () => {
    test('createUsers returns and stores exact rows; getUser of a stranger is null', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.createUsers([]), []);
      const rows = await store.createUsers(['bob', 'alice', 'bob'], { admin: true });
      assert.deepEqual(rows, [user('bob', { admin: true }), user('alice', { admin: true })]);
      assert.deepEqual(await store.getUser('alice'), user('alice', { admin: true }));
      assert.equal(await store.getUser('nobody'), null);
      const plain = await store.createUsers(['carol']);
      assert.deepEqual(plain, [user('carol')]);
      assert.equal(typeof (await store.getUser('carol'))!.admin, 'boolean');
    });

    test('createUsers is all-or-none: one existing name → USER_EXISTS naming it, nothing inserted', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['bob', 'dave']);
      await assert.rejects(store.createUsers(['new1', 'dave', 'bob', 'new2']), {
        name: 'HighrateError', code: 'USER_EXISTS', status: 409, message: 'User dave already exists',
      });
      assert.equal(await store.getUser('new1'), null);
      assert.equal(await store.getUser('new2'), null);
      assert.deepEqual((await store.listUsers()).users.map((u) => u.name), ['bob', 'dave']);
    });

    test('concurrent createUsers of the same name: exactly one succeeds', async (t) => {
      const { store } = await fresh(t);
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => store.createUsers(['race'])));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'USER_EXISTS');
      }
      assert.equal((await store.listUsers()).total, 1);
    });

    test('listUsers pages by name with offset/limit and counts the total', async (t) => {
      const { store } = await fresh(t);
      const names = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(2, '0')}`);
      await store.createUsers([...names].reverse());
      const all = await store.listUsers();
      assert.deepEqual(all.users.map((u) => u.name), names);
      assert.equal(all.total, 25);
      const page = await store.listUsers({ offset: 10, limit: 5 });
      assert.deepEqual(page, { users: names.slice(10, 15).map((n) => user(n)), total: 25 });
      assert.deepEqual((await store.listUsers({ offset: 22, limit: 5 })).users.map((u) => u.name), ['u22', 'u23', 'u24']);
      assert.deepEqual(await store.listUsers({ offset: 30, limit: 5 }), { users: [], total: 25 });
      assert.deepEqual(await store.listUsers({ limit: 0 }), { users: [], total: 25 });
      assert.deepEqual((await store.listUsers({ offset: 23 })).users.map((u) => u.name), ['u23', 'u24']);
      await assert.rejects(store.listUsers({ offset: -1 }), { code: 'BAD_REQUEST', status: 400 });
      await assert.rejects(store.listUsers({ limit: 1.5 }), { code: 'BAD_REQUEST', status: 400 });
      await assert.rejects(store.listUsers({ state: 'gone' as 'ready' }), { code: 'BAD_REQUEST', status: 400 });
    });

    test('names sort in byte order on every backend', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['b', 'a', 'B', '_x', 'A1', 'é', 'z']);
      assert.deepEqual((await store.listUsers()).users.map((u) => u.name), ['A1', 'B', '_x', 'a', 'b', 'z', 'é']);
    });

    test('state filters follow JupyterHub: active, ready, inactive', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['a-none', 'b-stopped', 'c-starting', 'd-running', 'e-stopping', 'f-mixed', 'g-two']);
      await store.putServer(server('b-stopped', '', 'stopped'));
      await store.putServer(server('c-starting', '', 'starting'));
      await store.putServer(server('d-running', '', 'running'));
      await store.putServer(server('e-stopping', '', 'stopping'));
      await store.putServer(server('f-mixed', '', 'stopped'));
      await store.putServer(server('f-mixed', 'gpu', 'running'));
      await store.putServer(server('g-two', 'x', 'running'));
      await store.putServer(server('g-two', 'y', 'starting'));
      const names = async (q: Parameters<KyselyStore['listUsers']>[0]) => {
        const r = await store.listUsers(q);
        return { names: r.users.map((u) => u.name), total: r.total };
      };
      assert.deepEqual(await names({ state: 'active' }), { names: ['c-starting', 'd-running', 'e-stopping', 'f-mixed', 'g-two'], total: 5 });
      assert.deepEqual(await names({ state: 'ready' }), { names: ['d-running', 'f-mixed', 'g-two'], total: 3 });
      assert.deepEqual(await names({ state: 'inactive' }), { names: ['a-none', 'b-stopped'], total: 2 });
      assert.deepEqual(await names({ state: 'active', offset: 1, limit: 2 }), { names: ['d-running', 'e-stopping'], total: 5 });
      assert.deepEqual(await names({ state: 'ready', nameContains: 'MIX' }), { names: ['f-mixed'], total: 1 });
      assert.deepEqual(await names({ state: 'inactive', nameContains: 'run' }), { names: [], total: 0 });
    });

    test('nameContains is a case-insensitive literal substring (no wildcards)', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['Alice', 'malice', 'bob', 'x_y', 'xzy', 'p%q', 'pq', 'back\\slash']);
      const names = async (s: string) => (await store.listUsers({ nameContains: s })).users.map((u) => u.name);
      assert.deepEqual(await names('ALI'), ['Alice', 'malice']);
      assert.deepEqual(await names('_'), ['x_y']);
      assert.deepEqual(await names('%'), ['p%q']);
      assert.deepEqual(await names('\\'), ['back\\slash']);
      assert.deepEqual(await names('nobody'), []);
      assert.deepEqual((await store.listUsers({ nameContains: 'li', limit: 1 })).total, 2);
    });

    test('activeSince keeps users active at or after an instant; a bad instant is BAD_REQUEST', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['never', 'old', 'edge', 'new']);
      await store.upsertUser('old', { lastActivity: '2026-11-01T09:59:59.999Z' });
      await store.upsertUser('edge', { lastActivity: '2026-11-01T10:00:00.000Z' });
      await store.upsertUser('new', { lastActivity: '2026-12-01T00:00:00.000Z' });
      const names = async (since: string) => {
        const r = await store.listUsers({ activeSince: since });
        return { names: r.users.map((u) => u.name), total: r.total };
      };
      assert.deepEqual(await names('2026-11-01T10:00:00.000Z'), { names: ['edge', 'new'], total: 2 });
      // Another spelling of the same instant counts the same.
      assert.deepEqual(await names('2026-11-01T11:00:00+01:00'), { names: ['edge', 'new'], total: 2 });
      assert.deepEqual(await names('2026-12-02T00:00:00Z'), { names: [], total: 0 });
      assert.deepEqual((await store.listUsers({ activeSince: '2026-01-01T00:00:00Z', nameContains: 'e', limit: 0 })).total, 2);
      await assert.rejects(store.listUsers({ activeSince: 'yesterday' }), { code: 'BAD_REQUEST' });
    });

    test('touchUser moves activity forward only and never creates a user', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['ann']);
      assert.equal(await store.touchUser('ann', '2026-11-01T10:00:00.000Z'), true);
      assert.equal(await store.touchUser('ann', '2026-11-01T09:00:00.000Z'), false);
      assert.equal(await store.touchUser('ann', '2026-11-01T10:00:00.000Z'), false);
      assert.deepEqual(await store.getUser('ann'), user('ann', { lastActivity: '2026-11-01T10:00:00.000Z' }));
      assert.equal(await store.touchUser('ann', '2026-11-02T00:00:00.000Z'), true);
      assert.equal((await store.getUser('ann'))?.lastActivity, '2026-11-02T00:00:00.000Z');
      assert.equal(await store.touchUser('gone', '2026-11-02T00:00:00.000Z'), false);
      assert.equal(await store.getUser('gone'), null);
    });

    test('upsertUser creates a missing user, sets only the given fields and syncs groups', async (t) => {
      const { store } = await fresh(t);
      assert.deepEqual(await store.upsertUser('eve', {}), user('eve'));
      assert.deepEqual(await store.upsertUser('eve', { groups: ['physics', 'atlas', 'physics'] }), user('eve', { groups: ['atlas', 'physics'] }));
      await store.upsertUser('max', { groups: ['atlas', 'cms'] });
      // add one
      assert.deepEqual((await store.upsertUser('eve', { groups: ['atlas', 'physics', 'zz'] })).groups, ['atlas', 'physics', 'zz']);
      // remove one
      assert.deepEqual((await store.upsertUser('eve', { groups: ['atlas', 'zz'] })).groups, ['atlas', 'zz']);
      // replace all
      assert.deepEqual((await store.upsertUser('eve', { groups: ['lhcb'] })).groups, ['lhcb']);
      // fields without groups leave groups alone
      const later = '2031-05-06T07:08:09.000Z';
      assert.deepEqual(await store.upsertUser('eve', { admin: true, lastActivity: later }),
        user('eve', { admin: true, lastActivity: later, groups: ['lhcb'] }));
      assert.deepEqual(await store.upsertUser('eve', { blocked: true, admin: false }),
        user('eve', { blocked: true, lastActivity: later, groups: ['lhcb'] }));
      assert.deepEqual((await store.upsertUser('eve', { groups: [] })).groups, []);
      assert.deepEqual(await store.getUser('max'), user('max', { groups: ['atlas', 'cms'] }));
      assert.deepEqual((await store.listUsers()).users.map((u) => [u.name, u.groups]), [['eve', []], ['max', ['atlas', 'cms']]]);
    });

    test('deleteUser removes the user with servers, tokens, sessions and memberships', async (t) => {
      const { store } = await fresh(t);
      await store.upsertUser('gone', { groups: ['g1'] });
      await store.upsertUser('stays', { groups: ['g1'] });
      await store.putServer(server('gone', '', 'running'));
      await store.putServer(server('gone', 'named', 'stopped'));
      await store.putServer(server('stays', '', 'running'));
      await store.insertToken(token('gone', 'a1'));
      await store.insertToken(token('stays', 'a2'));
      await store.insertSession({ hash: 's-gone', user: 'gone', xsrf: 'x', created: T0, expiresAt: T0 });
      await store.insertSession({ hash: 's-stays', user: 'stays', xsrf: 'x', created: T0, expiresAt: T0 });
      assert.equal(await store.deleteUser('gone'), true);
      assert.equal(await store.deleteUser('gone'), false);
      assert.equal(await store.getUser('gone'), null);
      assert.deepEqual(await store.listServers('gone'), []);
      assert.equal(await store.getTokenByHash('hash-a1'), null);
      assert.equal(await store.getSession('s-gone'), null);
      assert.deepEqual((await store.listActiveServers()).map((s) => s.user), ['stays']);
      assert.equal((await store.getTokenByHash('hash-a2'))?.id, 'a2');
      assert.equal((await store.getSession('s-stays'))?.user, 'stays');
      assert.deepEqual((await store.getUser('stays'))?.groups, ['g1']);
      assert.deepEqual(await store.upsertUser('gone', {}), user('gone'));
    });
  });

  describe('servers', () => {
    test('put/get/list; put replaces the whole row; unknown user → USER_NOT_FOUND', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['ann', 'ben', 'cat']);
      const full = server('ann', '', 'running', {
        userOptions: { profile: 'large', cores: 4, memory: '8G', image: 'jupyter' },
        started: T0, lastActivity: T0, url: 'http://127.0.0.1:4242/user/ann/', executor: 'local',
        podUid: 'uid-1', secret: 's3cret', failure: null, spawnState: { port: 4242 },
      });
      await store.putServer(full);
      assert.deepEqual(await store.getServer('ann', ''), full);
      const replaced = server('ann', '', 'stopped', { failure: 'exit 1' });
      await store.putServer(replaced);
      assert.deepEqual(await store.getServer('ann', ''), replaced);
      await store.putServer(server('ann', 'zeta', 'starting'));
      await store.putServer(server('ann', 'alpha', 'stopped'));
      await store.putServer(server('ben', '', 'stopping'));
      assert.deepEqual((await store.listServers('ann')).map((s) => s.name), ['', 'alpha', 'zeta']);
      assert.equal(await store.getServer('ann', 'nope'), null);
      assert.equal(await store.getServer('nope', ''), null);
      const of = await store.listServersOf(['ben', 'ann', 'cat', 'nobody']);
      assert.deepEqual([...of.keys()], ['ben', 'ann', 'cat', 'nobody']);
      assert.deepEqual(of.get('ann')!.map((s) => s.name), ['', 'alpha', 'zeta']);
      assert.deepEqual(of.get('ben'), [server('ben', '', 'stopping')]);
      assert.deepEqual(of.get('cat'), []);
      assert.deepEqual((await store.listServersOf([])).size, 0);
      assert.deepEqual((await store.listActiveServers()).map((s) => `${s.user}/${s.name}:${s.state}`), ['ann/zeta:starting', 'ben/:stopping']);
      await assert.rejects(store.putServer(server('ghost', '', 'starting')), {
        name: 'HighrateError', code: 'USER_NOT_FOUND', status: 404, message: 'No such user: ghost',
      });
    });

    test('listServersOf answers for more users than one IN list holds', async (t) => {
      const { store } = await fresh(t);
      const names = Array.from({ length: 1200 }, (_, i) => `n${String(i).padStart(4, '0')}`);
      await store.createUsers(names);
      await store.putServer(server('n0003', '', 'running'));
      await store.putServer(server('n1111', '', 'running'));
      const of = await store.listServersOf(names);
      assert.equal(of.size, 1200);
      assert.deepEqual([...of.entries()].filter(([, s]) => s.length > 0).map(([u]) => u), ['n0003', 'n1111']);
    });

    test('transitionServer is a compare-and-set on state', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['kim']);
      await store.putServer(server('kim', '', 'stopped', { failure: 'old failure' }));
      assert.equal(await store.transitionServer('kim', '', 'stopped', { state: 'starting', failure: null, started: T0 }), true);
      assert.deepEqual(await store.getServer('kim', ''), server('kim', '', 'starting', { started: T0 }));
      // wrong from-state: nothing changes
      assert.equal(await store.transitionServer('kim', '', 'stopped', { state: 'starting', failure: 'should not be set' }), false);
      assert.deepEqual(await store.getServer('kim', ''), server('kim', '', 'starting', { started: T0 }));
      // a patch without state keeps the state but still needs it to match
      assert.equal(await store.transitionServer('kim', '', 'starting', { url: 'http://x/' }), true);
      assert.equal((await store.getServer('kim', ''))!.url, 'http://x/');
      assert.equal(await store.transitionServer('kim', 'nope', 'starting', { state: 'running' }), false);
      assert.equal(await store.transitionServer('nobody', '', 'starting', { state: 'running' }), false);
    });

    test('concurrent transitions from the same state: exactly one wins', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['lee']);
      await store.putServer(server('lee', '', 'stopped'));
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        store.transitionServer('lee', '', 'stopped', { state: 'starting', podUid: `uid-${i}` })));
      assert.equal(wins.filter(Boolean).length, 1);
      const winner = wins.indexOf(true);
      assert.equal((await store.getServer('lee', ''))!.podUid, `uid-${winner}`);
    });

    test('updateServer sets only the given fields, null clears; deleteServer reports', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['mo']);
      const base = server('mo', 'n', 'running', { url: 'http://a/', secret: 'k', lastActivity: T0, spawnState: { a: 1 } });
      await store.putServer(base);
      const later = '2030-02-02T00:00:00.000Z';
      await store.updateServer('mo', 'n', { lastActivity: later, url: null, spawnState: { b: [2] } });
      assert.deepEqual(await store.getServer('mo', 'n'), { ...base, lastActivity: later, url: null, spawnState: { b: [2] } });
      await store.updateServer('mo', 'n', {});
      await store.updateServer('mo', 'missing', { state: 'running' });
      assert.equal(await store.getServer('mo', 'missing'), null);
      assert.equal(await store.deleteServer('mo', 'n'), true);
      assert.equal(await store.deleteServer('mo', 'n'), false);
      assert.equal(await store.getServer('mo', 'n'), null);
    });

    test('userOptions and spawnState round-trip nested JSON and unicode exactly', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['uni']);
      const userOptions = { profile: 'gpu', cores: 2.5, memory: '4G', image: 'ghcr.io/x/y:1', extra: { tags: ['α', 'β'], on: true, off: false, none: null } };
      const spawnState = {
        pod: { metadata: { name: 'jupyter-uni', labels: { 'highrate/role': 'server' } }, spec: { containers: [{ args: ['--ip=127.0.0.1', "it's \"quoted\" \\ back"] }] } },
        text: 'Grüße, 世界 🚀 e\u0301 \u0000 \n\t end', big: 12345678901234, neg: -0.5, empty: {}, list: [],
      };
      await store.putServer(server('uni', 'ü-名', 'starting', { userOptions, spawnState }));
      const got = await store.getServer('uni', 'ü-名');
      assert.deepEqual(got!.userOptions, userOptions);
      assert.deepEqual(got!.spawnState, spawnState);
      await store.updateServer('uni', 'ü-名', { spawnState: { replaced: '✓' } });
      assert.deepEqual((await store.listServers('uni'))[0]!.spawnState, { replaced: '✓' });
    });
  });

  describe('tokens, sessions, login states', () => {
    test('tokens: insert, lookups, list, touch, delete, expiry', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['tia', 'tom']);
      const t1 = token('tia', 'a1', { created: '2030-01-01T00:00:00.000Z', scopes: ['servers!user=tia', 'read:users'], kind: 'session' });
      const t2 = token('tia', 'a2', { created: '2030-01-03T00:00:00.000Z', expiresAt: '2030-01-10T00:00:00.000Z' });
      const t3 = token('tom', 'a3', { expiresAt: '2030-01-05T00:00:00.000Z', scopes: [] });
      for (const x of [t2, t1, t3]) await store.insertToken(x);
      assert.deepEqual(await store.getTokenByHash('hash-a1'), t1);
      assert.equal(await store.getTokenByHash('nope'), null);
      assert.deepEqual(await store.getToken('tia', 'a2'), t2);
      assert.equal(await store.getToken('tom', 'a2'), null);
      assert.deepEqual(await store.listTokens('tia'), [t1, t2]);
      assert.deepEqual(await store.listTokens('nobody'), []);
      await store.touchToken('a1', '2030-01-04T00:00:00.000Z');
      assert.equal((await store.getToken('tia', 'a1'))!.lastActivity, '2030-01-04T00:00:00.000Z');
      await assert.rejects(store.insertToken(token('tia', 'a9', { hash: 'hash-a1' })), { code: 'CONFLICT', status: 409 });
      await assert.rejects(store.insertToken(token('tia', 'a1', { hash: 'fresh' })), { code: 'CONFLICT', status: 409 });
      await assert.rejects(store.insertToken(token('ghost', 'a8')), { code: 'USER_NOT_FOUND', message: 'No such user: ghost' });
      // a3 expired (Jan 5 < Jan 6); a2 not yet; a1 never expires
      assert.equal(await store.deleteExpiredTokens('2030-01-06T00:00:00.000Z'), 1);
      assert.equal(await store.getTokenByHash('hash-a3'), null);
      assert.equal(await store.deleteExpiredTokens('2030-01-06T00:00:00.000Z'), 0);
      assert.equal(await store.deleteToken('tom', 'a2'), false);
      assert.equal(await store.deleteToken('tia', 'a2'), true);
      assert.equal(await store.deleteToken('tia', 'a2'), false);
      assert.deepEqual((await store.listTokens('tia')).map((x) => x.id), ['a1']);
    });

    test('sessions: insert, get, delete one, delete all of a user, expire', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['sam', 'sue']);
      const s1: SessionRow = { hash: 'h1', user: 'sam', xsrf: 'x1', created: T0, expiresAt: '2030-01-03T00:00:00.000Z' };
      const s2: SessionRow = { hash: 'h2', user: 'sam', xsrf: 'x2', created: T0, expiresAt: '2030-02-01T00:00:00.000Z' };
      const s3: SessionRow = { hash: 'h3', user: 'sue', xsrf: 'x3', created: T0, expiresAt: '2030-02-01T00:00:00.000Z' };
      for (const s of [s1, s2, s3]) await store.insertSession(s);
      assert.deepEqual(await store.getSession('h1'), s1);
      assert.equal(await store.getSession('nope'), null);
      await assert.rejects(store.insertSession(s1), { code: 'CONFLICT' });
      await assert.rejects(store.insertSession({ ...s1, hash: 'h9', user: 'ghost' }), { code: 'USER_NOT_FOUND' });
      assert.equal(await store.deleteExpiredSessions('2030-01-04T00:00:00.000Z'), 1);
      assert.equal(await store.getSession('h1'), null);
      await store.deleteSession('h2');
      assert.equal(await store.getSession('h2'), null);
      await store.insertSession({ ...s1, hash: 'h4', user: 'sue' });
      await store.deleteSessionsOf('sue');
      assert.equal(await store.getSession('h3'), null);
      assert.equal(await store.getSession('h4'), null);
    });

    test('login states are single use, also under concurrent callbacks', async (t) => {
      const { store } = await fresh(t);
      const l1: LoginStateRow = { state: 'st1', codeVerifier: 'v1', nonce: 'n1', next: '/hub/home', created: '2030-01-01T00:00:00.000Z' };
      const l2: LoginStateRow = { state: 'st2', codeVerifier: 'v2', nonce: 'n2', next: '/user/a/lab?x=1', created: '2030-01-02T00:00:00.000Z' };
      await store.insertLoginState(l1);
      await store.insertLoginState(l2);
      await assert.rejects(store.insertLoginState(l1), { code: 'CONFLICT' });
      assert.deepEqual(await store.takeLoginState('st1'), l1);
      assert.equal(await store.takeLoginState('st1'), null);
      const takes = await Promise.all([1, 2, 3, 4].map(() => store.takeLoginState('st2')));
      assert.deepEqual(takes.filter((x) => x !== null), [l2]);
      await store.insertLoginState({ ...l1, state: 'old' });
      await store.insertLoginState({ ...l2, state: 'new' });
      assert.equal(await store.deleteLoginStatesBefore('2030-01-01T12:00:00.000Z'), 1);
      assert.equal(await store.takeLoginState('old'), null);
      assert.equal((await store.takeLoginState('new'))?.nonce, 'n2');
    });
  });

  unixIdentityBehaviour(b, fresh);
  oauthBehaviour(fresh);

  describe('scale', () => {
    test('10,000 users + 1,000 running servers: a page of 200 with its servers is fast', async (t) => {
      const { store } = await fresh(t);
      const { users, servers } = seedRows(10_000, 1_000);
      const t0 = performance.now();
      await store.bulkInsertForBench(users, servers);
      t.diagnostic(`${b.name}: seeded 10,000 users + ${servers.length} servers in ${(performance.now() - t0).toFixed(0)} ms`);
      const times: number[] = [];
      for (let i = 0; i < 30; i++) {
        const offset = (i * 1_733) % 9_800;
        const s = performance.now();
        const page = await store.listUsers({ offset, limit: 200 });
        const of = await store.listServersOf(page.users.map((u) => u.name));
        times.push(performance.now() - s);
        assert.equal(page.total, 10_000);
        assert.equal(page.users.length, 200);
        assert.equal(page.users[0]!.name, users[offset]!.name);
        assert.equal(of.size, 200);
      }
      const ms = median(times);
      t.diagnostic(`${b.name}: listUsers(page of 200) + listServersOf: median ${ms.toFixed(2)} ms over 30`);
      assert.ok(ms < 200, `median ${ms} ms`);
      const ready = await store.listUsers({ state: 'ready', limit: 200 });
      assert.equal(ready.total, 1_000);
      assert.deepEqual(ready.users[0], users[0]);
      assert.equal((await store.listUsers({ state: 'inactive', limit: 1 })).total, 9_000);
      assert.equal((await store.listActiveServers()).length, 1_000);
    });
  });
}
