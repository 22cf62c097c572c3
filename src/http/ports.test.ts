import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from './ports.js';

test('200 ports asked for at once: all different, all in 10000–19999', async () => {
  const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
  assert.equal(new Set(ports).size, 200);
  for (const p of ports) assert.ok(p >= 10_000 && p < 20_000, `port ${p}`);
});

