import { fail } from '../../errors/catalogue.js';
import type { CommandResult } from '../batch/commands.js';
import type { BatchJob, BatchJobState, BatchPhase, CommandLine } from '../batch/types.js';

/**
 * HTCondor as a BatchSystem, as pure functions: the submit description, the command lines and
 * the parsers of what the tools print (`condor_submit -terse`, `condor_q -json`,
 * `condor_history -json`, `condor_status -json`). ClassAd attribute names as the HTCondor manual
 * documents them (job ClassAd attributes: ClusterId, ProcId, JobStatus, ExitCode, ExitBySignal,
 * ExitSignal, HoldReason, HoldReasonCode, RemoteHost, LastRemoteHost, JobCurrentStartDate,
 * JobStartDate, CompletionDate, EnteredCurrentStatus; machine: Machine, TotalCpus, TotalMemory).
 * No HTCondor runs where this was written: see docs/executors.md for what is proven.
 */

export type HtcondorProgram = 'condor_submit' | 'condor_q' | 'condor_history' | 'condor_rm' | 'condor_status';

export interface HtcondorOptions {
  /** The schedd to submit to and query (`-name`); default: the local one. */
  schedd?: string;
  /** The central manager (`-pool`); default: the configured one. */
  pool?: string;
  /**
   * vanilla: the pod supervisor runs on the execute node (its containers as processes, or through
   * `containerRuntime`). container: HTCondor's container universe, the whole job in `containerImage`.
   */
  universe?: 'vanilla' | 'container';
  /** The image of the container universe (docker://…, a .sif path, …). */
  containerImage?: string;
  /** `request_disk`, e.g. "2G" (HTCondor reads K, M, G, T suffixes; a bare number is KiB). */
  requestDisk?: string;
  /** `+AccountingGroup` (quoted ClassAd string). */
  accountingGroup?: string;
  /** More submit commands, one per line, before the resource requests (so a pod's limits win). */
  extraSubmitLines?: string[];
  /** Program paths (default: found on PATH). */
  commands?: Partial<Record<HtcondorProgram, string>>;
}

/** The job attributes asked for (one condor_q per poll, only these: ads are large). */
export const JOB_ATTRIBUTES = [
  'ClusterId', 'ProcId', 'JobStatus', 'ExitCode', 'ExitBySignal', 'ExitSignal', 'HoldReason', 'HoldReasonCode',
  'RemoteHost', 'LastRemoteHost', 'JobCurrentStartDate', 'JobStartDate', 'CompletionDate', 'EnteredCurrentStatus', 'highrate_pod_uid',
] as const;

/** The JobStatus codes of the HTCondor manual. */
export const JOB_STATUS: Record<number, { word: string; phase: BatchPhase }> = {
  1: { word: 'Idle', phase: 'pending' },
  2: { word: 'Running', phase: 'running' },
  3: { word: 'Removed', phase: 'cancelled' },
  4: { word: 'Completed', phase: 'completed' },
  // Held jobs wait for a release (or a condor_rm): pending, with the hold reason shown. Not
  // terminal, so that deleting the pod still removes the job from the queue.
  5: { word: 'Held', phase: 'pending' },
  6: { word: 'TransferringOutput', phase: 'running' },
  7: { word: 'Suspended', phase: 'pending' },
};

/** Paths go into the submit description raw: no spaces, `$(` macros, quotes or line breaks. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+-]+$/;

function checkPath(what: string, p: string): string {
  if (!SAFE_PATH.test(p)) throw fail('CONFIG_INVALID', `The HTCondor ${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ / + -.`);
  return p;
}

function checkLine(what: string, v: string): string {
  if (/[\n\r\0]/.test(v) || v.trim() === '') throw fail('CONFIG_INVALID', `Invalid HTCondor ${what} ${JSON.stringify(v)}.`);
  return v.trim();
}

/** An account name as HTCondor's Owner: a plain Unix user name, never root. */
function checkOwner(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9._-]{0,63}$/.test(name) || name === 'root') throw fail('CONFIG_INVALID', `The account ${JSON.stringify(name)} cannot be an HTCondor job Owner.`);
  return name;
}

/** A ClassAd string literal: `"…"` with `\` and `"` escaped. */
function classAdString(v: string): string {
  return `"${checkLine('string', v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Where the job's own HTCondor files go: in the job directory, removed with it. */
export function condorFiles(job: Pick<BatchJob, 'jobDir'>): { error: string; log: string } {
  return { error: `${job.jobDir}/condor.err`, log: `${job.jobDir}/condor.log` };
}

/**
 * The submit description of one pod's job. The executable is the pod supervisor as the base
 * wrote it (`job.scriptPath`), transferred to the execute node; stdout goes to the base's output
 * file, stderr and the job event log into the job directory. `+highrate_pod_uid` names the pod
 * (the base removes jobs of pods it lost track of by it). The admin's extra lines come before
 * the resource requests, so a pod's limits win (later commands override earlier ones).
 */
export function buildSubmit(job: BatchJob, opts: HtcondorOptions = {}): string {
  const files = condorFiles(job);
  checkPath('job directory', job.jobDir);
  checkPath('output file', job.outputFile);
  checkPath('script path', job.scriptPath);
  const lines = [
    `# highrate pod ${/^[a-z0-9.-]{1,253}$/.test(job.namespace) ? job.namespace : '_'}/${/^[a-z0-9.-]{1,253}$/.test(job.name) ? job.name : '_'} uid ${job.uid} (generated)`,
  ];
  if ((opts.universe ?? 'vanilla') === 'container') {
    if (!opts.containerImage) throw fail('CONFIG_INVALID', 'The HTCondor container universe needs containerImage.');
    lines.push('universe = container', `container_image = ${checkLine('containerImage', opts.containerImage)}`);
  } else {
    lines.push('universe = vanilla');
  }
  lines.push(
    `executable = ${job.scriptPath}`,
    'transfer_executable = true',
    'should_transfer_files = YES',
    'when_to_transfer_output = ON_EXIT',
    `output = ${job.outputFile}`,
    `error = ${files.error}`,
    `log = ${files.log}`,
    // The hub's environment holds secrets; the job gets none of it.
    'getenv = false',
    `batch_name = ${job.uid}`,
    `+highrate_pod_uid = ${classAdString(job.uid)}`,
  );
  // The pod's user: root, a queue super user, may set Owner where QUEUE_SUPER_USER_MAY_IMPERSONATE
  // allows it (the schedd never accepts Owner "root"); the starter then runs the job as that account.
  if (job.runAs) lines.push(`+Owner = ${classAdString(checkOwner(job.runAs.name))}`);
  if (opts.accountingGroup) lines.push(`+AccountingGroup = ${classAdString(opts.accountingGroup)}`);
  if (opts.requestDisk) lines.push(`request_disk = ${checkLine('requestDisk', opts.requestDisk)}`);
  for (const l of opts.extraSubmitLines ?? []) {
    const line = checkLine('submit line', l);
    if (/^queue\b/i.test(line)) throw fail('CONFIG_INVALID', 'extraSubmitLines must not contain a queue command: the executor queues one job per pod.');
    lines.push(line);
  }
  if (job.limits.cpuCores) lines.push(`request_cpus = ${Math.max(1, Math.ceil(job.limits.cpuCores - 1e-9))}`);
  // A bare number is MiB for request_memory.
  if (job.limits.memoryBytes) lines.push(`request_memory = ${Math.max(1, Math.ceil(job.limits.memoryBytes / 1048576))}`);
  lines.push('queue 1', '');
  return lines.join('\n');
}

/** `-name SCHEDD -pool POOL` for the commands that talk to the schedd. */
function target(opts: HtcondorOptions): string[] {
  return [...(opts.schedd ? ['-name', checkLine('schedd', opts.schedd)] : []), ...(opts.pool ? ['-pool', checkLine('pool', opts.pool)] : [])];
}

/**
 * condor_rm exits 1 with "Job N.0 not found" for a job that has already left the queue (it
 * completed between the last poll and the delete): nothing to cancel, so that is success. Other
 * failures (schedd down, permission) keep their exit code and message.
 */
export const CANCEL_SCRIPT = 'out=$("$0" "$@" 2>&1); rc=$?; [ -n "$out" ] && printf \'%s\\n\' "$out" >&2; '
  + '[ $rc -eq 0 ] && exit 0; printf \'%s\\n\' "$out" | grep -qv \' not found$\' && exit $rc; exit 0';

/** The command lines, for a submit description written at `submitFile`. */
export function commands(opts: HtcondorOptions = {}) {
  const bin = (p: HtcondorProgram) => opts.commands?.[p] ?? p;
  const attrs = JOB_ATTRIBUTES.join(',');
  return {
    submit: (submitFile: string): CommandLine => ({ argv: [bin('condor_submit'), '-terse', ...target(opts), submitFile] }),
    /** ONE condor_q for every job of the poll. */
    status: (ids: readonly string[]): CommandLine => ({ argv: [bin('condor_q'), ...target(opts), '-json', '-attributes', attrs, ...ids] }),
    /** A job that left the queue (completed, removed): the schedd's history. */
    history: (id: string): CommandLine => ({ argv: [bin('condor_history'), ...target(opts), '-json', '-limit', '1', '-attributes', attrs, id] }),
    cancel: (ids: readonly string[]): CommandLine => ({ argv: ['/bin/sh', '-c', CANCEL_SCRIPT, bin('condor_rm'), ...target(opts), ...ids] }),
    cancelByUid: (uid: string): CommandLine => ({ argv: [bin('condor_rm'), ...target(opts), '-constraint', `highrate_pod_uid == ${classAdString(uid)}`] }),
    ping: (): CommandLine => ({ argv: [bin('condor_status'), ...(opts.pool ? ['-pool', opts.pool] : []), '-json', '-attributes', 'Machine,TotalCpus,TotalMemory,State'] }),
    /**
     * Before each submit: asks the schedd the job goes to for its totals only (no job ads). A
     * schedd that is down answers at once with "Failed to fetch ads"; one that does not answer
     * at all runs into the probe's deadline (3 s) instead of condor_submit's connect timeout.
     */
    probe: (): CommandLine => ({ argv: [bin('condor_q'), ...target(opts), '-totals'] }),
  };
}

/**
 * `condor_q -totals`: exit 0 with a "Total for query: N jobs; …" line when the schedd answered;
 * exit 1 with "-- Failed to fetch ads from: <addr> : NAME" (and CEDAR's reason) when it did not.
 */
export function parseProbe(out: { stdout: string; stderr: string; exitCode: number }): boolean {
  return out.exitCode === 0 && /^Total for /m.test(out.stdout) && !/Failed to fetch ads/.test(`${out.stdout}\n${out.stderr}`);
}

/** `condor_submit -terse` prints "<first> - <last>" job ids, e.g. "1234.0 - 1234.0". */
export function parseSubmit(stdout: string): string {
  const m = /^\s*(\d+\.\d+)\s*-\s*\d+\.\d+\s*$/m.exec(stdout);
  if (!m) throw fail('EXECUTOR_FAILED', `condor_submit answered without a job id: ${JSON.stringify(stdout.slice(0, 200))}`);
  return m[1]!;
}

type Ad = Record<string, unknown>;

/** An attribute by name, case-insensitively (ClassAd names are). */
function attr(ad: Ad, name: string): unknown {
  if (name in ad) return ad[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(ad)) if (k.toLowerCase() === lower) return ad[k];
  return undefined;
}

function num(ad: Ad, name: string): number | undefined {
  const v = attr(ad, name);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(ad: Ad, name: string): string | undefined {
  const v = attr(ad, name);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Epoch seconds → RFC 3339; 0 and absent are "not happened". */
function epoch(ad: Ad, name: string): string | undefined {
  const v = num(ad, name);
  return v && v > 0 ? new Date(v * 1000).toISOString().replace('.000Z', 'Z') : undefined;
}

/** "slot1_2@node.example.org" → "node.example.org". */
function host(ad: Ad): string | undefined {
  const h = str(ad, 'RemoteHost') ?? str(ad, 'LastRemoteHost');
  return h?.replace(/^[^@]*@/, '');
}

/** One job ad → its state. */
export function jobState(ad: Ad): BatchJobState | null {
  const cluster = num(ad, 'ClusterId');
  const proc = num(ad, 'ProcId');
  const status = num(ad, 'JobStatus');
  if (cluster === undefined || proc === undefined || status === undefined) return null;
  const known = JOB_STATUS[status];
  const s: BatchJobState = { id: `${cluster}.${proc}`, phase: known?.phase ?? 'failed', state: known?.word ?? `JobStatus ${status}` };
  const h = host(ad);
  if (h && s.phase !== 'pending') s.host = h;
  if (status === 5) s.reason = `Held: ${str(ad, 'HoldReason') ?? 'no reason given'}`;
  else if (status === 7) s.reason = 'Suspended';
  const started = epoch(ad, 'JobCurrentStartDate') ?? epoch(ad, 'JobStartDate');
  if (started && s.phase !== 'pending') s.startedAt = started;
  if (status === 3 || status === 4) {
    const ended = epoch(ad, 'CompletionDate') ?? epoch(ad, 'EnteredCurrentStatus');
    if (ended) s.finishedAt = ended;
  }
  if (status === 4) {
    const bySignal = attr(ad, 'ExitBySignal') === true;
    const code = bySignal ? 128 + (num(ad, 'ExitSignal') ?? 0) : num(ad, 'ExitCode');
    if (code !== undefined) s.exitCode = code;
    if (code !== 0) {
      s.phase = 'failed';
      s.reason = bySignal ? `killed by signal ${num(ad, 'ExitSignal') ?? '?'}` : `exit code ${code ?? 'unknown'}`;
    }
  }
  return s;
}

/** The ads in `-json` output: a JSON array; nothing at all when no job matched. */
function ads(stdout: string): Ad[] | null {
  const text = stdout.trim();
  if (text === '') return [];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((a): a is Ad => typeof a === 'object' && a !== null) : null;
  } catch {
    return null;
  }
}

/**
 * `condor_q -json` (or `condor_history -json`) output → states by job id. Null when the command
 * failed or printed something that is not a list of ads: the schedd did not answer.
 */
export function parseStates(out: Pick<CommandResult, 'stdout' | 'stderr' | 'exitCode'>): Map<string, BatchJobState> | null {
  if (out.exitCode !== 0) return null;
  const list = ads(out.stdout);
  if (!list) return null;
  const states = new Map<string, BatchJobState>();
  for (const ad of list) {
    const s = jobState(ad);
    if (s) states.set(s.id, s);
  }
  return states;
}

/** `condor_history -json -limit 1 <id>` → that job's final state, or null. */
export function parseHistory(stdout: string): BatchJobState | null {
  const list = ads(stdout);
  if (!list?.length) return null;
  return jobState(list[0]!);
}

/** `condor_status -json` slot ads → the pool's capacity, each machine once. */
export function parsePing(stdout: string): { cpu: string; memory: string } {
  const list = ads(stdout);
  if (!list) throw fail('EXECUTOR_FAILED', 'condor_status printed something that is not a list of ads.');
  const machines = new Map<string, { cpus: number; mib: number }>();
  for (const ad of list) {
    const name = str(ad, 'Machine');
    if (!name || str(ad, 'State') === 'Owner') continue;
    machines.set(name, { cpus: num(ad, 'TotalCpus') ?? 0, mib: num(ad, 'TotalMemory') ?? 0 });
  }
  let cpus = 0;
  let mib = 0;
  for (const m of machines.values()) {
    cpus += m.cpus;
    mib += m.mib;
  }
  if (cpus <= 0) throw fail('EXECUTOR_FAILED', 'HTCondor reports no usable execute machine.');
  return { cpu: String(Math.floor(cpus)), memory: `${Math.floor(mib)}Mi` };
}
