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
