import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HighrateError } from '../../errors/catalogue.js';
import { Admission, humanSeconds, type AdmissionLimits } from './admission.js';

const limits = (over: Partial<AdmissionLimits> = {}): AdmissionLimits => ({ concurrentSpawnLimit: 2, activeServerLimit: 0, spawnRetryAfterMin: 5, spawnRetryAfterMax: 60, ...over });

function refusal(fn: () => void): HighrateError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HighrateError);
    return err;
  }
  assert.fail('expected a refusal');
}

test('the spawn limit refuses past the limit with a place in line, first come first served', () => {
  const c = { t: 0 };
  const a = new Admission(limits(), () => c.t, () => 0);
  a.admit('u1/');
  a.admit('u2/');
  const e3 = refusal(() => a.admit('u3/'));
  assert.equal(e3.code, 'SPAWN_LIMIT');
  assert.equal(e3.status, 429);
  assert.deepEqual(e3.extra, { retryAfter: 5, position: 1, queue_length: 1 });
  assert.equal(e3.message, 'Too many users trying to log in right now. Try again in 10 seconds. You are next in line.');
  const e4 = refusal(() => a.admit('u4/'));
  assert.deepEqual(e4.extra, { retryAfter: 5, position: 2, queue_length: 2 });
  assert.match(e4.message, /1 user is ahead of you\.$/);
  // Asking again keeps the place.
  assert.deepEqual(refusal(() => a.admit('u3/')).extra, { retryAfter: 5, position: 1, queue_length: 2 });
  a.release('u1/', 3);
  // One slot free: u4 (second in line) and a newcomer must wait for u3.
  assert.deepEqual(refusal(() => a.admit('u4/')).extra, { retryAfter: 5, position: 2, queue_length: 2 });
  // Two ahead with a limit of 2: a second round of starts, 2 × the median (3 s).
  assert.deepEqual(refusal(() => a.admit('u5/')).extra, { retryAfter: 6, position: 3, queue_length: 3 });
  a.admit('u3/');
  assert.equal(a.starting, 2);
  assert.equal(a.waiting, 2);
  a.release('u2/');
  a.admit('u4/');
  assert.equal(a.waiting, 1);
  a.forget('u5/');
  assert.equal(a.waiting, 0, 'a starter who gave up leaves the line');
});

test('a place expires when its starter does not ask again in time', () => {
  const c = { t: 0 };
  const a = new Admission(limits({ concurrentSpawnLimit: 1 }), () => c.t, () => 0);
  a.admit('u1/');
  refusal(() => a.admit('gone/'));
  refusal(() => a.admit('u2/'));
  // Retry-After 5 s: the place is kept for 2 × 5 + 10 = 20 s.
  c.t = 15_000;
  assert.deepEqual(refusal(() => a.admit('u2/')).extra?.position, 2);
  c.t = 20_000;
  assert.equal(refusal(() => a.admit('u2/')).extra?.position, 1, "gone's place expired");
  a.release('u1/');
  a.admit('u2/');
});

test('Retry-After grows with the rounds of starts ahead, from the median start time, within bounds', () => {
  const a = new Admission(limits({ concurrentSpawnLimit: 2, spawnRetryAfterMin: 1, spawnRetryAfterMax: 20 }), () => 0, () => 0);
  a.admit('a/'); a.admit('b/');
  a.release('a/', 4); a.release('b/', 6);
  a.admit('a/'); a.admit('b/');
  a.release('a/', 5);
  a.admit('a/');
  // median of [4, 6, 5] = 5 s; positions 1–2 wait one round, 3–4 two, 5–6 three (15), then capped at 20.
  const retries = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9'].map((k) => refusal(() => a.admit(k)).extra?.retryAfter);
  assert.deepEqual(retries, [5, 5, 10, 10, 15, 15, 20, 20, 20]);
  assert.equal(humanSeconds(5), '10 seconds');
  assert.equal(humanSeconds(90), '90 seconds');
  assert.equal(humanSeconds(150), '3 minutes');
});

test('jitter adds up to 10 %', () => {
  const a = new Admission(limits({ concurrentSpawnLimit: 1, spawnRetryAfterMin: 30 }), () => 0, () => 0.99);
  a.admit('a/');
  assert.equal(refusal(() => a.admit('b/')).extra?.retryAfter, 32);
});

test('the active server limit counts every server not stopped, once, and the starts in flight', () => {
  const a = new Admission(limits({ concurrentSpawnLimit: 0, activeServerLimit: 3 }), () => 0, () => 0);
  a.admit('u1/', ['x/', 'y/']);
  // x, y (store) + u1 (in flight, and maybe in the store as "starting" too: counted once) = 3.
  const e = refusal(() => a.admit('u2/', ['x/', 'y/', 'u1/']));
  assert.equal(e.code, 'ACTIVE_SERVER_LIMIT');
  assert.deepEqual(e.extra, { retryAfter: 60 });
  assert.equal(e.message, 'Active user limit exceeded: 3 servers are running or starting. Try again in a few minutes.');
  a.release('u1/');
  // u1 is running now (in the store), y stopped.
  a.admit('u2/', ['x/', 'u1/']);
  // Without limits nothing is refused.
  const free = new Admission(limits({ concurrentSpawnLimit: 0 }));
  for (let i = 0; i < 1000; i++) free.admit(`u${i}/`);
  assert.equal(free.starting, 1000);
});

test('resumed starts count against the spawn limit', () => {
  const a = new Admission(limits({ concurrentSpawnLimit: 1 }), () => 0, () => 0);
  a.track('old/');
  assert.equal(refusal(() => a.admit('new/')).code, 'SPAWN_LIMIT');
  a.release('old/');
  a.admit('new/');
});

test('peak: the most starts in flight at once, counting resumed ones', () => {
  const a = new Admission(limits({ concurrentSpawnLimit: 3 }), () => 0, () => 0);
  assert.equal(a.peak, 0);
  a.admit('u1/');
  a.track('u2/');
  a.admit('u3/');
  a.release('u1/', 1);
  a.release('u2/', 1);
  a.admit('u4/');
  assert.equal(a.starting, 2);
  assert.equal(a.peak, 3);
});
