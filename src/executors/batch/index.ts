/** The batch tier: BatchExecutor (shared base) and the BatchSystem plug-in point (slurm/, htcondor/). */
export { BatchExecutor, type BatchExecutorOptions } from './executor.js';
export type { BatchSystem, BatchJob, BatchJobState, BatchPhase, CommandLine, JobAccount } from './types.js';
export { TERMINAL } from './types.js';
export { CommandRunner, type CommandResult } from './commands.js';
export { batchPodStatus, readJobFiles, QUEUED_REASON, type JobFiles } from './status.js';
export { containerSandbox, type ContainerRuntime } from './container-sandbox.js';
export type { JobRecord, ContainerRecord } from './records.js';
export { chooseJobUser, podIdentity, type RunJobsAs, type JobUser } from './job-user.js';
export { nodeSandbox, type BatchNodeOptions, type NodeSandboxes, type JobRunner } from './node-sandbox.js';
