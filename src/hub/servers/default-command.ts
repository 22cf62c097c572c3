import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { log } from '../../log.js';
import { PLAIN_NOTEBOOK_COMMAND, SINGLEUSER_COMMAND } from './workload.js';

/** Whether `name` is an executable on `PATH` (or the system directories pods get). */
function onPath(name: string, path = process.env.PATH ?? ''): boolean {
  for (const dir of [...path.split(delimiter), '/usr/local/bin', '/usr/bin']) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch { /* next */ }
  }
  return false;
}

/**
 * The notebook command of profiles that name none, on executors that run host programs:
 * jupyterhub-singleuser where it is installed (scripts/install-deps.sh installs Debian's), else
 * Debian's plain notebook server in `token` mode, with a warning saying what is lost.
 */
export function hostDefaultCommand(): readonly string[] {
  if (onPath('jupyterhub-singleuser')) return SINGLEUSER_COMMAND;
  log.warn('jupyterhub-singleuser is not installed: servers run the plain notebook server (no OAuth login, control panel or activity reports); install Debian\'s jupyterhub package (scripts/install-deps.sh)');
  return PLAIN_NOTEBOOK_COMMAND;
}
