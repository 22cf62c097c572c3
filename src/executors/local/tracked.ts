import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerStateTerminated, ContainerStatus, PodStatus } from '../types.js';
import { POD_EXIT, parseExitFile, startedFile, statusFile, type ContainerKind } from '../podscript/layout.js';
import { cgroupOomKills, type PodCgroup } from './cgroups.js';
import { isAlive } from './procfs.js';

/** What state.json keeps about one container. */
export interface ContainerRecord {
  kind: ContainerKind;
  name: string;
  image: string;
  /** What the executor does not honour for it (image, sandbox, limits): the status message. */
  notes: string[];
}

/** state.json: everything a later executor process needs to find and report the pod. */
export interface PodRecord {
  version: 1;
  uid: string;
  name: string;
  namespace: string;
  /** The supervisor: pid, also its process group (it runs in its own session). */
  pid: number;
  /** /proc/<pid>/stat start time, to tell our supervisor from a process that reused its pid. */
  startTime: string | null;
  createdAt: string;
  cgroup: PodCgroup | null;
  containers: ContainerRecord[];
}

/** One container of a tracked pod: its record, its file paths, and what was seen of it. */
interface Slot {
  c: ContainerRecord;
  startedPath: string;
  statusPath: string;
  startedAt?: string;
  terminated?: ContainerStateTerminated;
}

/** Seconds-precision RFC 3339, as Kubernetes writes times. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The file's mtime as RFC 3339, or undefined when it does not exist. */
function mtime(path: string): string | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st ? rfc3339(st.mtimeMs) : undefined;
}

/**
 * A pod this executor tracks, with what it has observed so far. Files only ever appear (started,
 * then status), so what was seen is cached; once the supervisor has ended and every container
 * is terminated the pod is settled and costs no more file system calls.
 */
export class TrackedPod {
  readonly record: PodRecord;
  readonly dir: string;
  #slots: Slot[];
  #settled = false;
  #cgroupJoinFailed = false;

  constructor(record: PodRecord, dir: string) {
    this.record = record;
    this.dir = dir;
    // Paths computed once: status() walks these for every unsettled pod on every call.
    this.#slots = record.containers.map((c) => ({ c, startedPath: join(dir, startedFile(c.kind, c.name)), statusPath: join(dir, statusFile(c.kind, c.name)) }));
  }

  get jid(): string {
    return String(this.record.pid);
  }

  /** Whether the supervisor process still runs. */
  supervisorAlive(): boolean {
    return isAlive(this.record.pid, this.record.startTime);
  }

  /** The container's record, or undefined. */
  container(name: string): ContainerRecord | undefined {
    return this.record.containers.find((c) => c.name === name);
  }

  /** True once the container has ended (or can never run). */
  containerDone(name: string): boolean {
    const c = this.container(name);
    if (!c) return true;
    this.observe();
    return !!this.#slots.find((s) => s.c === c)?.terminated;
  }

  /**
   * Reads what changed since the last call: one /proc read, then one stat per container still
   * running or waiting (no directory listing: stat is several times cheaper). Free once settled.
   */
  observe(): void {
    if (this.#settled) return;
    // Liveness first: whatever the supervisor wrote before it ended is then on disk when the
    // files are looked at below, so a finished pod is never mistaken for a vanished one.
    const alive = this.supervisorAlive();
    for (const o of this.#slots) {
      if (o.terminated) continue;
      if (!o.startedAt) {
        o.startedAt = mtime(o.startedPath);
        // The supervisor joins its cgroup before starting anything: by now it did or did not.
        if (o.startedAt && this.record.cgroup && existsSync(join(this.dir, 'cgroup.failed'))) this.#cgroupJoinFailed = true;
        if (!o.startedAt && alive) continue;
      }
      const finished = mtime(o.statusPath);
      if (finished) {
        const code = readExit(o.statusPath);
        if (code !== null) o.terminated = this.#terminated(code, o.startedAt, finished);
      }
    }
    if (alive) return;
    const podExit = readExit(join(this.dir, POD_EXIT));
    // The supervisor has ended: containers without an exit code never will have one.
    const finishedAt = (podExit !== null ? mtime(join(this.dir, POD_EXIT)) : undefined) ?? rfc3339(Date.now());
    const failedInit = this.#slots.find((o) => o.c.kind === 'init' && (o.terminated?.exitCode ?? 0) !== 0)?.c;
    for (const o of this.#slots) {
      const c = o.c;
      if (o.terminated) continue;
      if (o.startedAt) {
        o.terminated = {
          ...this.#terminated(137, o.startedAt, finishedAt),
          message: this.#message(c, `the pod supervisor (pid ${this.record.pid}) ended without recording this container's exit`),
        };
      } else {
        // Never started: an init container failed, or the supervisor died first. Terminated
        // (not left waiting) so that whoever watches sees the pod end.
        const why = failedInit && podExit !== null
          ? `not started: init container "${failedInit.name}" failed`
          : `not started: the pod supervisor (pid ${this.record.pid}) ended first`;
        o.terminated = { exitCode: 1, reason: 'ContainerCannotRun', message: this.#message(c, why), finishedAt };
      }
    }
    this.#settled = true;
  }

  #terminated(exitCode: number, startedAt: string | undefined, finishedAt: string | undefined): ContainerStateTerminated {
    // 137 = killed by SIGKILL; with an OOM kill counted in the pod's memory cgroup, it was the OOM killer.
    const reason = exitCode === 0 ? 'Completed' : exitCode === 137 && cgroupOomKills(this.record.cgroup) > 0 ? 'OOMKilled' : 'Error';
    const c: ContainerStateTerminated = { exitCode, reason };
    if (startedAt) c.startedAt = startedAt;
    if (finishedAt) c.finishedAt = finishedAt;
    return c;
  }

  #notes(c: ContainerRecord): string[] {
    return this.#cgroupJoinFailed && !c.notes.some((n) => n.includes('not enforced'))
      ? [...c.notes, 'limits not enforced: the pod could not join its cgroup']
      : c.notes;
  }

  #message(c: ContainerRecord, first?: string): string | undefined {
    const parts = [...(first ? [first] : []), ...this.#notes(c)];
    return parts.length ? parts.join('; ') : undefined;
  }

  /** The interLink PodStatus, from what has been observed. */
  status(): PodStatus {
    this.observe();
    const initPending = this.#slots.some((o) => o.c.kind === 'init' && !o.terminated);
    const build = (o: Slot): ContainerStatus => {
      const c = o.c;
      const base = { name: c.name, image: c.image, imageID: '', restartCount: 0 };
      if (o.terminated) {
        const message = o.terminated.message ?? this.#message(c);
        return { ...base, state: { terminated: { ...o.terminated, ...(message ? { message } : {}) } }, ready: false, started: false };
      }
      if (o.startedAt) return { ...base, state: { running: { startedAt: o.startedAt } }, ready: true, started: true };
      const reason = c.kind === 'init' || initPending ? 'PodInitializing' : 'ContainerCreating';
      const message = this.#message(c);
      return { ...base, state: { waiting: { reason, ...(message ? { message } : {}) } }, ready: false, started: false };
    };
    return {
      name: this.record.name,
      UID: this.record.uid,
      namespace: this.record.namespace,
      JID: this.jid,
      containers: this.#slots.filter((o) => o.c.kind === 'run').map(build),
      initContainers: this.#slots.filter((o) => o.c.kind === 'init').map(build),
    };
  }
}

function readExit(path: string): number | null {
  try {
    return parseExitFile(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
