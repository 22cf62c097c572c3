import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters, connection, daskClient, daskProcesses, gw, model, waitFor, waitRunning } from './helpers.js';

/**
 * Adaptive scaling with real Dask: work that keeps workers busy makes the scheduler want more
 * workers and the hub adds them at once; when the work is done they are retired gently (through
 * the scheduler, which moves results away first) and the results survive.
 */
describe('adaptive clusters', () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    p = await Platform.start({
      config: { clusters: { daskPort: 0, idleTimeout: 0, adaptive: { period: 1, scaleDownWindow: 3 }, options: { maxWorkers: { default: 3 } } } },
      users: [{ name: 'alice' }],
    });
    alice = await p.token('alice');
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('busy work adds workers; idleness removes them gracefully without losing results', async () => {
    const name = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name;
    const c = await waitRunning(p, alice, name);
    const adapt = await gw(p, 'POST', `/api/v1/clusters/${name}/adapt`, alice, { minimum: 0, maximum: 3, active: true });
    assert.deepEqual(adapt.json(), { ok: true, msg: null });
    const m0 = await model(p, alice, name);
    assert.deepEqual(m0.adaptive, { minimum: 0, maximum: 3 });
    assert.equal(m0.workers.requested, null);

    // 60 tasks of 0.5 s: the scheduler asks for more workers than one; the client watches how
    // many it gets, keeps one result in the cluster while it idles for 12 s, then reads it back.
    const out = await daskClient({ ...connection(p, c), job: 'busy', tasks: 60, seconds: 0.5, hold: 12 }, 150_000);
    const expected = (59 * 60) / 2;
    assert.equal(out.result, expected);
    assert.equal(out.kept, expected, 'the result held in the cluster survived the scale-down');
    assert.ok(out.max_workers >= 2, `busy work added workers (saw at most ${out.max_workers})`);
    assert.ok(out.workers_after < out.max_workers, `idleness removed workers (${out.max_workers} → ${out.workers_after})`);

    // With the client gone nothing is held: down to the minimum, 0.
    const idle = await waitFor('adaptive scale-down to 0', async () => {
      const m = await model(p, alice, name);
      return m.workers.running === 0 && m.workers.starting === 0 && m.workers.connected_to_scheduler === 0 ? m : null;
    }, 60_000);
    assert.equal(idle.status, 'RUNNING');
    assert.deepEqual(daskProcesses(name, 'worker'), [], 'only the scheduler is left');
    assert.notDeepEqual(daskProcesses(name, 'scheduler'), []);

    // Scaling by hand turns adaptive off (dask-gateway's semantics).
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 1 });
    const manual = await model(p, alice, name);
    assert.equal(manual.adaptive, null);
    assert.equal(manual.workers.requested, 1);
    // Bounds beyond max_workers are clamped, with dask-gateway's message.
    const clamped = await gw(p, 'POST', `/api/v1/clusters/${name}/adapt`, alice, { minimum: 1, maximum: 5 });
    assert.deepEqual(clamped.json(), { ok: false, msg: 'Adapt with `maximum=5, minimum=1` workers would exceed resource limit of 3 workers. Using `maximum=3, minimum=1` instead.' });
    assert.equal((await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice)).status, 204);
    assert.deepEqual(daskProcesses(name), []);
  });
});
