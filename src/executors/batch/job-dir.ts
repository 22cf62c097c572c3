import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobAccount } from './types.js';

/** In the job directory: the supervisor's batch output, and (a job of a user) its executable. */
export const JOB_OUTPUT = 'job.out';
export const JOB_SCRIPT = 'job.sh';

/**
 * Makes the job directory where the hub sees jobRoot: empty, 0700, with the files the job needs
 * before it starts, and only then handed to the job's user, so that nothing of the user's can be
 * in it (a symlink root would write through) while root writes there.
 */
export function prepareJobDir(jobDir: string, user: Pick<JobAccount, 'uid' | 'gid'> | null, files: { name: string; data: string }[]): void {
  rmSync(jobDir, { recursive: true, force: true });
  mkdirSync(jobDir, { mode: 0o700 });
  for (const f of files) {
    writeFileSync(join(jobDir, f.name), f.data, { mode: 0o700, flag: 'wx' });
    if (user) chownSync(join(jobDir, f.name), user.uid, user.gid);
  }
  if (user) chownSync(jobDir, user.uid, user.gid);
}

/**
 * The supervisor of a job of a user, refusing to run as anyone else: a batch system that runs it
 * as another account (HTCondor's nobody or slot users where it does not run jobs as their owner)
 * would otherwise run host-process containers as that account unnoticed. Right after the shebang.
 */
export function withUserGuard(script: string, uid: number): string {
  const nl = script.indexOf('\n');
  const guard = `[ "$(id -u)" = ${uid} ] || { echo "highrate: this job must run as uid ${uid}, but runs as uid $(id -u)" >&2; exit 126; }`;
  return script.startsWith('#!') ? `${script.slice(0, nl + 1)}${guard}\n${script.slice(nl + 1)}` : `${guard}\n${script}`;
}
