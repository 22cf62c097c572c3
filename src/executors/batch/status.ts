import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { POD_EXIT, parseExitFile, startedFile, statusFile } from '../podscript/layout.js';
import type { ContainerStateTerminated, ContainerStatus, PodStatus } from '../types.js';
import type { ContainerRecord, JobRecord } from './records.js';
import { readJobFile } from './job-log.js';
import { TERMINAL, type BatchJobState, type BatchPhase } from './types.js';

/**
 * From a job's state and its files to interLink's PodStatus. The job writes the podscript's
 * files (`<kind>-<c>.started`, `.status`, `pod.exit`) in its job directory; where that directory
 * is readable here (this machine, a shared file system) they give exact per-container states
 * and exit codes. Where it is not, the batch system's job state stands for every container.
 *
 * Queue waits surface as waiting containers with reason "Pending" and the message
 * `queued as job <id>: <reason>`: the hub shows that as start progress and, by default, does not
 * count it against the start timeout.
 */

/** The waiting reason of containers whose job is still queued (the hub keys on it). */
export const QUEUED_REASON = 'Pending';

/** What the job's files say about one container. */
export interface ContainerFiles { startedAt?: string; exitCode?: number; finishedAt?: string }

/** What the job directory holds: per container (key `<kind>-<name>`), and the supervisor's exit. */
export interface JobFiles { containers: Map<string, ContainerFiles>; podExit?: number }

/** Seconds-precision RFC 3339, as Kubernetes writes times. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

const keyOf = (c: { kind: string; name: string }) => `${c.kind}-${c.name}`;

/** A `.status`/`pod.exit` file: a job of a user writes these, so symlinks and FIFOs are refused (job-log.ts). */
function readExit(path: string): { code: number; at: string } | undefined {
  const f = readJobFile(path);
  const code = f ? parseExitFile(f.text) : null;
  return f && code !== null ? { code, at: rfc3339(f.mtimeMs) } : undefined;
}

/**
 * Reads the job directory: one stat per container file. Null when the directory is not readable
 * here (not created yet, or on a node without a shared file system).
 */
export function readJobFiles(dir: string, containers: readonly ContainerRecord[]): JobFiles | null {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return null;
  const out: JobFiles = { containers: new Map() };
  for (const c of containers) {
    const f: ContainerFiles = {};
    const started = lstatSync(join(dir, startedFile(c.kind, c.name)), { throwIfNoEntry: false });
    if (started) f.startedAt = rfc3339(started.mtimeMs);
    const ended = readExit(join(dir, statusFile(c.kind, c.name)));
    if (ended) {
      f.exitCode = ended.code;
      f.finishedAt = ended.at;
    }
    out.containers.set(keyOf(c), f);
  }
  const podExit = readExit(join(dir, POD_EXIT));
  if (podExit) out.podExit = podExit.code;
  return out;
}

/** The terminated reason for an exit code in a job that ended in `phase`. */
function reasonFor(exitCode: number, phase: BatchPhase | undefined): string {
  if (exitCode === 0) return 'Completed';
  if (phase === 'timeout') return 'SlurmJobTimeout';
  if (phase === 'oom') return 'OOMKilled';
  return 'Error';
}

function jobWords(job: BatchJobState): string {
  return `job ${job.id} ended (${job.state}${job.reason && job.reason !== 'None' ? `: ${job.reason}` : ''})`;
}

/**
 * The pod's status from the job state (undefined: not seen by a poll yet) and its files (null:
 * not readable here). `settled`: nothing will change any more, the status can be frozen.
 */
export function batchPodStatus(rec: JobRecord, job: BatchJobState | undefined, files: JobFiles | null): { status: PodStatus; settled: boolean } {
  const terminal = !!job && TERMINAL.has(job.phase);
  const inits = rec.containers.filter((c) => c.kind === 'init');
  const failedInit = files && inits.find((c) => (files.containers.get(keyOf(c))?.exitCode ?? 0) !== 0);
  const initPending = inits.some((c) => files?.containers.get(keyOf(c))?.exitCode === undefined);

  function message(c: ContainerRecord, first?: string): { message?: string } {
    const parts = [...(first ? [first] : []), ...c.notes];
    return parts.length ? { message: parts.join('; ') } : {};
  }

  function build(c: ContainerRecord): ContainerStatus {
    const base = { name: c.name, image: c.image, imageID: '', restartCount: 0 };
    const terminated = (t: ContainerStateTerminated): ContainerStatus => ({ ...base, state: { terminated: t }, ready: false, started: false });
    const waiting = (reason: string, first?: string): ContainerStatus => ({ ...base, state: { waiting: { reason, ...message(c, first) } }, ready: false, started: false });
    const running = (startedAt?: string): ContainerStatus => ({ ...base, state: { running: startedAt ? { startedAt } : {} }, ready: true, started: true });

    if (!job) return waiting(QUEUED_REASON, `submitted as job ${rec.jobId}`);
    if (job.phase === 'pending') return waiting(QUEUED_REASON, `queued as job ${job.id}${job.reason ? `: ${job.reason}` : ''}`);

    const f = files?.containers.get(keyOf(c));
    if (f?.exitCode !== undefined) {
      // The container's own exit code, recorded by the supervisor: exact, whatever the job's state.
      return terminated({
        exitCode: f.exitCode, reason: reasonFor(f.exitCode, terminal ? job.phase : undefined),
        ...(f.startedAt ? { startedAt: f.startedAt } : {}), ...(f.finishedAt ? { finishedAt: f.finishedAt } : {}),
        ...message(c),
      });
    }
    if (!files) {
      // Nothing readable here: the job's state stands for each container.
      if (!terminal) return running(job.startedAt);
      const code = job.exitCode ?? 1;
      return terminated({
        exitCode: code, reason: reasonFor(code, job.phase),
        ...(job.startedAt ? { startedAt: job.startedAt } : {}), ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
        ...message(c, `${jobWords(job)}; its files are not readable from the hub, so the exit code is the job's`),
      });
    }
    if (f?.startedAt) {
      if (!terminal) return running(f.startedAt);
      // Started, never recorded an exit: killed with the job (time limit, scancel, node failure).
      const code = job.phase === 'timeout' || job.phase === 'cancelled' ? 143 : job.exitCode && job.exitCode !== 0 ? job.exitCode : 137;
      return terminated({
        exitCode: code, reason: job.phase === 'completed' ? 'Error' : reasonFor(code, job.phase), startedAt: f.startedAt,
        ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
        ...message(c, `${jobWords(job)} without recording this container's exit`),
      });
    }
    if (!terminal) return waiting(c.kind === 'init' || initPending ? 'PodInitializing' : 'ContainerCreating');
    const why = failedInit ? `not started: init container "${failedInit.name}" failed` : `not started: ${jobWords(job)} first`;
    return terminated({ exitCode: 1, reason: 'ContainerCannotRun', ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}), ...message(c, why) });
  }

  const status: PodStatus = {
    name: rec.name,
    UID: rec.uid,
    namespace: rec.namespace,
    JID: rec.jobId,
    containers: rec.containers.filter((c) => c.kind === 'run').map(build),
    initContainers: inits.map(build),
  };
  return { status, settled: terminal };
}
