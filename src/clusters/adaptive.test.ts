import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveTarget } from './adaptive.js';

const bounds = { minimum: 0, maximum: 10 };

test('up at once, down only to the largest of the last N wishes', () => {
  const a = new AdaptiveTarget(3);
  assert.equal(a.next(4, bounds, 0), 4);
  // The load drops: held for two more wishes, then follows.
  assert.equal(a.next(0, bounds, 4), 4);
  assert.equal(a.next(0, bounds, 4), 4);
  assert.equal(a.next(0, bounds, 4), 0);
  // A blip in the middle of a quiet period keeps the workers.
  assert.equal(a.next(3, bounds, 0), 3);
  assert.equal(a.next(1, bounds, 3), 3);
  assert.equal(a.next(2, bounds, 3), 3);
  assert.equal(a.next(1, bounds, 3), 2);
});

test('clamped to the bounds; never above the plan when going down', () => {
  const a = new AdaptiveTarget(3);
  assert.equal(a.next(50, { minimum: 1, maximum: 5 }, 0), 5);
  assert.equal(a.next(0, { minimum: 1, maximum: 5 }, 5), 5);
  assert.equal(a.next(0, { minimum: 1, maximum: 5 }, 5), 5);
  assert.equal(a.next(0, { minimum: 1, maximum: 5 }, 5), 1);
  // Lowered maximum: down to it at once.
  const b = new AdaptiveTarget(3);
  assert.equal(b.next(8, bounds, 8), 8);
  assert.equal(b.next(8, { minimum: 0, maximum: 4 }, 8), 4);
  // Junk from the scheduler counts as no wish.
  assert.equal(new AdaptiveTarget(1).next(Number.NaN, { minimum: 2, maximum: 4 }, 0), 2);
});

test('reset forgets the window', () => {
  const a = new AdaptiveTarget(3);
  a.next(6, bounds, 0);
  a.reset();
  assert.equal(a.next(1, bounds, 6), 1);
});
