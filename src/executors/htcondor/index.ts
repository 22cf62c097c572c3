import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchExecutor, type BatchExecutorOptions } from '../batch/executor.js';
import { nodeSandbox, type BatchNodeOptions } from '../batch/node-sandbox.js';
import type { BatchSystem } from '../batch/types.js';
import { buildSubmit, commands, parseHistory, parsePing, parseProbe, parseStates, parseSubmit, type HtcondorOptions } from './htcondor.js';

export { buildSubmit, commands, parseHistory, parsePing, parseProbe, parseStates, parseSubmit, jobState, condorFiles, CANCEL_SCRIPT, JOB_ATTRIBUTES, JOB_STATUS, type HtcondorOptions, type HtcondorProgram } from './htcondor.js';

/** The submit description's file name, in the pod's state directory. */
export const SUBMIT_FILE = 'job.sub';

/**
 * The HTCondor module for the batch base. HTCondor reads a submit description from a file and
 * runs an executable file, so unlike sbatch nothing goes on stdin: the base writes the pod
 * supervisor to `job.scriptPath`, this writes the description into the pod's state directory and
 * makes sure the job directory exists (the supervisor starts by entering it; the job's event log
 * and stderr go there), then `condor_submit -terse <file>` submits it.
 */
export function htcondorSystem(opts: HtcondorOptions = {}): BatchSystem {
  const cmd = commands(opts);
  return {
    kind: 'htcondor',
    // The schedd's queue super user (root) may set Owner to a user it may impersonate; the job then
    // runs as that account, with its primary group.
    submitsAsUser: 'primary-group',
    buildSubmit(job) {
      const text = buildSubmit(job, opts);
      const file = join(job.stateDir, SUBMIT_FILE);
      mkdirSync(job.jobDir, { recursive: true, mode: 0o700 });
      writeFileSync(file, text, { mode: 0o600 });
      return cmd.submit(file);
    },
    parseSubmit,
    statusCommand: (ids) => cmd.status(ids),
    parseStates,
    describeCommand: (id) => cmd.history(id),
    parseDescribe: parseHistory,
    cancelCommand: (ids) => cmd.cancel(ids),
    cancelByNameCommand: (uid) => cmd.cancelByUid(uid),
    pingCommand: () => cmd.ping(),
    parsePing,
    probeCommand: () => cmd.probe(),
    parseProbe,
  };
}

export interface HtcondorExecutorOptions extends Omit<BatchExecutorOptions, 'system' | 'sandbox' | 'userSandbox' | 'securityHint' | 'runsImages'>, HtcondorOptions, BatchNodeOptions {}

/** The HTCondor executor: the batch base with the HTCondor module (`kind: htcondor`). */
export function createHtcondorExecutor(opts: HtcondorExecutorOptions): BatchExecutor {
  return new BatchExecutor({ ...opts, system: htcondorSystem(opts), ...nodeSandbox({ ...opts, kind: 'htcondor' }) });
}
