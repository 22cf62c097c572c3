/** Whether a process with this pid exists (a zombie counts until it is reaped). */
export function pidAlive(pid: number): boolean {
  if (!(pid > 0)) return false; // kill(0) or kill(-1) would signal a whole group
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
