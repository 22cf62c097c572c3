import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailedLoginLimiter } from './rate-limit.js';

test('blocks a username after its limit within the window, frees it as failures age out', () => {
  let now = 1_000_000;
  const limiter = new FailedLoginLimiter({ perUsername: 3, perIp: 100, windowSeconds: 60 }, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.retryAfter('Alice', '10.0.0.1'), 0);
    limiter.recordFailure('Alice', '10.0.0.1');
    now += 10_000;
  }
  // failures at t0, t0+10s, t0+20s; now t0+30s: the oldest ages out at t0+60s
  assert.equal(limiter.retryAfter('alice', '10.0.0.2'), 30);
  assert.equal(limiter.retryAfter('bob', '10.0.0.1'), 0);
  now += 30_000;
  assert.equal(limiter.retryAfter('alice', '10.0.0.1'), 0);
});

test('blocks an IP across usernames; success clears only the username', () => {
  let now = 0;
  const limiter = new FailedLoginLimiter({ perUsername: 100, perIp: 2, windowSeconds: 60 }, () => now);
  limiter.recordFailure('a', '10.0.0.9');
  limiter.recordFailure('b', '10.0.0.9');
  assert.equal(limiter.retryAfter('c', '10.0.0.9'), 60);
  assert.equal(limiter.retryAfter('c', '10.0.0.8'), 0);
  limiter.recordSuccess('a');
  assert.equal(limiter.retryAfter('c', '10.0.0.9'), 60);
  now += 60_001;
  assert.equal(limiter.retryAfter('c', '10.0.0.9'), 0);
});
