import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusPoller } from './poller.js';
import type { BatchJobState } from './types.js';

const state = (id: string, phase: BatchJobState['phase']): BatchJobState => ({ id, phase, state: phase });

describe('StatusPoller', () => {
  test('a burst shares one query over all active jobs; the answer is reused for the TTL', async () => {
    const asked: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const p = new StatusPoller(async (ids) => {
      asked.push([...ids].sort());
      await gate;
      return new Map(ids.map((id) => [id, state(id, 'running')]));
    }, () => ['1', '2', '3'], 60_000, 'test');
    const calls = [p.poll(['1']), p.poll(['2']), p.poll(['3']), p.poll(['1', '2', '3'])];
    release();
    const results = await Promise.all(calls);
    assert.deepEqual(asked, [['1', '2', '3']]);
    assert.ok(results.every((r) => r === results[0]));
    await p.poll(['2']);
    assert.equal(asked.length, 1, 'reused within the TTL');
    await p.poll(['2'], true);
    assert.equal(asked.length, 2, 'fresh asks again');
    await p.poll(['4']);
    assert.deepEqual(asked[2], ['1', '2', '3', '4'], 'a job the last answer did not cover triggers a poll');
  });

  test('a failing query keeps the last known states and backs off for the TTL', async () => {
    let fail = false;
    let n = 0;
    const p = new StatusPoller(async (ids) => {
      n++;
      if (fail) throw new Error('controller down');
      return new Map(ids.map((id) => [id, state(id, 'running')]));
    }, () => ['1'], 50, 'test');
    await p.poll(['1']);
    fail = true;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(await p.poll(['1']), null);
    assert.equal(p.outage, 'controller down');
    assert.deepEqual(p.known('1'), state('1', 'running'));
    assert.equal(await p.poll(['1']), null);
    assert.equal(n, 2, 'no second query right after a failure');
    fail = false;
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(await p.poll(['1']));
    assert.equal(p.outage, null);
  });
});
