import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VOLUMES_DIR } from './layout.js';
import type { PodPlan } from './plan.js';
import { ownedPaths } from './script.js';

/**
 * What the script's first lines do (script.ts `fileLines`), done by an executor that shares the
 * pod's machine, before the supervisor starts: directories, volume files with their modes, and
 * the volumes handed to the pod's user. Each of those lines is a fork in the script; measured,
 * they were most of what the sandbox added to a notebook's start.
 */
export function writePodFiles(plan: PodPlan, asRoot: boolean): void {
  const dir = plan.podDir;
  for (const d of plan.dirs) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  for (const d of plan.hostDirs) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const f of plan.allFiles) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, f.data, { mode: f.mode });
    chmodSync(path, f.mode);
  }
  const owned = ownedPaths({ dirs: plan.dirs, files: plan.allFiles });
  if (plan.volumeOwner && owned.length) {
    if (asRoot) for (const p of owned) chownSync(join(dir, p), plan.volumeOwner.uid, plan.volumeOwner.gid);
    chmodSync(join(dir, VOLUMES_DIR), 0o711);
  }
}
