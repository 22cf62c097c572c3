import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { readLog } from '../local/logs.js';
import type { ContainerLogOpts } from '../types.js';

/**
 * Opens a file of a job directory for reading without following a symlink in its last component
 * and without blocking on a FIFO: a job of a user writes its own directory, and the hub (root)
 * must not read, for that user, a file the user pointed it at. Null when it is missing; other
 * kinds of file are refused. (The directory itself sits in jobRoot, which users cannot write, and
 * hard links to others' files are refused by the kernel's protected_hardlinks.)
 */
export function openJobFile(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error(`${path} is a symbolic link`);
    throw err;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Error(`${path} is not a regular file`);
  }
  return fd;
}

/** The first `max` bytes of a job file (openJobFile's rules), or null when it is missing or refused. */
export function readJobFile(path: string, max = 64): { text: string; mtimeMs: number } | null {
  let fd: number | null;
  try {
    fd = openJobFile(path);
  } catch {
    return null;
  }
  if (fd === null) return null;
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return { text: buf.subarray(0, n).toString('utf8'), mtimeMs: fstatSync(fd).mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * A container's log from the job directory with interLink's options (readLog), opened as
 * openJobFile says: the validated file is handed to readLog as /proc/self/fd/N, which reopens that
 * very file, not whatever the name points at by then.
 */
export async function* readJobLog(path: string, opts: ContainerLogOpts, done: () => boolean, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let fd = openJobFile(path);
  // The file appears when the container starts; following waits for it.
  while (fd === null) {
    if (!opts.Follow || done() || signal?.aborted) return;
    await new Promise((r) => setTimeout(r, 100));
    fd = openJobFile(path);
  }
  try {
    yield* readLog(`/proc/self/fd/${fd}`, opts, done, signal);
  } finally {
    closeSync(fd);
  }
}
