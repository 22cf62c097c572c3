import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allows, covers, expandScopes, needsScope, ownerRoleScopes, validateScopes } from './scopes.js';

const alice = { name: 'alice', admin: false };
const root = { name: 'root', admin: true };

test('self expands to the owner-filtered user scopes, sub-scopes included', () => {
  const set = expandScopes(['self'], alice);
  assert.equal(allows(set, 'servers', { user: 'alice' }), true);
  assert.equal(allows(set, 'start:servers', { user: 'alice', server: 'gpu' }), true);
  assert.equal(allows(set, 'access:servers', { user: 'alice', server: '' }), true);
  assert.equal(allows(set, 'servers', { user: 'bob' }), false);
  assert.equal(allows(set, 'access:servers', { user: 'bob', server: '' }), false);
  assert.equal(allows(set, 'list:users'), false);
  assert.equal(allows(set, 'admin:users', { user: 'alice' }), false);
});

test('admins hold every scope on every object', () => {
  const set = expandScopes(ownerRoleScopes(root), root);
  assert.equal(allows(set, 'admin:users'), true);
  assert.equal(allows(set, 'access:servers', { user: 'anyone', server: 'x' }), true);
});

test('filters: !user=, !server=, !group=', () => {
  const set = expandScopes(['access:servers!server=bob/gpu', 'read:users!group=cms', 'servers!user=carol'], alice);
  assert.equal(allows(set, 'access:servers', { user: 'bob', server: 'gpu' }), true);
  assert.equal(allows(set, 'access:servers', { user: 'bob', server: '' }), false);
  assert.equal(allows(set, 'read:users', { user: 'dan', groups: ['cms'] }), true);
  assert.equal(allows(set, 'read:users', { user: 'dan', groups: ['atlas'] }), false);
  assert.equal(allows(set, 'delete:servers', { user: 'carol', server: 'x' }), true);
});

test('covers: a token may not exceed its owner', () => {
  const owner = expandScopes(['inherit'], alice);
  assert.equal(covers(owner, expandScopes(['read:users!user=alice'], alice)), null);
  assert.equal(covers(owner, expandScopes(['access:servers!server=alice/gpu'], alice)), null);
  assert.equal(covers(owner, expandScopes(['admin:users'], alice)), 'admin:users');
  assert.equal(covers(owner, expandScopes(['servers'], alice)), 'servers');
  assert.equal(covers(owner, expandScopes(['servers!user=bob'], alice)), 'servers!user=bob');
});

test('validateScopes refuses unknown scopes and bad filters', () => {
  assert.deepEqual(validateScopes(['servers', 'read:users!user=alice']), ['servers', 'read:users!user=alice']);
  assert.throws(() => validateScopes(['root']), { code: 'INVALID_SCOPE' });
  assert.throws(() => validateScopes(['servers!host=x']), { code: 'INVALID_SCOPE' });
  assert.throws(() => validateScopes('servers'), { code: 'INVALID_SCOPE' });
  assert.throws(() => needsScope('servers:everything'), /unknown scope/);
});
