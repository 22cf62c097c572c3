import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './platform.js';

/**
 * The development Slurm for integration tests: `scripts/slurm.sh up` (idempotent, well under a
 * second when it already runs). It is left running for the next test file; `.ci/run` stops it
 * with `scripts/slurm.sh down` when the suite ends.
 */
export function ensureSlurm(): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'slurm.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
}

/** `scontrol -o show job N` as a map of its Key=Value fields; null once Slurm forgot the job. */
export function showJob(jobId: string): Map<string, string> | null {
  let out: string;
  try {
    out = execFileSync('scontrol', ['-o', 'show', 'job', jobId], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  const f = new Map<string, string>();
  for (const m of out.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) if (!f.has(m[1]!)) f.set(m[1]!, m[2]!);
  return f;
}

/** The job's state word (RUNNING, PENDING, CANCELLED, ...) or null when unknown. */
export function jobState(jobId: string): string | null {
  return showJob(jobId)?.get('JobState') ?? null;
}

/** Job ids squeue lists as pending or running whose name is one of `names` (pod UIDs). */
export function liveJobsNamed(names: Iterable<string>): string[] {
  const wanted = new Set(names);
  const out = execFileSync('squeue', ['--noheader', '-a', '--states=PENDING,RUNNING,COMPLETING,CONFIGURING', '-o', '%i|%j'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.split('|')).filter(([, n]) => wanted.has(n!)).map(([id]) => id!);
}

/** The uid, primary gid and user name `squeue` shows for a job (%U, %G, %u), or null once it left the queue. */
export function jobOwner(jobId: string): { uid: number; gid: number; user: string } | null {
  const out = execFileSync('squeue', ['--noheader', '-a', '--states=all', '-j', jobId, '-o', '%U|%G|%u'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (!out) return null;
  const [uid, gid, user] = out.split('|');
  return { uid: Number(uid), gid: Number(gid), user: user! };
}

/**
 * A Unix account (and its group, gid = uid) for a test, so that Slurm can run jobs for it: on this
 * single machine the hub, slurmctld and slurmd share /etc/passwd. A leftover of an earlier run of
 * the same name is replaced. Returns its removal.
 */
export function testAccount(name: string, uid: number): () => void {
  removeAccount(name);
  // stdio pipe: useradd warns about uids above UID_MAX; a failure still throws with its message.
  execFileSync('groupadd', ['-g', String(uid), name], { stdio: 'pipe' });
  execFileSync('useradd', ['-M', '-N', '-u', String(uid), '-g', String(uid), '-d', '/nonexistent', '-s', '/usr/sbin/nologin', name], { stdio: 'pipe' });
  return () => removeAccount(name);
}

function removeAccount(name: string): void {
  for (const [cmd, db] of [['userdel', 'passwd'], ['groupdel', 'group']] as const) {
    try {
      execFileSync('getent', [db, name], { stdio: 'ignore' });
    } catch {
      continue;
    }
    execFileSync(cmd, [name], { stdio: 'ignore' });
  }
}
