/**
 * The clusters table (migration 3) on both backends: SQLite in a temp file and a real PostgreSQL
 * started for this file. Same calls, same answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { log } from '../../src/log.js';
import { createStore } from '../../src/store/index.js';
import type { ClusterRow, Store } from '../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let tmp = '';
let pgServer: TestPostgres | undefined;
let counter = 0;

before(async () => {
  log.setLevel('warn');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-cluster-store-'));
  pgServer = await startPostgres();
});
after(async () => {
  await pgServer?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function row(name: string, user: string, created: string, patch: Partial<ClusterRow> = {}): ClusterRow {
  return {
    name, user, status: 'PENDING', options: { worker_cores: 1 }, config: { workerCores: 1, maxWorkers: 10 },
    created, stopped: null, failure: null, tlsCert: 'CERT', tlsKey: 'KEY', httpToken: 'tok',
    desiredWorkers: 0, adaptive: null, state: { workers: [] }, ...patch,
  };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`clusters on ${backend}`, () => {
    let store: Store;
    before(async () => {
      const url = backend === 'sqlite' ? `sqlite://${path.join(tmp, `db${++counter}.sqlite`)}` : await pgServer!.createDatabase(`clusters${++counter}`);
      store = await createStore(url);
      await store.createUsers(['alice', 'bob']);
    });
    after(async () => { await store?.close(); });

    test('insert, get, list by user and status, oldest first', async () => {
      await store.insertCluster(row('c1', 'alice', '2026-01-01T00:00:00.000Z'));
      await store.insertCluster(row('c2', 'alice', '2026-01-02T00:00:00.000Z', { status: 'RUNNING', adaptive: { minimum: 1, maximum: 4 }, desiredWorkers: 3 }));
      await store.insertCluster(row('c3', 'bob', '2026-01-03T00:00:00.000Z', { status: 'STOPPED', stopped: '2026-01-03T01:00:00.000Z' }));
      const c2 = await store.getCluster('c2');
      assert.deepEqual(c2, row('c2', 'alice', '2026-01-02T00:00:00.000Z', { status: 'RUNNING', adaptive: { minimum: 1, maximum: 4 }, desiredWorkers: 3 }));
      assert.equal(await store.getCluster('nope'), null);
      assert.deepEqual((await store.listClusters({ user: 'alice' })).map((c) => c.name), ['c1', 'c2']);
      assert.deepEqual((await store.listClusters({ statuses: ['PENDING', 'RUNNING'] })).map((c) => c.name), ['c1', 'c2']);
      assert.deepEqual((await store.listClusters({ user: 'bob', statuses: ['RUNNING'] })).map((c) => c.name), []);
      assert.deepEqual(await store.listClusters({ statuses: [] }), []);
      assert.deepEqual((await store.listClusters()).map((c) => c.name), ['c1', 'c2', 'c3']);
    });

    test('a duplicate name is a conflict; an unknown user is USER_NOT_FOUND', async () => {
      await assert.rejects(store.insertCluster(row('c1', 'alice', '2026-01-05T00:00:00.000Z')), { code: 'CONFLICT' });
      await assert.rejects(store.insertCluster(row('c9', 'carol', '2026-01-05T00:00:00.000Z')), { code: 'USER_NOT_FOUND' });
    });

    test('update, compare-and-set on status, cleanup of ended clusters, cascade with the user', async () => {
      await store.updateCluster('c1', { desiredWorkers: 2, adaptive: null, state: { workers: [{ name: 'w' }] } });
      const c1 = (await store.getCluster('c1'))!;
      assert.equal(c1.desiredWorkers, 2);
      assert.deepEqual(c1.state, { workers: [{ name: 'w' }] });
      assert.equal(c1.status, 'PENDING');
      assert.equal(await store.transitionCluster('c1', ['RUNNING'], { status: 'STOPPING' }), false);
      assert.equal(await store.transitionCluster('c1', ['PENDING', 'RUNNING'], { status: 'RUNNING' }), true);
      assert.equal((await store.getCluster('c1'))!.status, 'RUNNING');
      // An empty patch changes nothing but still answers whether the status matched.
      assert.equal(await store.transitionCluster('c1', ['RUNNING'], {}), true);
      assert.equal((await store.getCluster('c1'))!.status, 'RUNNING');
      assert.equal(await store.deleteClustersEndedBefore('2026-01-03T00:30:00.000Z'), 0);
      assert.equal(await store.deleteClustersEndedBefore('2026-01-04T00:00:00.000Z'), 1);
      assert.equal(await store.getCluster('c3'), null);
      await store.deleteUser('alice');
      assert.deepEqual(await store.listClusters(), []);
    });
  });
}
