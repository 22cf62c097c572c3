import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allows, listScopes } from '../scopes.js';
import { log } from '../../log.js';
import { createStore } from '../../store/index.js';
import { RoleBook } from './role-book.js';

async function book(t: { after(fn: () => unknown): void }) {
  log.setLevel('warn');
  const store = await createStore('sqlite::memory:');
  t.after(() => store.close());
  const roles = new RoleBook(store);
  await roles.syncConfig({
    roles: [
      { name: 'instructor', description: '', scopes: ['list:users!group=physics', 'servers!group=physics', 'servers!user'], users: ['tess'], groups: [], services: [] },
      { name: 'shared', description: '', scopes: ['access:servers!server=alice/gpu'], users: [], groups: ['physics'], services: [] },
      { name: 'idle-culler', description: '', users: [], groups: [], services: ['culler'] },
      { name: 'admin', description: '', users: ['root'], groups: ['admins'], services: [] },
    ],
    services: [{ name: 'culler', description: '', roles: [], oauthClientAllowedScopes: [] }, { name: 'alice', description: 'named like a user', roles: ['idle-culler'], oauthClientAllowedScopes: [] }],
  });
  return roles;
}

test('a user holds user, her assigned roles and her groups\' roles', async (t) => {
  const roles = await book(t);
  assert.deepEqual(roles.rolesOfUser({ name: 'tess', admin: false, groups: ['physics'] }), ['instructor', 'shared', 'user']);
  const tess = roles.scopesOfUser({ name: 'tess', admin: false, groups: ['physics'] });
  assert.equal(allows(tess, 'delete:servers', { user: 'paul', groups: ['physics'] }), true);
  assert.equal(allows(tess, 'delete:servers', { user: 'chris', groups: ['chemistry'] }), false);
  assert.equal(allows(tess, 'start:servers', { user: 'tess' }), true, '!user binds to the holder');
  assert.equal(allows(tess, 'access:servers', { user: 'alice', server: 'gpu' }), true);
  assert.equal(allows(tess, 'access:servers', { user: 'alice', server: '' }), false);
  assert.equal(allows(tess, 'list:users'), false, 'filtered, not everyone');
});

test('admin: by flag, by assignment, or through a group; admins hold every scope', async (t) => {
  const roles = await book(t);
  assert.equal(roles.isAdmin({ name: 'root', admin: false, groups: [] }), true);
  assert.equal(roles.isAdmin({ name: 'x', admin: false, groups: ['admins'] }), true);
  assert.equal(roles.isAdmin({ name: 'y', admin: true, groups: [] }), true);
  assert.equal(roles.isAdmin({ name: 'z', admin: false, groups: ['physics'] }), false);
  const set = roles.scopesOfUser({ name: 'root', admin: false, groups: [] });
  assert.ok(listScopes(set).includes('admin:users'));
  assert.equal(allows(set, 'access:clusters', { user: 'anyone' }), true);
});

test("a service holds only its roles, and !user never lands on a user of the same name", async (t) => {
  const roles = await book(t);
  assert.deepEqual(roles.rolesOf({ kind: 'service', name: 'culler' }), ['idle-culler']);
  const alice = roles.scopesOfService('alice');
  assert.deepEqual(listScopes(alice), ['delete:servers', 'list:users', 'read:servers', 'read:users:activity', 'read:users:name']);
  assert.equal(allows(alice, 'access:servers', { user: 'alice', server: '' }), false);
  assert.deepEqual(listScopes(roles.scopesOfService('unknown')), []);
});

test('models list every role with its holders and where it was declared', async (t) => {
  const roles = await book(t);
  const admin = roles.model('admin')!;
  assert.deepEqual([admin.source, admin.users, admin.groups], ['builtin', ['root'], ['admins']]);
  assert.ok(admin.scopes.includes('admin:users'));
  assert.deepEqual(roles.model('idle-culler')!.services, ['alice', 'culler']);
  assert.equal(roles.model('nope'), null);
  assert.deepEqual(roles.models().map((m) => m.name), ['admin', 'idle-culler', 'instructor', 'shared', 'user']);
  assert.deepEqual(roles.rolesOfGroup('physics'), ['shared']);
});
