import { isXrootd, removeXrootdEnvFile } from '../../src/storage/index.js';

export { freePort } from '../../src/http/ports.js';

/** Stops the xrootd at `pid` a test started (SIGTERM, then SIGKILL after 5 s); nothing if it is gone. */
export async function stopXrootd(pid: number | undefined): Promise<void> {
  if (!pid || !isXrootd(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isXrootd(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isXrootd(pid)) process.kill(pid, 'SIGKILL');
  removeXrootdEnvFile(pid, { killed: true });
}

/** A JWT (three base64url parts, the first a JSON header): what a storage token looks like in text. */
export const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/;

/**
 * Copies everything this process writes to stderr (the in-process hub's log lines) into `lines`,
 * still writing it through; `stop()` restores stderr.
 */
export function captureStderr(): { lines: string[]; stop: () => void } {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  return { lines, stop: () => { process.stderr.write = original; } };
}
