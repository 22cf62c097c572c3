import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../config/load.js';
import { allows, scopeString, storageGrants } from './policy.js';

const policy = (storage: Record<string, unknown> = {}) => validateConfig({ storage }, 'test').storage;

test('default policy: read the public area, read/create/modify the own area, nothing else', () => {
  const grants = storageGrants(policy(), 'alice', []);
  assert.equal(scopeString(grants), 'storage.read:/public storage.read:/user/alice storage.create:/user/alice storage.modify:/user/alice');
  assert.ok(allows(grants, 'read', '/public/data/run1.root'));
  assert.ok(allows(grants, 'create', '/user/alice/out/h.root'));
  assert.ok(!allows(grants, 'create', '/public/x'));
  assert.ok(!allows(grants, 'read', '/user/bob/x'));
  // A prefix on a path boundary only: /user/alice does not cover /user/alicex.
  assert.ok(!allows(grants, 'modify', '/user/alicex/f'));
});

test('groups add paths; {user} is filled; covered duplicates are dropped', () => {
  const p = policy({ groups: { cms: { read: ['/cms', '/cms/store'], write: ['/cms/scratch/{user}'] }, atlas: { read: ['/atlas'], write: [] } } });
  const grants = storageGrants(p, 'bob', ['cms']);
  assert.equal(scopeString(grants), 'storage.read:/public storage.read:/user/bob storage.create:/user/bob storage.modify:/user/bob storage.read:/cms storage.create:/cms/scratch/bob storage.modify:/cms/scratch/bob');
  assert.ok(!allows(grants, 'read', '/atlas/x'));
});

test('paths are normalised, and config refuses ".." and relative paths', () => {
  assert.equal(scopeString(storageGrants(policy({ publicPath: '/pub/data/', userPath: '/home/{user}/' }), 'carol', [])), 'storage.read:/pub/data storage.read:/home/carol storage.create:/home/carol storage.modify:/home/carol');
  assert.throws(() => policy({ userPath: '/user/../{user}' }), /storage\.userPath/);
  assert.throws(() => policy({ publicPath: 'public' }), /storage\.publicPath/);
  assert.throws(() => policy({ publicPath: '/a//b' }), /storage\.publicPath/);
});
