import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { HighrateError } from '../errors/catalogue.js';
import { SqliteAccountStore } from './accounts.js';

function code(expected: string) {
  return (err: unknown) => err instanceof HighrateError && err.code === expected;
}

describe('SqliteAccountStore', () => {
  let db: BetterSqlite3.Database;
  let store: SqliteAccountStore;
  before(() => {
    db = new BetterSqlite3(':memory:');
    store = new SqliteAccountStore(db);
  });
  after(() => db.close());

  test('add stores the normalised name, groups as given, never the password', async () => {
    const account = await store.add('Alice', 'a long password', ['/cms/analysis', 'admins', '/cms/analysis']);
    assert.equal(account.username, 'alice');
    assert.deepEqual(account.groups, ['/cms/analysis', 'admins']);
    const row = db.prepare('SELECT password_hash FROM idp_accounts WHERE username = ?').get('alice') as { password_hash: string };
    assert.match(row.password_hash, /^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    assert.doesNotMatch(row.password_hash, /a long password/);
    assert.deepEqual(await store.list(), [{ ...account }]);
  });

  test('refuses duplicates (also differing only in case), bad names, short passwords, bad groups', async () => {
    await assert.rejects(store.add('ALICE', 'another password'), code('USER_EXISTS'));
    await assert.rejects(store.add('Bad Name', 'a long password'), (err: unknown) => err instanceof HighrateError && err.code === 'INVALID_NAME'
      && err.message === 'The username "Bad Name" cannot be used: it contains space; only letters, digits, "-", "_" and "." are allowed.');
    await assert.rejects(store.add('b\u043eb', 'a long password'), code('INVALID_NAME')); // Cyrillic о
    await assert.rejects(store.add('bob', 'short'), (err: unknown) => err instanceof HighrateError && err.message === 'The password must be 8 to 1024 characters long.');
    await assert.rejects(store.add('bob', 'a long password', ['ok', ' padded']), code('INVALID_NAME'));
    await assert.rejects(store.add('bob', 'a long password', ['']), code('INVALID_NAME'));
    await assert.rejects(store.add('bob', 'a long password', ['a\nb']), code('INVALID_NAME'));
    assert.equal(await store.get('bob'), undefined);
  });

  test('verify: right password gives the stored name (typed case does not matter), anything else null', async () => {
    assert.equal(await store.verify('alice', 'a long password'), 'alice');
    assert.equal(await store.verify('Alice', 'a long password'), 'alice');
    assert.equal(await store.verify('alice', 'a long passwore'), null);
    assert.equal(await store.verify('nobody', 'a long password'), null);
    assert.equal(await store.verify('', ''), null);
  });

  test('setPassword, setGroups, remove', async () => {
    await store.setPassword('alice', 'a new password!');
    assert.equal(await store.verify('alice', 'a long password'), null);
    assert.equal(await store.verify('alice', 'a new password!'), 'alice');
    const updated = await store.setGroups('alice', ['users']);
    assert.deepEqual(updated.groups, ['users']);
    assert.deepEqual((await store.get('alice'))?.groups, ['users']);
    await assert.rejects(store.setGroups('nobody', []), code('USER_NOT_FOUND'));
    await assert.rejects(store.setPassword('nobody', 'a long password'), code('USER_NOT_FOUND'));
    await store.remove('alice');
    assert.equal(await store.get('alice'), undefined);
    assert.equal(await store.verify('alice', 'a new password!'), null);
    await assert.rejects(store.remove('alice'), code('USER_NOT_FOUND'));
  });
});
