import { after, before } from 'node:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import { createSlurmExecutor } from '../../src/executors/slurm/index.js';
import type { Executor, Pod } from '../../src/executors/types.js';
import { ensureSlurm, jobState, testAccount } from '../helpers/slurm.js';

/**
 * The conformance suite with every job submitted for its pod's user (runJobsAs: user) on the
 * development Slurm: pods without runAsUser run as nobody (the sandbox's default user, an account
 * on every Debian host), the security case's pods as a test account; bubblewrap runs without root
 * on the node. jobRoot is searchable by users, below /var/lib (not /tmp, which is private in every
 * container). slurm.conformance.test.ts runs the same suite with jobs of highrate's own account.
 */

const USER = { name: 'hr-conf-user', uid: 200560 };
const base = mkdtempSync('/var/lib/highrate-slurm-user-conformance-');
let removeAccount = () => {};
before(() => {
  ensureSlurm();
  chmodSync(base, 0o711);
  mkdirSync(join(base, 'jobs'), { mode: 0o711 });
  removeAccount = testAccount(USER.name, USER.uid);
});
after(() => {
  removeAccount();
  rmSync(base, { recursive: true, force: true });
});

const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING']);

runExecutorConformance({
  name: 'slurm (jobs of their pods\' users, bwrap without root on the node)',
  newExecutor: async () => createSlurmExecutor({
    name: 'conformance-slurm-user', stateDir: join(base, 'state'), jobRoot: join(base, 'jobs'), sandbox: 'bwrap', runJobsAs: 'user', pollIntervalMs: 500,
  }),
  skip: {
    limits: 'Slurm allocates whole CPUs (500m becomes --cpus-per-task=1); slurm.test.ts checks cpus and memory in scontrol show job',
  },
  security: { runAsUser: USER.uid, seccomp: true, readOnlyRoot: true, ownPidNamespace: true },
  timeoutScale: 1.5,
  watchRunning: async (ex: Executor, pod: Pod) => {
    const id = (ex as BatchExecutor).jobIdOf(pod.metadata.uid)!;
    return async () => LIVE.has(jobState(id) ?? '');
  },
  bulk: { pods: 10, total: 1000, budgetMs: 1000 },
});
