import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../config/schema.js';
import { effectiveLimits, groupTotalsOf } from './limits.js';

const quotas: Config['quotas'] = {
  groupTotals: { students: { maxCores: 10, maxMemory: '20G' }, physics: { maxServers: 30 } },
  default: { maxServers: 2, maxCores: 4, maxMemory: '8G', profiles: ['small'] },
  groups: {
    physics: { maxCores: 16, profiles: ['big'] },
    students: { maxCores: 2, maxServers: 5, executors: ['local'] },
    gpu: { profiles: ['gpu'] },
  },
  users: { bob: { maxCores: 1, profiles: [] } },
};

test('no entry: the default applies, with its source', () => {
  assert.deepEqual(effectiveLimits(quotas, { name: 'alice', groups: [] }), {
    maxServers: { value: 2, source: 'default' },
    maxCores: { value: 4, source: 'default' },
    maxMemory: { value: 8e9, source: 'default' },
    profiles: { value: ['small'], source: 'default' },
  });
});

test('groups: the most generous value of each field; lists are united; the default fills the rest', () => {
  assert.deepEqual(effectiveLimits(quotas, { name: 'carol', groups: ['students', 'physics', 'gpu', 'unrelated'] }), {
    maxServers: { value: 5, source: 'group students' },
    maxCores: { value: 16, source: 'group physics' },
    maxMemory: { value: 8e9, source: 'default' },
    profiles: { value: ['big', 'gpu'], source: 'group gpu, group physics' },
    executors: { value: ['local'], source: 'group students' },
  });
});

test("the user's own entry wins field by field, even when stricter than a group's", () => {
  const bob = effectiveLimits(quotas, { name: 'bob', groups: ['physics'] });
  assert.deepEqual(bob.maxCores, { value: 1, source: 'user' });
  assert.deepEqual(bob.profiles, { value: [], source: 'user' });
  assert.deepEqual(bob.maxServers, { value: 2, source: 'default' });
});

test('nothing configured: no limits at all', () => {
  assert.deepEqual(effectiveLimits({ groups: {}, users: {}, groupTotals: {} }, { name: 'x', groups: ['g'] }), {});
});

test('group totals: those of the user\'s groups, sorted, memory in bytes', () => {
  assert.deepEqual(groupTotalsOf(quotas, { groups: ['students', 'gpu', 'physics'] }), [['physics', { maxServers: 30 }], ['students', { maxCores: 10, maxMemory: 20e9 }]]);
  assert.deepEqual(groupTotalsOf(quotas, { groups: ['gpu'] }), []);
});
