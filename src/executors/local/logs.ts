import { open, type FileHandle } from 'node:fs/promises';
import type { ContainerLogOpts } from '../types.js';

/**
 * Reading a container's log file with interLink's options, as the kubelet reads its logs:
 * - `Tail` (lines): start at the N-th line from the end (a last line without newline counts);
 * - `Bytes` is k8s `limitBytes`: stop after N bytes of output (the Slurm plugin returns the last
 *   N bytes instead; kubectl's --limit-bytes and the API server mean the first N);
 * - `SinceSeconds`/`SinceTime`: the log has no per-line times, so the whole file counts as written
 *   at its last modification: older → nothing (with `Follow`: only what comes next);
 * - `Timestamps`: not available (lines carry no times); ignored, as by the Slurm plugin;
 * - `Follow`: after what is there, keeps reading new output until `done()` says the container
 *   ended, then reads to the end once more and stops. An aborted `signal` ends the stream.
 * Zero values mean "unset", as in interLink's Go structs.
 */

const CHUNK = 64 * 1024;
/** How often a followed log is checked for new output. */
const FOLLOW_POLL_MS = 100;

/** Offset where the last `lines` lines of the file begin. */
async function tailOffset(fh: FileHandle, size: number, lines: number): Promise<number> {
  if (size === 0) return 0;
  const buf = Buffer.allocUnsafe(CHUNK);
  let end = size;
  let found = 0;
  // A trailing newline ends the last line; it does not start another.
  let skipLast = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipLast = false;
        continue;
      }
      if (skipLast) {
        skipLast = false;
        continue;
      }
      found++;
      if (found === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

function sinceMs(opts: ContainerLogOpts, now: number): number | null {
  if (opts.SinceSeconds && opts.SinceSeconds > 0) return now - opts.SinceSeconds * 1000;
  if (opts.SinceTime && !opts.SinceTime.startsWith('0001-01-01')) {
    const t = Date.parse(opts.SinceTime);
    if (Number.isFinite(t)) return t;
  }
  return null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A log file as a byte stream, honouring interLink's log options (see above). */
export async function* readLog(path: string, opts: ContainerLogOpts, done: () => boolean, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let limit = opts.Bytes && opts.Bytes > 0 ? opts.Bytes : Infinity;
  const since = sinceMs(opts, Date.now());
  let fh: FileHandle | undefined;
  try {
    // The file appears when the container starts; following waits for it.
    for (;;) {
      if (signal?.aborted) return;
      try {
        fh = await open(path, 'r');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!opts.Follow || done()) return;
        await sleep(FOLLOW_POLL_MS, signal);
      }
    }
    const st = await fh.stat();
    let pos = 0;
    if (since !== null && st.mtimeMs < since) {
      if (!opts.Follow) return;
      pos = st.size;
    } else if (opts.Tail && opts.Tail > 0) {
      pos = await tailOffset(fh, st.size, opts.Tail);
    }
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      // Checked before reading: output written before the container ended is read below.
      const ended = !opts.Follow || done();
      for (;;) {
        if (limit <= 0 || signal?.aborted) return;
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, limit), pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        limit -= bytesRead;
        yield Buffer.from(buf.subarray(0, bytesRead));
      }
      if (ended) return;
      await sleep(FOLLOW_POLL_MS, signal);
    }
  } finally {
    await fh?.close();
  }
}

