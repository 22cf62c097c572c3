import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import { createSlurmExecutor } from '../../src/executors/slurm/index.js';
import type { Executor, Pod } from '../../src/executors/types.js';
import { ensureSlurm, jobState } from '../helpers/slurm.js';

/**
 * The Slurm executor against the shared suite, on the development Slurm (scripts/slurm.sh): every
 * pod is a real job. Containers run in bubblewrap on the node so volumes are mounted at their
 * mountPath. Slurm allocates whole CPUs, so the suite's 500m cannot be observed as 0.5 cores:
 * slurm.test.ts checks the allocation (--cpus-per-task, --mem) in `scontrol show job` instead.
 */

const stateDir = mkdtempSync(join(tmpdir(), 'highrate-slurm-conformance-'));
before(() => ensureSlurm());
after(() => rmSync(stateDir, { recursive: true, force: true }));

const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING']);

runExecutorConformance({
  name: 'slurm (bwrap on the node)',
  newExecutor: async () => createSlurmExecutor({ name: 'conformance-slurm', stateDir, sandbox: 'bwrap', pollIntervalMs: 500 }),
  skip: {
    limits: 'Slurm allocates whole CPUs (500m becomes --cpus-per-task=1); slurm.test.ts checks cpus and memory in scontrol show job',
  },
  // A uid without an account: the job is highrate's (root) and bubblewrap switches to the uid.
  security: { runAsUser: 200123, seccomp: true, readOnlyRoot: true, ownPidNamespace: true },
  timeoutScale: 1.5,
  watchRunning: async (ex: Executor, pod: Pod) => {
    const id = (ex as BatchExecutor).jobIdOf(pod.metadata.uid)!;
    return async () => LIVE.has(jobState(id) ?? '');
  },
  bulk: { pods: 10, total: 1000, budgetMs: 1000 },
});
