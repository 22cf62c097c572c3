import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import { createHtcondorExecutor } from '../../src/executors/htcondor/index.js';
import type { Executor, Pod } from '../../src/executors/types.js';
import { installFakeCondor } from './htcondor.fake.js';

/**
 * The HTCondor executor (batch base + HTCondor module) through the shared suite, against the fake
 * condor_* commands of htcondor.fake.ts: the job really runs the pod supervisor (each container in
 * bubblewrap, so volumes are at their mountPath), states come from condor_q/condor_history JSON,
 * delete is condor_rm. This proves the module and the base's flow; it proves nothing about a real
 * schedd.
 */

const dir = mkdtempSync(join(tmpdir(), 'highrate-htcondor-conformance-'));
const fake = installFakeCondor(join(dir, 'fake'));
const savedPath = process.env.PATH;
process.env.PATH = `${fake.binDir}:${process.env.PATH}`;
after(() => {
  fake.killAll();
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

runExecutorConformance({
  name: 'htcondor (fake condor_* commands)',
  newExecutor: async () => createHtcondorExecutor({ name: 'condor', stateDir: join(dir, 'state'), pollIntervalMs: 100, deleteWaitMs: 5000, sandbox: 'bwrap' }),
  skip: {
    limits: 'HTCondor allocates whole cores (500m becomes request_cpus = 1); the exact requests are asserted in htcondor.test.ts',
  },
  watchRunning: async (ex: Executor, pod: Pod) => {
    const id = (ex as BatchExecutor).jobIdOf(pod.metadata.uid)!;
    const pgid = fake.pgid(id);
    if (!pgid) throw new Error(`job ${id} has no process group yet`);
    return async () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    };
  },
  bulk: { pods: 10, total: 1000, budgetMs: 1000 },
});
