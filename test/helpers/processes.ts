/**
 * Whether a process with this pid exists. A zombie counts until it is reaped, on purpose: a
 * multi-threaded process (node) shows its leader as a zombie while its other threads still hold
 * its sockets, so "zombie" does not mean "gone".
 */
export function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false; // kill(0) or kill(-1) would signal a whole group
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
