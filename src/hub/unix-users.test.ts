import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../config/load.js';
import type { Store } from '../store/types.js';
import { UnixUsers } from './unix-users.js';

const pods = (identity: string) => validateConfig({ pods: { identity } }).pods;
const store = {} as Store;

test('identity modes: auto follows whether highrate runs as root; modes it cannot honour are configuration errors', () => {
  assert.equal(new UnixUsers({ config: pods('auto'), store, runningAsRoot: true }).mode, 'range');
  assert.equal(new UnixUsers({ config: pods('auto'), store, runningAsRoot: false }).mode, 'hub');
  assert.throws(() => new UnixUsers({ config: pods('range'), store, runningAsRoot: false }), { code: 'CONFIG_INVALID', message: /needs highrate to run as root/ });
  assert.throws(() => new UnixUsers({ config: pods('accounts'), store, runningAsRoot: false }), { code: 'CONFIG_INVALID' });
  assert.throws(() => new UnixUsers({ config: pods('hub'), store, runningAsRoot: true }), { code: 'CONFIG_INVALID', message: /would run every pod as root/ });
});

test('accounts: the host\'s account, refused below minAccountUid and when missing', async () => {
  const users = new UnixUsers({ config: pods('accounts'), store, runningAsRoot: true });
  assert.deepEqual(await users.of('nobody'), { uid: 65534, gid: 65534 });
  const strict = new UnixUsers({ config: validateConfig({ pods: { identity: 'accounts', minAccountUid: 70000 } }).pods, store, runningAsRoot: true });
  await assert.rejects(strict.of('nobody'), { code: 'CONFIG_INVALID', message: 'The Unix account of nobody has uid 65534, below pods.minAccountUid (70000): system accounts do not run pods.' });
  await assert.rejects(users.of('no-such-user-here'), { code: 'CONFIG_INVALID', message: /no-such-user-here has no Unix account on this host/ });
  await assert.rejects(users.of('root'), { code: 'CONFIG_INVALID', message: /uid 0, below/ });
});

test('range: allocated through the store with the host\'s ids skipped', async () => {
  const seen: Array<[string, number, number]> = [];
  const fake = {
    async allocateUnixIdentity(user: string, range: { min: number; max: number }, isTaken: (uid: number) => boolean) {
      seen.push([user, range.min, range.max]);
      assert.equal(isTaken(0), true, 'root is the host\'s');
      assert.equal(isTaken(range.min), false);
      return { user, uid: range.min, gid: range.min, created: '' };
    },
  } as unknown as Store;
  const users = new UnixUsers({ config: pods('range'), store: fake, runningAsRoot: true });
  assert.deepEqual(await users.of('alice'), { uid: 200000, gid: 200000 });
  assert.deepEqual(await users.of('alice'), { uid: 200000, gid: 200000 });
  assert.deepEqual(seen, [['alice', 200000, 299999]], 'asked once, then remembered');
});
