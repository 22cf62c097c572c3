import assert from 'node:assert/strict';
import { test } from 'node:test';
import { log } from '../../log.js';
import { createStore } from '../../store/index.js';
import { AuditLog } from './audit-log.js';

test('denied requests: at most the budget per actor per minute, the rest summed in one entry', async (t) => {
  log.setLevel('warn');
  const store = await createStore('sqlite::memory:');
  t.after(() => store.close());
  let now = Date.parse('2030-01-01T00:00:00Z');
  const audit = new AuditLog(store, { deniedPerMinute: 3, now: () => new Date(now) });
  for (let i = 0; i < 10; i++) await audit.denied({ action: 'request.denied', actor: { name: 'mallory', kind: 'user' }, code: 'MISSING_SCOPE' });
  for (let i = 0; i < 2; i++) await audit.denied({ action: 'request.denied', ip: '192.0.2.1' });
  await audit.denied({ action: 'request.denied', actor: { name: 'bob', kind: 'user' } });
  let rows = await store.queryAudit({ limit: 100 });
  assert.deepEqual(rows.map((r) => r.actor).sort(), ['-', '-', 'bob', 'mallory', 'mallory', 'mallory']);
  assert.ok(rows.every((r) => r.outcome === 'denied'));
  now += 61_000;
  await audit.flushExpired(now);
  rows = await store.queryAudit({ limit: 100, action: 'request.denied.suppressed' });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.actor, 'mallory');
  assert.deepEqual(rows[0]!.detail, { count: 7, since: '2030-01-01T00:00:00.000Z' });
  await audit.denied({ action: 'request.denied', actor: { name: 'mallory', kind: 'user' } });
  assert.equal((await store.queryAudit({ limit: 100, actor: 'mallory', action: 'request.denied' })).length, 4, 'a new minute, a new budget');
});

test('record never throws: a store failure is logged, the request goes on', async () => {
  const store = await createStore('sqlite::memory:');
  await store.close();
  const audit = new AuditLog(store, { deniedPerMinute: 1 });
  await audit.record({ action: 'login', actor: { name: 'alice', kind: 'user' } });
});
