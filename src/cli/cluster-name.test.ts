import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveClusterName } from './cluster-name.js';

const clusters = [
  { name: '39d9278aaa80417fa2b5c1e4d7e9f001', status: 'RUNNING', user: 'alice' },
  { name: '39d9278bbb11417fa2b5c1e4d7e9f002', status: 'STOPPED', user: 'alice' },
  { name: 'f00dcafe0000417fa2b5c1e4d7e9f003', status: 'PENDING', user: 'bob' },
];

describe('resolveClusterName', () => {
  test('a full name is itself', () => {
    assert.equal(resolveClusterName('f00dcafe0000417fa2b5c1e4d7e9f003', clusters), 'f00dcafe0000417fa2b5c1e4d7e9f003');
  });

  test('the 12 characters a table shows name the cluster', () => {
    assert.equal(resolveClusterName('39d9278aaa80', clusters), '39d9278aaa80417fa2b5c1e4d7e9f001');
  });

  test('any unique prefix of 4 or more characters, in either case', () => {
    assert.equal(resolveClusterName('f00d', clusters), 'f00dcafe0000417fa2b5c1e4d7e9f003');
    assert.equal(resolveClusterName('39D9278B', clusters), '39d9278bbb11417fa2b5c1e4d7e9f002');
  });

  test('an ambiguous prefix is refused, listing the candidates', () => {
    assert.throws(() => resolveClusterName('39d9278', clusters), {
      code: 'BAD_REQUEST',
      message: 'The prefix 39d9278 matches 2 clusters; give more characters:\n'
        + '  39d9278aaa80417fa2b5c1e4d7e9f001  running  alice\n'
        + '  39d9278bbb11417fa2b5c1e4d7e9f002  stopped  alice',
    });
  });

  test('fewer than 4 characters are refused even when unique', () => {
    assert.throws(() => resolveClusterName('f00', clusters), { code: 'BAD_REQUEST', message: 'The cluster name f00 is too short: give the full name or at least 4 characters of it.' });
  });

  test('no match is a not-found naming what was typed', () => {
    assert.throws(() => resolveClusterName('abcdef', clusters), { code: 'CLUSTER_NOT_FOUND', message: 'No cluster named abcdef or starting with it (`highrate cluster list --all` lists them).' });
    assert.throws(() => resolveClusterName('39d9278aaa80x', clusters), { code: 'CLUSTER_NOT_FOUND' });
  });
});
