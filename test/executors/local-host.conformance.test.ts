import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import { LocalExecutor } from '../../src/executors/local/index.js';
import { isAlive, readProcStat } from '../../src/executors/local/procfs.js';
import type { Executor, Pod } from '../../src/executors/types.js';

/**
 * The local executor without a sandbox (sandbox: "none", for hosts without bubblewrap): the same
 * suite, minus what needs a mount namespace.
 */

const stateDir = mkdtempSync(join(tmpdir(), 'highrate-local-host-conformance-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));
const NO_MOUNTS = 'without a sandbox volumes are not mounted at their mountPath (they stay in the pod directory)';

runExecutorConformance({
  name: 'local (no sandbox)',
  newExecutor: async () => new LocalExecutor({ name: 'conformance-host', stateDir, sandbox: 'none', cgroups: 'auto', killGraceMs: 2000 }),
  skip: { volumes: NO_MOUNTS, emptyDir: NO_MOUNTS, initContainers: NO_MOUNTS },
  observeLimits: async (ex: Executor, pod: Pod) => (ex as LocalExecutor).inspect(pod.metadata.uid)?.limits ?? {},
  watchRunning: async (ex: Executor, pod: Pod) => {
    const procs = ((ex as LocalExecutor).inspect(pod.metadata.uid)?.processes ?? []).map((pid) => ({ pid, start: readProcStat(pid)?.startTime ?? null }));
    return async () => procs.some((p) => isAlive(p.pid, p.start));
  },
  bulk: { pods: 100 },
  // The host's root and no seccomp filter: pods asking for a read-only root or RuntimeDefault are refused.
  security: { runAsUser: process.getuid!() === 0 ? 200777 : process.getuid!(), seccomp: false, readOnlyRoot: false, ownPidNamespace: false },
});
