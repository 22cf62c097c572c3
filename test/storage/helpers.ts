import { isXrootd } from '../../src/storage/index.js';

export { freePort } from '../../src/http/ports.js';

/** Stops the xrootd at `pid` a test started (SIGTERM, then SIGKILL after 5 s); nothing if it is gone. */
export async function stopXrootd(pid: number | undefined): Promise<void> {
  if (!pid || !isXrootd(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isXrootd(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isXrootd(pid)) process.kill(pid, 'SIGKILL');
}
