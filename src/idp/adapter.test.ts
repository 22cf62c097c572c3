import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { createSqliteAdapterFactory } from './adapter.js';

test('upsert/find/consume/destroy, lookups by uid and user code, expiry, revoke by grant', async (t) => {
  const db = new BetterSqlite3(':memory:');
  t.after(() => db.close());
  const { factory, purgeExpired } = createSqliteAdapterFactory(db);
  const codes = factory('AuthorizationCode');
  const sessions = factory('Session');
  const grants = factory('Grant');

  await codes.upsert('c1', { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode' }, 60);
  await codes.upsert('c2', { jti: 'c2', grantId: 'g2' }, 60);
  assert.deepEqual(await codes.find('c1'), { jti: 'c1', grantId: 'g1', kind: 'AuthorizationCode' });
  assert.equal(await factory('AccessToken').find('c1'), undefined, 'models are separate');

  await codes.consume('c1');
  assert.equal(typeof (await codes.find('c1'))?.consumed, 'number');

  await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 3600);
  assert.equal((await sessions.findByUid('u1'))?.accountId, 'alice');
  await factory('DeviceCode').upsert('d1', { userCode: 'ABCD' }, 60);
  assert.deepEqual(await factory('DeviceCode').findByUserCode('ABCD'), { userCode: 'ABCD' });

  await grants.upsert('g1', { jti: 'g1', accountId: 'alice' }, 3600);
  await codes.revokeByGrantId('g1');
  assert.equal(await codes.find('c1'), undefined);
  assert.ok(await codes.find('c2'));
  assert.ok(await grants.find('g1'), 'the grant row itself is not a grant member');

  await codes.destroy('c2');
  assert.equal(await codes.find('c2'), undefined);

  await codes.upsert('old', { jti: 'old' }, -1);
  assert.equal(await codes.find('old'), undefined, 'expired rows are invisible');
  assert.equal(purgeExpired(), 1);
  await factory('Client').upsert('x', { a: 1 });
  assert.deepEqual(await factory('Client').find('x'), { a: 1 }, 'no expiry given: kept');
});

test('endSessions ends every sign-in session of one account, and nothing else', async (t) => {
  const db = new BetterSqlite3(':memory:');
  t.after(() => db.close());
  const { factory, endSessions } = createSqliteAdapterFactory(db);
  const sessions = factory('Session');
  await sessions.upsert('s1', { jti: 's1', uid: 'u1', accountId: 'alice' }, 3600);
  await sessions.upsert('s2', { jti: 's2', uid: 'u2', accountId: 'alice' }, 3600);
  await sessions.upsert('s3', { jti: 's3', uid: 'u3', accountId: 'bob' }, 3600);
  await factory('Grant').upsert('g1', { jti: 'g1', accountId: 'alice' }, 3600);
  assert.equal(endSessions('alice'), 2);
  assert.equal(await sessions.find('s1'), undefined);
  assert.equal(await sessions.find('s2'), undefined);
  assert.ok(await sessions.find('s3'), "bob's session stays");
  assert.ok(await factory('Grant').find('g1'), 'grants are not sessions');
  assert.equal(endSessions('alice'), 0);
});
