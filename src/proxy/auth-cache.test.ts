import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthCache, authCacheKey } from './auth-cache.js';

const ALLOWED = { authenticated: true, allowed: true, name: 'alice' };
const DENIED = { authenticated: true, allowed: false, name: 'bob' };
const UNKNOWN = { authenticated: false, allowed: false, name: '' };

describe('authCacheKey', () => {
  test('hashes the credential and keeps user and server apart', () => {
    const key = authCacheKey('cookie', 'secret-session', 'alice', '');
    assert.ok(!key.includes('secret-session'), 'the credential never appears in clear');
    assert.notEqual(key, authCacheKey('token', 'secret-session', 'alice', ''), 'kind is part of the key');
    assert.notEqual(key, authCacheKey('cookie', 'secret-session', 'bob', ''));
    assert.notEqual(key, authCacheKey('cookie', 'secret-session', 'alice', 'gpu'));
    assert.notEqual(authCacheKey('token', 'x', 'a|b', 'c'), authCacheKey('token', 'x', 'a', 'b|c'));
    assert.equal(key, authCacheKey('cookie', 'secret-session', 'alice', ''));
  });
});

describe('AuthCache', () => {
  test('allowed answers live 60 s, denied and unauthenticated ones 5 s', () => {
    const cache = new AuthCache();
    cache.set('a', ALLOWED, 0);
    cache.set('d', DENIED, 0);
    cache.set('u', UNKNOWN, 0);
    assert.equal(cache.get('a', 4_999), ALLOWED);
    assert.equal(cache.get('d', 4_999), DENIED);
    assert.equal(cache.get('u', 4_999), UNKNOWN);
    assert.equal(cache.get('d', 5_000), undefined);
    assert.equal(cache.get('u', 5_000), undefined);
    assert.equal(cache.get('a', 59_999), ALLOWED);
    assert.equal(cache.get('a', 60_000), undefined);
    assert.equal(cache.size, 0, 'expired entries are dropped when seen');
  });

  test('TTLs are configurable', () => {
    const cache = new AuthCache({ allowTtlMs: 10, denyTtlMs: 1 });
    cache.set('a', ALLOWED, 0);
    cache.set('d', DENIED, 0);
    assert.equal(cache.get('d', 1), undefined);
    assert.equal(cache.get('a', 9), ALLOWED);
    assert.equal(cache.get('a', 10), undefined);
  });

  test('bounded: the least recently used entry goes first', () => {
    const cache = new AuthCache({ maxEntries: 3 });
    cache.set('k1', ALLOWED, 0);
    cache.set('k2', ALLOWED, 0);
    cache.set('k3', ALLOWED, 0);
    // k1 used again (over a second later): it becomes the most recent
    assert.equal(cache.get('k1', 1_500), ALLOWED);
    cache.set('k4', ALLOWED, 1_500);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('k2', 1_500), undefined, 'k2 was the least recently used');
    assert.equal(cache.get('k1', 1_500), ALLOWED);
    assert.equal(cache.get('k3', 1_500), ALLOWED);
    assert.equal(cache.get('k4', 1_500), ALLOWED);
  });

  test('10,000 entries by default', () => {
    const cache = new AuthCache();
    for (let i = 0; i < 10_050; i++) cache.set(`k${i}`, ALLOWED, 0);
    assert.equal(cache.size, 10_000);
    assert.equal(cache.get('k49', 0), undefined);
    assert.equal(cache.get('k50', 0), ALLOWED);
  });

  test('a new answer replaces the old one and its lifetime', () => {
    const cache = new AuthCache();
    cache.set('k', ALLOWED, 0);
    cache.set('k', DENIED, 50_000);
    assert.equal(cache.get('k', 54_000), DENIED);
    assert.equal(cache.get('k', 55_000), undefined);
  });
});
