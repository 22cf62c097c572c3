import { BatchExecutor, type BatchExecutorOptions } from '../batch/executor.js';
import { nodeSandbox, type BatchNodeOptions } from '../batch/node-sandbox.js';
import { slurmSystem, type SlurmOptions } from './slurm.js';

export { slurmSystem, buildSubmit, submitAs, parseStates, parseDescribe, parsePing, parseSubmit, SQUEUE_FORMAT, type SlurmOptions } from './slurm.js';

export interface SlurmExecutorOptions extends Omit<BatchExecutorOptions, 'system' | 'sandbox' | 'userSandbox' | 'securityHint' | 'runsImages'>, SlurmOptions, BatchNodeOptions {}

/**
 * The Slurm executor: the batch base with the Slurm module. One pod is one job; `kind: slurm` in
 * the configuration builds it (registry.ts).
 */
export function createSlurmExecutor(opts: SlurmExecutorOptions): BatchExecutor {
  return new BatchExecutor({ ...opts, system: slurmSystem(opts), ...nodeSandbox({ ...opts, kind: 'slurm' }) });
}
