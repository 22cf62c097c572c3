import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import { LocalExecutor } from '../../src/executors/local/index.js';
import { isAlive, readProcStat } from '../../src/executors/local/procfs.js';
import type { Executor, Pod } from '../../src/executors/types.js';

/** The local executor with bubblewrap (and cgroups where this host allows) against the shared suite. */

const stateDir = mkdtempSync(join(tmpdir(), 'highrate-local-conformance-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

runExecutorConformance({
  name: 'local (bwrap)',
  newExecutor: async () => new LocalExecutor({ name: 'conformance', stateDir, sandbox: 'bwrap', cgroups: 'auto', killGraceMs: 2000 }),
  observeLimits: async (ex: Executor, pod: Pod) => (ex as LocalExecutor).inspect(pod.metadata.uid)?.limits ?? {},
  watchRunning: async (ex: Executor, pod: Pod) => {
    const procs = ((ex as LocalExecutor).inspect(pod.metadata.uid)?.processes ?? [])
      .map((pid) => ({ pid, start: readProcStat(pid)?.startTime ?? null }));
    return async () => procs.some((p) => isAlive(p.pid, p.start));
  },
  bulk: { pods: 100, total: 1000, budgetMs: 1000 },
  // As root it switches to any uid (setpriv in the sandbox); otherwise it can only keep its own.
  security: { runAsUser: process.getuid!() === 0 ? 200777 : process.getuid!(), seccomp: true, readOnlyRoot: true, ownPidNamespace: true },
});
