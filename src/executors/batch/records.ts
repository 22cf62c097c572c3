import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerKind } from '../podscript/layout.js';
import type { JobAccount } from './types.js';

/** What the job record keeps about one container. */
export interface ContainerRecord {
  kind: ContainerKind;
  name: string;
  image: string;
  /** What the executor does not honour for it (image, mounts): part of its status message. */
  notes: string[];
}

/**
 * `<stateDir>/pods/<uid>/job.json`: what a later hub process needs to find and report the job
 * (the Slurm plugin's JobID.jid + PodUID.uid + PodNamespace.ns in one file).
 */
export interface JobRecord {
  version: 1;
  uid: string;
  name: string;
  namespace: string;
  jobId: string;
  /** The job's directory where it runs (readable here on one machine or a shared file system). */
  jobDir: string;
  outputFile: string;
  /** The user the job was submitted for; absent: highrate's own account. */
  runAs?: JobAccount;
  submittedAt: string;
  containers: ContainerRecord[];
}

const RECORD = 'job.json';

/** Job records in `<stateDir>/pods/<uid>/`, written atomically (tmp + rename). */
export class JobRecords {
  readonly podsDir: string;

  constructor(stateDir: string) {
    this.podsDir = join(stateDir, 'pods');
    mkdirSync(this.podsDir, { recursive: true, mode: 0o700 });
  }

  dirOf(uid: string): string {
    return join(this.podsDir, uid);
  }

  /** Creates the pod's state directory (0700: the job script holds the pod's Secrets). */
  prepare(uid: string): string {
    const dir = this.dirOf(uid);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  save(rec: JobRecord): void {
    const dir = this.prepare(rec.uid);
    const tmp = join(dir, `${RECORD}.tmp`);
    writeFileSync(tmp, JSON.stringify(rec, null, 2), { mode: 0o600 });
    renameSync(tmp, join(dir, RECORD));
  }

  remove(uid: string): void {
    rmSync(this.dirOf(uid), { recursive: true, force: true });
  }

  /** Every readable record; directories without one (a create that died before sbatch answered) are returned apart. */
  load(): { records: JobRecord[]; orphans: string[] } {
    const records: JobRecord[] = [];
    const orphans: string[] = [];
    for (const uid of readdirSync(this.podsDir)) {
      try {
        const rec = JSON.parse(readFileSync(join(this.podsDir, uid, RECORD), 'utf8')) as JobRecord;
        if (rec.version !== 1 || rec.uid !== uid || typeof rec.jobId !== 'string') throw new Error('unexpected job.json');
        records.push(rec);
      } catch {
        orphans.push(uid);
      }
    }
    return { records, orphans };
  }
}
