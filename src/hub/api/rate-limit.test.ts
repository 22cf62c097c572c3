import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { HighrateError } from '../../errors/catalogue.js';
import { ApiRateLimitSchema } from '../../config/schema.js';
import { Identity } from '../../auth/identity.js';
import type { UserRow } from '../../store/types.js';
import { ApiRateLimiter, BucketTable, isLoopback } from './rate-limit.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('a bucket allows its burst at once, then its rate, and says when to come back', () => {
  const c = clock();
  const b = new BucketTable(2, 4, 100, c.now);
  for (let i = 0; i < 4; i++) assert.equal(b.take('a'), 0, `request ${i}`);
  assert.equal(b.take('a'), 1);
  assert.equal(b.take('b'), 0, 'another key has its own bucket');
  c.t += 499;
  assert.equal(b.take('a'), 1, '0.998 tokens: not yet');
  c.t += 1;
  assert.equal(b.take('a'), 0, 'one token after 0.5 s at 2/s');
  assert.equal(b.take('a'), 1);
  c.t += 10_000;
  for (let i = 0; i < 4; i++) assert.equal(b.take('a'), 0, 'refilled to the burst, never beyond');
  assert.equal(b.take('a'), 1);
});

test('Retry-After rounds up to whole seconds for slow rates', () => {
  const c = clock();
  const b = new BucketTable(0.1, 1, 100, c.now);
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('a'), 10);
  c.t += 5000;
  assert.equal(b.take('a'), 5);
});

test('memory stays bounded: idle full buckets and, past maxKeys, the least recently used are dropped', () => {
  const c = clock();
  const b = new BucketTable(10, 10, 100, c.now);
  for (let i = 0; i < 500; i++) b.take(`k${i}`);
  assert.ok(b.size <= 100, `size ${b.size}`);
  // An empty bucket is full again after burst/rate = 1 s; then each take drops up to two.
  for (let i = 0; i < 10; i++) b.take('hot');
  assert.equal(b.take('hot'), 1);
  c.t += 1500;
  for (let i = 0; i < 60; i++) b.take('x');
  assert.equal(b.size, 1, 'only the key used within the last second remains');
  // A recently used key is at the back, so a flood of new keys does not evict it first.
  const d = new BucketTable(1, 2, 3, c.now);
  d.take('keep'); d.take('keep');
  d.take('n1'); d.take('n2');
  d.take('keep');
  d.take('n3');
  assert.equal(d.size, 3);
  assert.equal(d.take('keep'), 1, "keep's empty bucket survived: it was used more recently than n1");
  assert.equal(d.take('n1'), 0, 'n1, the least recently used, was dropped: a full bucket again');
});

test('refund gives back one token, up to the burst', () => {
  const c = clock();
  const b = new BucketTable(1, 1, 10, c.now);
  assert.equal(b.take('a'), 0);
  b.refund('a');
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('a'), 1);
});

function user(name: string, admin = false): UserRow {
  return { name, admin, groups: [], blocked: false } as unknown as UserRow;
}

function req(headers: Record<string, string> = {}, remote = '10.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress: remote } } as unknown as IncomingMessage;
}

function refused(fn: () => void): HighrateError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HighrateError);
    return err;
  }
  assert.fail('expected a refusal');
}

test('the API limiter: per user, per address, global; admins, services and the proxy exempt', () => {
  const c = clock();
  const config = ApiRateLimitSchema.parse({ userRate: 1, userBurst: 2, ipRate: 1, ipBurst: 1, globalRate: 1, globalBurst: 8 });
  const limiter = new ApiRateLimiter(config, 'proxy-secret', c.now);
  const alice = new Identity(user('alice'), 'token', null, null);
  const bob = new Identity(user('bob'), 'token', null, null);
  limiter.check(req(), alice);
  limiter.check(req(), alice);
  const e = refused(() => limiter.check(req(), alice));
  assert.equal(e.code, 'RATE_LIMITED');
  assert.equal(e.status, 429);
  assert.deepEqual(e.extra, { retryAfter: 1, limit: 'user' });
  assert.equal(e.message, 'Too many requests from you; retry in 1 s.');
  limiter.check(req(), bob);
  // No credential: by address (X-Forwarded-For's last entry, as the audit log reads it).
  limiter.check(req({ 'x-forwarded-for': '192.0.2.7' }), null);
  assert.deepEqual(refused(() => limiter.check(req({ 'x-forwarded-for': '192.0.2.7' }), null)).extra, { retryAfter: 1, limit: 'address' });
  limiter.check(req({ 'x-forwarded-for': '192.0.2.8' }), null);
  // The address's bucket is empty, yet its servers' OAuth code exchanges only count globally.
  limiter.check(req({ 'x-forwarded-for': '192.0.2.8' }), null, '/hub/api/oauth2/token');
  // Loopback (the hub machine's own parts) counts only globally.
  limiter.check(req({}, '127.0.0.1'), null);
  limiter.check(req({}, '::ffff:127.0.0.1'), null);
  // Eight requests passed so far: the global bucket is empty, and the refused caller keeps its own token.
  const carol = new Identity(user('carol'), 'token', null, null);
  assert.deepEqual(refused(() => limiter.check(req(), carol)).extra, { retryAfter: 1, limit: 'global' });
  c.t += 1000;
  limiter.check(req(), carol);
  assert.equal(refused(() => limiter.check(req(), carol)).extra?.limit, 'global', 'one second refills one token of the global bucket');
  // Exempt: admins and services (by default), whatever the buckets say.
  const admin = new Identity(user('root', true), 'token', null, null);
  const culler = new Identity(user('service:culler'), 'token', null, null, { kind: 'service', service: 'culler' });
  for (let i = 0; i < 50; i++) {
    limiter.check(req(), admin);
    limiter.check(req(), culler);
  }
  assert.equal(limiter.isProxyCall(req({ authorization: 'token proxy-secret' }), '/hub/api/proxy/authorize'), true);
  assert.equal(limiter.isProxyCall(req({ authorization: 'token proxy-secreT' }), '/hub/api/proxy/authorize'), false);
  assert.equal(limiter.isProxyCall(req({ authorization: 'token proxy-secret' }), '/hub/api/users'), false);
  // Exemptions are configuration: without them, an admin is a user like the others.
  const strict = new ApiRateLimiter(ApiRateLimitSchema.parse({ userRate: 1, userBurst: 1, exempt: [] }), 'p', c.now);
  strict.check(req(), admin);
  assert.equal(refused(() => strict.check(req(), admin)).code, 'RATE_LIMITED');
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('128.0.0.1'), false);
  assert.equal(isLoopback('::ffff:10.0.0.1'), false);
  const off = new ApiRateLimiter(ApiRateLimitSchema.parse({ enabled: false, userRate: 1, userBurst: 1 }), 'p', c.now);
  for (let i = 0; i < 10; i++) off.check(req(), alice);
});
