import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrefixTrie, segments } from './trie.js';

describe('PrefixTrie', () => {
  test('longest registered prefix wins, by whole segments', () => {
    const t = new PrefixTrie<string>();
    t.set('/', 'root');
    t.set('/user', 'users');
    t.set('/user/alice', 'alice');
    t.set('/user/alice/lab/deep', 'deep');
    assert.equal(t.match('/user/alice/tree/x.ipynb'), 'alice');
    assert.equal(t.match('/user/alice'), 'alice');
    assert.equal(t.match('/user/alice/'), 'alice');
    assert.equal(t.match('/user/alice/lab'), 'alice');
    assert.equal(t.match('/user/alice/lab/deep/er'), 'deep');
    assert.equal(t.match('/user/alicex/'), 'users');
    assert.equal(t.match('/user/al'), 'users');
    assert.equal(t.match('/hub/home'), 'root');
    assert.equal(t.match('/'), 'root');
    assert.equal(t.match(''), 'root');
  });

  test('without a root route, unmatched paths give undefined', () => {
    const t = new PrefixTrie<number>();
    t.set('/a/b', 1);
    assert.equal(t.match('/a'), undefined);
    assert.equal(t.match('/a/c'), undefined);
    assert.equal(t.match('/a/b/c'), 1);
  });

  test('leading and trailing slashes are ignored, inner empty segments are not (as CHP)', () => {
    const t = new PrefixTrie<string>();
    t.set('//a//b//', 'ab');
    assert.deepEqual(segments('//a//b//'), ['a', '', 'b']);
    assert.equal(t.get('/a//b'), 'ab');
    assert.equal(t.match('/a//b/c'), 'ab');
    assert.equal(t.match('/a/b/c'), undefined);
  });

  test('set replaces, delete removes only the exact prefix and prunes empty branches', () => {
    const t = new PrefixTrie<string>();
    t.set('/a', 'a');
    t.set('/a/b/c', 'abc');
    t.set('/a', 'a2');
    assert.equal(t.size, 2);
    assert.equal(t.delete('/a/b'), false, 'no value at /a/b');
    assert.equal(t.delete('/a'), true);
    assert.equal(t.match('/a/x'), undefined);
    assert.equal(t.match('/a/b/c/d'), 'abc');
    assert.equal(t.delete('/a/b/c'), true);
    assert.equal(t.size, 0);
    assert.equal(t.delete('/a/b/c'), false);
    assert.equal(t.get('/a/b/c'), undefined);
  });

  test('the root can be set and deleted', () => {
    const t = new PrefixTrie<string>();
    t.set('/', 'root');
    assert.equal(t.get('/'), 'root');
    assert.equal(t.delete('/'), true);
    assert.equal(t.match('/anything'), undefined);
  });

  test('10,000 routes: every one matches itself and its subpaths', () => {
    const t = new PrefixTrie<number>();
    for (let i = 0; i < 10_000; i++) t.set(`/user/u${i}`, i);
    assert.equal(t.size, 10_000);
    for (let i = 0; i < 10_000; i += 997) {
      assert.equal(t.match(`/user/u${i}/api/kernels`), i);
    }
    assert.equal(t.match('/user/u10000/'), undefined);
  });
});
