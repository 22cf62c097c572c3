import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../../store/types.js';
import { QuotaService } from './quota-service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('members of a group with a total take its lock: one waits for the other; other groups do not', async () => {
  const groups: Record<string, string[]> = { erin: ['lab'], frank: ['lab', 'x'], gina: ['other'] };
  // Only what lock() reads of the store: the user's groups.
  const store = { getUser: async (name: string) => ({ name, groups: groups[name] ?? [] }) } as unknown as Store;
  const svc = new QuotaService({ config: { quotas: { groupTotals: { lab: { maxCores: 1 } }, groups: {}, users: {} } }, store });
  const erin = await svc.lock('erin');
  let frankHas = false;
  const frank = svc.lock('frank').then((release) => { frankHas = true; return release; });
  await sleep(30);
  assert.equal(frankHas, false, 'frank waits: erin holds the lab total');
  const gina = await svc.lock('gina');
  gina();
  const erinAgain = svc.lock('erin');
  erin();
  (await frank)();
  assert.equal(frankHas, true);
  (await erinAgain)();
});

test('without group totals, users lock only themselves', async () => {
  const store = { getUser: async () => { throw new Error('not read without group totals'); } } as unknown as Store;
  const svc = new QuotaService({ config: { quotas: { groupTotals: {}, groups: {}, users: {} } }, store });
  const a = await svc.lock('a');
  const b = await svc.lock('b');
  let again = false;
  const a2 = svc.lock('a').then((r) => { again = true; return r; });
  await sleep(10);
  assert.equal(again, false);
  a();
  (await a2)();
  b();
});
