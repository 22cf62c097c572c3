import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';

/** The fields of /proc/<pid>/stat this executor needs. */
export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, it identifies a process across PID reuse. */
  startTime: string;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // Fields after the name, space-separated: state(3) ppid(4) pgrp(5) ... starttime(22). Scanned
  // by hand rather than split: status() parses one per unsettled pod.
  const want = [0, 1, 2, 19];
  const got: string[] = [];
  let field = 0;
  let start = close + 2;
  for (let i = start; i <= text.length && got.length < want.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 32 || text.charCodeAt(i) === 10) {
      if (field === want[got.length]) got.push(text.slice(start, i));
      field++;
      start = i + 1;
    }
  }
  if (got.length < want.length) return null;
  return { state: got[0]!, ppid: Number(got[1]), pgrp: Number(got[2]), startTime: got[3]! };
}

const statBuf = Buffer.alloc(4096);

/**
 * The stat of a process, or null when there is none. open/read/close into a shared buffer: a
 * third of readFileSync's cost, which matters when status() checks a thousand supervisors.
 */
export function readProcStat(pid: number): ProcStat | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, statBuf, 0, statBuf.length, 0);
    return parseProcStat(statBuf.toString('latin1', 0, n));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` is the same process that started at `startTime` and has not exited (zombies have). */
export function isAlive(pid: number, startTime: string | null): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === null || st.startTime === startTime;
}

/** A process identified across pid reuse. */
export interface ProcRef { pid: number; startTime: string }

/**
 * Living processes of process group `pgrp` that started no earlier than `notBefore` (so a group
 * id reused by an unrelated process group after ours emptied is not mistaken for ours). Scans
 * /proc: used only once the group's leader is gone and `kill(-pgrp)` can no longer be trusted.
 */
export function groupMembers(pgrp: number, notBefore: string | null): ProcRef[] {
  const out: ProcRef[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  const min = notBefore === null ? null : BigInt(notBefore);
  for (const e of entries) {
    const c = e.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = readProcStat(Number(e));
    if (!st || st.pgrp !== pgrp || st.state === 'Z' || st.state === 'X') continue;
    if (min !== null && BigInt(st.startTime) < min) continue;
    out.push({ pid: Number(e), startTime: st.startTime });
  }
  return out;
}

/**
 * The living descendants of `pid`, from /proc/<pid>/task/<tid>/children (every thread's, as a
 * threaded program may fork from any thread). Cheap: reads only the pod's own process tree.
 */
export function descendants(pid: number): ProcRef[] {
  const out: ProcRef[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length) {
    const p = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${t}/children`, 'latin1');
      } catch { /* exited */ }
      for (const w of text.split(' ')) {
        const child = Number(w);
        if (!w || seen.has(child)) continue;
        seen.add(child);
        const st = readProcStat(child);
        if (!st || st.state === 'Z' || st.state === 'X') continue;
        out.push({ pid: child, startTime: st.startTime });
        queue.push(child);
      }
    }
  }
  return out;
}
