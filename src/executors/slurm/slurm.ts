import { fail } from '../../errors/catalogue.js';
import type { CommandResult } from '../batch/commands.js';
import { shQuote } from '../podscript/shell.js';
import type { BatchJob, BatchJobState, BatchPhase, BatchSystem, CommandLine } from '../batch/types.js';

/**
 * Slurm as a BatchSystem: `#SBATCH` lines in front of the pod supervisor, sbatch with the script
 * on stdin, one squeue for all jobs, scontrol for a job squeue forgot, scancel, sinfo. Pure
 * functions; BatchExecutor runs them. Checked against Slurm 22.05 (Debian 12).
 */

export interface SlurmOptions {
  partition?: string;
  account?: string;
  qos?: string;
  /** Slurm's time format ("30", "1:00:00", "1-00:00:00"): the job's --time. */
  timeLimit?: string;
  /** More sbatch flags, one `#SBATCH` line each (e.g. "--gres=gpu:1", "--constraint=ib"). */
  extraSbatchFlags?: string[];
  /** Program paths (default: found on PATH). */
  commands?: Partial<Record<'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sinfo', string>>;
}

/** squeue's output columns, `|`-separated; Reason is last since it may contain anything. */
export const SQUEUE_FORMAT = 'JobID:|,StateCompact:|,exit_code:|,BatchHost:|,StartTime:|,EndTime:|,Reason:';

/** Compact and long state names (squeue -O StateCompact, scontrol JobState) → phase. */
const PHASES: Record<string, BatchPhase> = {
  PD: 'pending', PENDING: 'pending', CF: 'pending', CONFIGURING: 'pending', S: 'pending', SUSPENDED: 'pending',
  RQ: 'pending', REQUEUED: 'pending', RH: 'pending', REQUEUE_HOLD: 'pending', RF: 'pending', REQUEUE_FED: 'pending',
  RD: 'pending', RESV_DEL_HOLD: 'pending',
  R: 'running', RUNNING: 'running', CG: 'running', COMPLETING: 'running', RS: 'running', RESIZING: 'running',
  SI: 'running', SIGNALING: 'running', SO: 'running', STAGE_OUT: 'running',
  CD: 'completed', COMPLETED: 'completed',
  TO: 'timeout', TIMEOUT: 'timeout', DL: 'timeout', DEADLINE: 'timeout',
  OOM: 'oom', OUT_OF_MEMORY: 'oom',
  CA: 'cancelled', CANCELLED: 'cancelled',
};

/** "2026-11-25T15:44:49" (the controller's local time) → RFC 3339 UTC; N/A, NONE, Unknown → undefined. */
function slurmTime(s: string | undefined): string | undefined {
  if (!s || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : undefined;
}

/** A Slurm job state from its fields; times only where they are facts (pending jobs show forecasts). */
function jobState(id: string, state: string, reason: string | undefined, exitCode: number | undefined, host: string | undefined, start: string | undefined, end: string | undefined): BatchJobState {
  const word = state.replace(/\+$/, '').split(/[ +]/)[0]!;
  const phase = PHASES[word] ?? 'failed';
  const s: BatchJobState = { id, phase, state: word };
  if (reason && reason !== 'None') s.reason = reason;
  if (host && host !== 'n/a' && host !== '(null)') s.host = host;
  if (phase !== 'pending') {
    const started = slurmTime(start);
    if (started) s.startedAt = started;
  }
  if (phase !== 'pending' && phase !== 'running') {
    const ended = slurmTime(end);
    if (ended) s.finishedAt = ended;
    if (exitCode !== undefined) s.exitCode = exitCode;
  }
  return s;
}

function checkFlagWord(what: string, v: string): string {
  if (/[\n\r\0]/.test(v) || v.trim() === '') throw fail('CONFIG_INVALID', `Invalid Slurm ${what} ${JSON.stringify(v)}.`);
  return v.trim();
}

/** The Slurm module; `opts` are the executor's configuration. */
export function slurmSystem(opts: SlurmOptions = {}): BatchSystem {
  const bin = (p: 'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sinfo') => opts.commands?.[p] ?? p;
  return {
    kind: 'slurm',
    // Root may submit for any user Slurm can resolve, with any group of that user.
    submitsAsUser: 'any-group',
    buildSubmit: (job) => ({ argv: [bin('sbatch'), '--parsable', ...submitAs(job)], stdin: buildSubmit(job, opts) }),
    parseSubmit,
    statusCommand: (ids) => ({ argv: [bin('squeue'), '--noheader', '-a', '--states=all', '-j', ids.join(','), '-O', SQUEUE_FORMAT] }),
    parseStates,
    describeCommand: (id) => ({ argv: [bin('scontrol'), '-o', 'show', 'job', id] }),
    parseDescribe,
    cancelCommand: (ids) => ({ argv: [bin('scancel'), ...ids] }),
    cancelByNameCommand: (uid) => ({ argv: [bin('scancel'), `--name=${uid}`] }),
    pingCommand: (): CommandLine => ({ argv: [bin('sinfo'), '--noheader', '-N', '-o', '%N|%c|%m|%t', ...(opts.partition ? ['-p', opts.partition] : [])] }),
    parsePing,
    // scontrol ping asks the controller(s) once, without sbatch's retries: 0.02 s when it answers,
    // 0.2 s when its port refuses (measured on the development Slurm).
    probeCommand: (): CommandLine => ({ argv: [bin('scontrol'), 'ping'] }),
    parseProbe,
  };
}

/** `scontrol ping`: "Slurmctld(primary) at HOST is UP" (and a line per backup); reachable when one is UP. */
export function parseProbe(out: Pick<CommandResult, 'stdout'>): boolean {
  return /\bis UP\b/.test(out.stdout);
}

/**
 * `--uid/--gid` for a job of a user (only root may pass them). On the command line, not as
 * `#SBATCH` lines, so that what the job runs as shows in the command and never in a script a
 * module could take from elsewhere.
 */
export function submitAs(job: Pick<BatchJob, 'runAs'>): string[] {
  return job.runAs ? [`--uid=${job.runAs.uid}`, `--gid=${job.runAs.gid}`] : [];
}

/**
 * The batch script: `#SBATCH` lines (job name = pod UID, output, working directory, a clean
 * login environment instead of the hub's, partition/account/QoS/time, the admin's extra flags,
 * then cpus and memory from the pod's limits so they win over the extra flags), then the pod
 * supervisor after creating its directory on the node.
 */
export function buildSubmit(job: BatchJob, opts: SlurmOptions = {}): string {
  for (const [what, p] of [['jobRoot', job.jobRoot], ['output file', job.outputFile]] as const) {
    // #SBATCH lines are not shell: no quoting, and % starts a filename pattern.
    if (!/^\/[A-Za-z0-9._/+-]+$/.test(p)) throw fail('CONFIG_INVALID', `The Slurm ${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and . _ / + -.`);
  }
  const lines = [
    '#!/bin/sh',
    `#SBATCH --job-name=${job.uid}`,
    `#SBATCH --output=${job.outputFile}`,
    `#SBATCH --chdir=${job.jobRoot}`,
    // The hub's environment holds secrets: the job gets the user's login environment instead.
    '#SBATCH --export=NONE',
  ];
  if (opts.partition) lines.push(`#SBATCH --partition=${checkFlagWord('partition', opts.partition)}`);
  if (opts.account) lines.push(`#SBATCH --account=${checkFlagWord('account', opts.account)}`);
  if (opts.qos) lines.push(`#SBATCH --qos=${checkFlagWord('qos', opts.qos)}`);
  if (opts.timeLimit) lines.push(`#SBATCH --time=${checkFlagWord('timeLimit', opts.timeLimit)}`);
  for (const f of opts.extraSbatchFlags ?? []) lines.push(`#SBATCH ${checkFlagWord('flag', f)}`);
  if (job.limits.cpuCores) lines.push(`#SBATCH --cpus-per-task=${Math.max(1, Math.ceil(job.limits.cpuCores - 1e-9))}`);
  if (job.limits.memoryBytes) lines.push(`#SBATCH --mem=${Math.max(1, Math.ceil(job.limits.memoryBytes / 1048576))}M`);
  const body = job.podScript.startsWith('#!') ? job.podScript.slice(job.podScript.indexOf('\n') + 1) : job.podScript;
  lines.push(`mkdir -p -m 700 ${shQuote(job.jobDir)} || exit 1`);
  return lines.join('\n') + '\n' + body;
}

/** `sbatch --parsable` prints "<id>" or "<id>;<cluster>". */
export function parseSubmit(stdout: string): string {
  const m = /^(\d+(?:_\d+)?)(?:;\S+)?\s*$/m.exec(stdout.trim());
  if (!m) throw fail('EXECUTOR_FAILED', `sbatch answered without a job id: ${JSON.stringify(stdout.slice(0, 200))}`);
  return m[1]!;
}

/** The exit code in squeue's exit_code (a wait status: code << 8, or the signal). */
function waitStatus(raw: string | undefined): number | undefined {
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const v = Number(raw);
  return (v & 0x7f) === 0 ? (v >> 8) & 0xff : 128 + (v & 0x7f);
}

/**
 * squeue's output (SQUEUE_FORMAT) → states by job id. Null when squeue failed, except for the
 * one benign failure: asked about a single job the controller no longer knows, squeue exits 1
 * with "Invalid job id specified" (with several ids it lists the known ones and exits 0).
 */
export function parseStates(out: Pick<CommandResult, 'stdout' | 'stderr' | 'exitCode'>): Map<string, BatchJobState> | null {
  const states = new Map<string, BatchJobState>();
  if (out.exitCode !== 0) return /Invalid job id specified/i.test(out.stderr) ? states : null;
  for (const line of out.stdout.split('\n')) {
    if (!line.trim()) continue;
    const [id, state, exit, host, start, end, ...reason] = line.split('|');
    if (!id || !state || !/^\d/.test(id.trim())) return null;
    states.set(id.trim(), jobState(id.trim(), state.trim(), reason.join('|').trim(), waitStatus(exit?.trim()), host?.trim(), start?.trim(), end?.trim()));
  }
  return states;
}

/** `scontrol -o show job N`: one line of Key=Value pairs. */
export function parseDescribe(stdout: string): BatchJobState | null {
  const f = new Map<string, string>();
  for (const m of stdout.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) if (!f.has(m[1]!)) f.set(m[1]!, m[2]!);
  const id = f.get('JobId');
  const state = f.get('JobState');
  if (!id || !state) return null;
  const [code, sig] = (f.get('ExitCode') ?? '').split(':').map(Number);
  const exitCode = sig ? 128 + sig : Number.isFinite(code) ? code : undefined;
  return jobState(id, state, f.get('Reason'), exitCode, f.get('BatchHost'), f.get('StartTime'), f.get('EndTime'));
}

/** sinfo -N lines "node|cpus|memMiB|state" → the usable nodes' summed capacity (a node listed per partition counts once). */
export function parsePing(stdout: string): { cpu: string; memory: string } {
  const nodes = new Map<string, { cpus: number; mib: number }>();
  for (const line of stdout.split('\n')) {
    const [node, cpus, mem, state] = line.trim().split('|');
    if (!node || !state || /^(down|drain|drng|fail|maint|unk|inval|futr|boot|powered|pow)/i.test(state)) continue;
    nodes.set(node, { cpus: Number(cpus) || 0, mib: Number(mem) || 0 });
  }
  let cpus = 0;
  let mib = 0;
  for (const n of nodes.values()) {
    cpus += n.cpus;
    mib += n.mib;
  }
  if (cpus === 0) throw fail('EXECUTOR_FAILED', 'Slurm reports no usable node.');
  return { cpu: String(cpus), memory: `${mib}Mi` };
}
