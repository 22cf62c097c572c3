import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../../errors/catalogue.js';
import { BatchExecutor, type BatchExecutorOptions } from '../batch/executor.js';
import { containerSandbox } from '../batch/container-sandbox.js';
import { bwrapSandbox, hostSandbox, type Sandbox } from '../podscript/index.js';
import { slurmSystem, type SlurmOptions } from './slurm.js';

export { slurmSystem, buildSubmit, parseStates, parseDescribe, parsePing, parseSubmit, SQUEUE_FORMAT, type SlurmOptions } from './slurm.js';

export interface SlurmExecutorOptions extends Omit<BatchExecutorOptions, 'system' | 'sandbox' | 'runsImages'>, SlurmOptions {
  /** Runs each container's image with this runtime on the node; none: containers are host processes. */
  containerRuntime?: 'none' | 'apptainer' | 'singularity' | 'podman';
  /** For host processes (containerRuntime none): bubblewrap per container on the node (needs bwrap there). */
  sandbox?: 'none' | 'bwrap';
  /** More paths containers must not see with the bwrap sandbox (the state directory always is). */
  hiddenPaths?: string[];
  /** bubblewrap's path on the nodes (default /usr/bin/bwrap). */
  bwrapPath?: string;
}

/**
 * The Slurm executor: the batch base with the Slurm module. One pod is one job; `kind: slurm` in
 * the configuration builds it (registry.ts).
 */
export function createSlurmExecutor(opts: SlurmExecutorOptions): BatchExecutor {
  const runtime = opts.containerRuntime ?? 'none';
  let sandbox: Sandbox;
  if (runtime !== 'none') {
    sandbox = containerSandbox(runtime);
  } else if (opts.sandbox === 'bwrap') {
    const bwrap = opts.bwrapPath ?? '/usr/bin/bwrap';
    if (!existsSync(bwrap)) throw fail('CONFIG_INVALID', `Executor "${opts.name}": sandbox "bwrap" needs ${bwrap} (Debian package bubblewrap) on the nodes.`);
    // Where hub and job share a machine, the executor's state (job scripts with Secrets) stays hidden.
    sandbox = bwrapSandbox({ bwrap, hide: [resolve(opts.stateDir), ...(opts.hiddenPaths ?? []).map((p) => resolve(p))] });
  } else {
    sandbox = hostSandbox();
  }
  return new BatchExecutor({ ...opts, system: slurmSystem(opts), sandbox, runsImages: runtime !== 'none' });
}
