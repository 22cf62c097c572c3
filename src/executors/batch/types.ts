import type { Limits } from '../podscript/limits.js';
import type { PingResponse } from '../types.js';

/**
 * The plug-in point of the batch tier: what a batch system (Slurm, HTCondor) contributes to
 * BatchExecutor. Pure functions that build command lines and parse their output; the base runs
 * the commands, persists job ids, caches and shares status polls, reads the job's files and maps
 * states to interLink's PodStatus. A module is ~150 lines (slurm/slurm.ts).
 *
 * Required: submit, status, cancel, ping. `describe` is optional (a second look at jobs that
 * left the status command's output, e.g. `scontrol show job`, `condor_history`).
 */
export interface BatchSystem {
  /** "slurm", "htcondor": the executor's kind. */
  readonly kind: string;
  /**
   * How the system runs a job as the pod's user (`BatchJob.runAs`), when highrate runs as root:
   * 'any-group' with any group of the user's account (Slurm: `--uid --gid`), 'primary-group' with
   * the account's primary group only (HTCondor's Owner); absent: jobs run as highrate's account.
   */
  readonly submitsAsUser?: 'any-group' | 'primary-group';
  /** The submit command for one pod's job; the script is on stdin or in `job.scriptPath`. */
  buildSubmit(job: BatchJob): CommandLine;
  /** The job id from the submit command's stdout; throws if there is none. */
  parseSubmit(stdout: string): string;
  /** ONE command asking for the states of all these jobs (never one per job). */
  statusCommand(jobIds: readonly string[]): CommandLine;
  /**
   * Parses the status command's output. Jobs it does not mention are "missing" (finished long
   * ago and forgotten by the controller). `stderr`/`exitCode` are given so a module can tell a
   * benign failure (Slurm: a lone unknown job id exits 1) from a controller error: return null
   * for "the controller did not answer", which the base treats as an outage.
   */
  parseStates(out: { stdout: string; stderr: string; exitCode: number }): Map<string, BatchJobState> | null;
  /** Optional: one command for one missing job (run once per job), and its parser (null: unknown). */
  describeCommand?(jobId: string): CommandLine;
  parseDescribe?(stdout: string): BatchJobState | null;
  /** Cancels jobs (one command). */
  cancelCommand(jobIds: readonly string[]): CommandLine;
  /** Optional: cancels the job named after a pod UID (a hub that died between submit and record). */
  cancelByNameCommand?(uid: string): CommandLine;
  /** Capacity: one command, parsed into interLink's PingResponse resources (without `pods`). */
  pingCommand(): CommandLine;
  parsePing(stdout: string): PingResponse['resources'];
  /**
   * Optional: a quick "does the controller answer?" run before every submit (the submit command's
   * own retries take ≈ 9 s when it does not), and its reading: true = reachable.
   */
  probeCommand?(): CommandLine;
  parseProbe?(out: { stdout: string; stderr: string; exitCode: number }): boolean;
}

/** The account a job runs as: name, uid and the group it starts with. */
export interface JobAccount { name: string; uid: number; gid: number }

/** A command: argv[0] is the program; `stdin` is written to it when set. */
export interface CommandLine { argv: string[]; stdin?: string }

/** What the base hands a module to build a submission from. */
export interface BatchJob {
  uid: string;
  name: string;
  namespace: string;
  /** The job's directory where it runs (podscript layout); made by the hub, owned by `runAs`, where it can see it. */
  jobDir: string;
  /** Absolute path of the job's batch output (the supervisor's own stdout/stderr), writable by the job. */
  outputFile: string;
  /** The user the job is submitted for (`sbatch --uid/--gid`, HTCondor `+Owner`); absent: highrate's own account. */
  runAs?: JobAccount;
  /** Where the job starts (exists on the nodes); job directories are created below it. */
  jobRoot: string;
  /** The pod supervisor (podscript pod.sh): a POSIX sh script, shebang first. */
  podScript: string;
  /**
   * The same text as a file, written before buildSubmit is called, readable by the job's user: for
   * file-based submits on a file system the nodes share (an HTCondor executable). In the hub's
   * state directory (0700), or in the job directory for a job of `runAs`.
   */
  scriptPath: string;
  /** The pod's directory in the hub's state (0700, the hub's alone): for files the module writes, such as a submit description. */
  stateDir: string;
  /** The cpu and memory to request: the pod's effective limits, else its largest container limits. */
  limits: Limits;
}

/**
 * A job's state in batch-system-neutral terms (interLink's Slurm plugin mapping):
 * pending (queued, held, configuring) → containers waiting; running (also completing) → read
 * the job's files; the rest are terminal.
 */
export type BatchPhase = 'pending' | 'running' | 'completed' | 'failed' | 'timeout' | 'oom' | 'cancelled';

export interface BatchJobState {
  id: string;
  phase: BatchPhase;
  /** The batch system's own state word, for messages (e.g. "PD", "TIMEOUT"). */
  state: string;
  /** Why it waits or ended (Slurm's Reason: "Resources", "Priority", "NonZeroExitCode"). */
  reason?: string;
  /** The job script's exit code, when it ended and the system knows it. */
  exitCode?: number;
  /** Where it runs or ran. */
  host?: string;
  /** RFC 3339. */
  startedAt?: string;
  finishedAt?: string;
}

export const TERMINAL: ReadonlySet<BatchPhase> = new Set(['completed', 'failed', 'timeout', 'oom', 'cancelled']);
