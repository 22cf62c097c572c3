import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Platform } from '../helpers/platform.js';
import { ensureSlurm, liveJobsNamed } from '../helpers/slurm.js';
import { stateOf } from '../../src/clusters/state.js';
import { closeWithClusters, connection, daskClient, daskProcesses, gw, waitFor, waitRunning, waitWorkers } from './helpers.js';

/**
 * The offloading story with real Dask and the development Slurm (scripts/slurm.sh): the scheduler
 * runs on the local executor, the workers are Slurm jobs that connect back through the platform's
 * Dask port with `--scheduler-sni`, a real client computes through the same port, and stopping
 * the cluster cancels the jobs.
 */
describe('cluster with workers on the Slurm executor', () => {
  let p: Platform;
  let alice: string;
  const workerPods: string[] = [];

  before(async () => {
    ensureSlurm();
    p = await Platform.start({
      users: [{ name: 'alice' }],
      config: {
        executors: [
          { name: 'local', kind: 'local' },
          { name: 'hpc', kind: 'slurm', slurm: { pollInterval: 0.5 } },
        ],
        clusters: { daskPort: 0, idleTimeout: 0, options: { workerExecutors: ['local', 'hpc'] } },
      },
    });
    alice = await p.token('alice');
  });
  after(async () => {
    try {
      await closeWithClusters(p);
    } finally {
      const left = liveJobsNamed(workerPods);
      if (left.length) execFileSync('scancel', left);
    }
  });

  test('scheduler local, 2 workers as Slurm jobs through the SNI port: compute, stop, nothing left', async () => {
    const options = (await gw(p, 'GET', '/api/v1/options', alice)).json().cluster_options;
    assert.deepEqual(options.find((f: any) => f.field === 'worker_executor').spec, { type: 'select', options: ['local', 'hpc'] });
    const created = await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: { worker_executor: 'hpc' } });
    assert.equal(created.status, 201, created.text);
    const name = created.json().name;
    const c = await waitRunning(p, alice, name);
    assert.equal(c.status, 'RUNNING');
    assert.equal(c.options.worker_executor, 'hpc');
    await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, alice, { count: 2 });
    await waitWorkers(p, alice, name, 2, 120_000);

    const row = await p.hub!.hub.store.getCluster(name);
    const state = stateOf(row!);
    assert.equal(state.scheduler!.executor, 'local');
    assert.deepEqual(state.workers.map((w) => w.executor), ['hpc', 'hpc']);
    workerPods.push(...state.workers.map((w) => w.pod.metadata.uid));
    assert.equal(liveJobsNamed(workerPods).length, 2, 'each worker is a Slurm job');
    // The workers came in through the Dask port, by SNI, like remote workers would.
    const worker = state.workers[0]!.pod.spec.containers[0]!.command!;
    assert.ok(worker.includes('--scheduler-sni') && worker.includes(`daskgateway-${name}`), worker.join(' '));
    assert.ok(worker.includes(`tls://${p.hub!.clusters!.service.proxyAddress}`), worker.join(' '));

    assert.deepEqual(await daskClient({ ...connection(p, c), job: 'sum' }), { result: 332833500, workers: 2 });

    assert.equal((await gw(p, 'DELETE', `/api/v1/clusters/${name}`, alice)).status, 204);
    assert.equal((await gw(p, 'GET', `/api/v1/clusters/${name}`, alice)).json().status, 'STOPPED');
    await waitFor('the worker jobs to end', async () => liveJobsNamed(workerPods).length === 0, 30_000);
    await waitFor('no Dask process left', async () => daskProcesses(name).length === 0, 30_000);
  });
});
