/**
 * Unix identities in the store's behaviour suite (behaviourSuite runs this on both backends):
 * allocation order, stability, isTaken, exhaustion, rows outliving users, and two hub processes
 * allocating at once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createStore } from '../../src/store/index.js';
import type { UnixIdentityRow } from '../../src/store/types.js';
import type { BackendUnderTest, FreshStore } from './behaviour.js';
import { T0 } from './seed.js';

const run = promisify(execFile);
const storeModule = new URL('../../src/store/index.js', import.meta.url).href;

export function unixIdentityBehaviour(b: BackendUnderTest, fresh: FreshStore): void {
  describe('unix identities', () => {
    const free = () => false;
    const identity = (user: string, uid: number, created = T0): UnixIdentityRow => ({ user, uid, gid: uid, created });

    test('allocated in order from min, one above the highest in the range; stable across calls, ranges and re-opening', async (t) => {
      const { store, url } = await fresh(t);
      const range = { min: 70000, max: 70999 };
      assert.equal(await store.getUnixIdentity('ann'), null);
      assert.deepEqual(await store.allocateUnixIdentity('ann', range, free), identity('ann', 70000));
      assert.deepEqual(await store.allocateUnixIdentity('bob', range, free), identity('bob', 70001));
      assert.deepEqual(await store.allocateUnixIdentity('ann', range, free), identity('ann', 70000));
      assert.deepEqual(await store.getUnixIdentity('bob'), identity('bob', 70001));
      // A new range starts at its min; a known user keeps their uid although it is outside.
      assert.deepEqual(await store.allocateUnixIdentity('cid', { min: 80000, max: 80999 }, free), identity('cid', 80000));
      assert.deepEqual(await store.allocateUnixIdentity('ann', { min: 80000, max: 80999 }, free), identity('ann', 70000));
      // Only uids inside the range count for "the highest": 80000 does not, 70001 does.
      assert.deepEqual(await store.allocateUnixIdentity('dee', { min: 60000, max: 79999 }, free), identity('dee', 70002));
      assert.deepEqual(await b.rawQuery(url, 'select user_name, uid, gid, created from unix_identities order by uid').then((rows) =>
        rows.map((r) => [r.user_name, Number(r.uid), Number(r.gid), r.created])), [
        ['ann', 70000, 70000, T0], ['bob', 70001, 70001, T0], ['dee', 70002, 70002, T0], ['cid', 80000, 80000, T0],
      ]);
      await store.close();
      const later = '2031-01-01T00:00:00.000Z';
      const again = await createStore(url, { now: () => later });
      t.after(() => again.close());
      const notAsked = () => { throw new Error('isTaken asked for a user who has a uid'); };
      assert.deepEqual(await again.allocateUnixIdentity('bob', range, notAsked), identity('bob', 70001));
      assert.deepEqual(await again.getUnixIdentity('dee'), identity('dee', 70002));
      assert.deepEqual(await again.allocateUnixIdentity('eve', range, free), identity('eve', 70003, later));
    });

    test('isTaken uids are skipped, gaps below the top are used once it is reached, then CONFIG_INVALID', async (t) => {
      const { store } = await fresh(t);
      const range = { min: 1000, max: 1004 };
      const local = new Set([1000, 1002]); // accounts in the host's /etc/passwd
      let asked: number[] = [];
      const isTaken = (uid: number) => { asked.push(uid); return local.has(uid); };
      const allocate = async (user: string) => {
        asked = [];
        return { uid: (await store.allocateUnixIdentity(user, range, isTaken)).uid, asked };
      };
      assert.deepEqual(await allocate('a'), { uid: 1001, asked: [1000, 1001] });
      assert.deepEqual(await allocate('b'), { uid: 1003, asked: [1002, 1003] });
      assert.deepEqual(await allocate('c'), { uid: 1004, asked: [1004] });
      local.delete(1000); // the local account is gone
      assert.deepEqual(await allocate('d'), { uid: 1000, asked: [1000] });
      // Left: 1002, still taken. Uids in the table are not even offered to isTaken.
      await assert.rejects(allocate('e'), {
        name: 'HighrateError', code: 'CONFIG_INVALID', status: 400,
        message: 'No free uid left in the range 1000–1004 for e; widen pods.uidRange.',
      });
      assert.deepEqual(asked, [1002]);
      assert.equal(await store.getUnixIdentity('e'), null);
      await assert.rejects(store.allocateUnixIdentity('f', { min: 5000, max: 5002 }, () => true), {
        code: 'CONFIG_INVALID', message: 'No free uid left in the range 5000–5002 for f; widen pods.uidRange.',
      });
      // A user who has a uid gets it from an exhausted (or invalid) range too.
      assert.deepEqual(await store.allocateUnixIdentity('a', range, () => true), identity('a', 1001));
      assert.deepEqual(await store.allocateUnixIdentity('a', { min: 0, max: -1 }, free), identity('a', 1001));
      for (const bad of [{ min: 0, max: 10 }, { min: 10, max: 9 }, { min: 1.5, max: 10 }, { min: 1, max: 2 ** 32 - 1 }]) {
        await assert.rejects(store.allocateUnixIdentity('g', bad, free), {
          code: 'CONFIG_INVALID', message: `A uid range must be whole numbers with 1 ≤ min ≤ max ≤ 4294967294, not ${bad.min}–${bad.max}.`,
        });
      }
      assert.equal(await store.getUnixIdentity('g'), null);
      // Linux uids go past 2^31 - 1 (PostgreSQL's integer): stored and read back exactly.
      const top = { min: 4294967290, max: 4294967294 };
      assert.deepEqual(await store.allocateUnixIdentity('h', top, (uid) => uid === 4294967290), identity('h', 4294967291));
      assert.deepEqual(await store.allocateUnixIdentity('i', top, free), identity('i', 4294967292));
      assert.deepEqual(await store.getUnixIdentity('h'), identity('h', 4294967291));
    });

    test("the row outlives its user: a deleted user's uid is never handed to anyone else", async (t) => {
      const { store } = await fresh(t);
      const range = { min: 2000, max: 2999 };
      await store.createUsers(['gone', 'stays']);
      assert.deepEqual(await store.allocateUnixIdentity('gone', range, free), identity('gone', 2000));
      assert.deepEqual(await store.allocateUnixIdentity('stays', range, free), identity('stays', 2001));
      assert.equal(await store.deleteUser('gone'), true);
      assert.equal(await store.getUser('gone'), null);
      assert.deepEqual(await store.getUnixIdentity('gone'), identity('gone', 2000));
      assert.deepEqual(await store.allocateUnixIdentity('next', range, free), identity('next', 2002));
      await store.upsertUser('gone', {});
      assert.deepEqual(await store.allocateUnixIdentity('gone', range, free), identity('gone', 2000));
    });

    test('two hub processes allocating at once: one uid per user, one user per uid', async (t) => {
      const { url } = await fresh(t);
      // As in the migration race: each process opens the store, then waits for a common instant.
      const code = `const { createStore } = await import(process.argv[1]);
        const s = await createStore(process.argv[2], { migrate: false });
        const users = JSON.parse(process.argv[4]);
        await new Promise((r) => setTimeout(r, Number(process.argv[3]) - Date.now()));
        const rows = await Promise.all(users.map((u) => s.allocateUnixIdentity(u, { min: 70000, max: 79999 }, () => false)));
        process.stdout.write(JSON.stringify(rows)); await s.close();`;
      const shared = Array.from({ length: 10 }, (_, i) => `s${i}`);
      const own = (p: string) => Array.from({ length: 10 }, (_, i) => `${p}${i}`);
      const asked = [[...shared, ...own('a')], [...[...shared].reverse(), ...own('b')]];
      const startAt = String(Date.now() + 1500);
      const t0 = performance.now();
      const outputs = await Promise.all(asked.map((users) =>
        run(process.execPath, ['--input-type=module', '-e', code, storeModule, url, startAt, JSON.stringify(users)], { env: { ...process.env, HIGHRATE_LOG_LEVEL: 'error' }, timeout: 30_000 })));
      t.diagnostic(`${b.name}: 2 processes × 20 allocations, ${(performance.now() - t0).toFixed(0)} ms including start-up and the 1.5 s wait`);
      const answers = outputs.map((o) => JSON.parse(o.stdout) as UnixIdentityRow[]);
      const byUser = new Map<string, UnixIdentityRow>();
      answers.forEach((rows, i) => {
        assert.deepEqual(rows.map((r) => r.user), asked[i]);
        for (const r of rows) {
          assert.deepEqual(r, byUser.get(r.user) ?? r, `${r.user} got two identities`);
          byUser.set(r.user, r);
        }
      });
      const table = await b.rawQuery(url, 'select user_name, uid, gid, created from unix_identities order by uid');
      const expected = [...byUser.values()].sort((x, y) => x.uid - y.uid);
      assert.deepEqual(table.map((r) => identity(String(r.user_name), Number(r.uid), String(r.created))), expected);
      assert.deepEqual(expected.map((r) => r.uid), Array.from({ length: 30 }, (_, i) => 70000 + i));
      assert.ok(expected.every((r) => r.gid === r.uid));
    });
  });
}
