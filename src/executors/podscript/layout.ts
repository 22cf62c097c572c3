/**
 * The pod directory, shared by the script that writes it and the executors that read it. The
 * supervisor records each container in three files, named like the Slurm plugin's job.sh:
 * `<kind>-<name>.started` (created, empty, when the container starts: its mtime is startedAt),
 * `<kind>-<name>.log` (stdout and stderr), `<kind>-<name>.status` (exit code and a newline,
 * written when it ends: its mtime is finishedAt). `pod.exit` holds the supervisor's exit code.
 */

export type ContainerKind = 'init' | 'run';

export const POD_SCRIPT = 'pod.sh';
export const POD_EXIT = 'pod.exit';
export const VOLUMES_DIR = 'volumes';
export const SANDBOX_DIR = 'sandbox';
/** The seccomp program bwrap loads (seccomp.ts). */
export const SECCOMP_FILE = `${SANDBOX_DIR}/seccomp.bpf`;
/** Written by the executor: pairs of lines, a cgroup directory of the pod and where the sandbox shows it. */
export const CGROUP_VIEW = `${SANDBOX_DIR}/cgroup-view`;

export function startedFile(kind: ContainerKind, name: string): string {
  return `${kind}-${name}.started`;
}
export function logFile(kind: ContainerKind, name: string): string {
  return `${kind}-${name}.log`;
}
export function statusFile(kind: ContainerKind, name: string): string {
  return `${kind}-${name}.status`;
}

/** The exit code in a `.status`/`pod.exit` file, or null while it is incomplete (no newline yet). */
export function parseExitFile(text: string): number | null {
  const m = /^(\d{1,3})\n/.exec(text);
  return m ? Number(m[1]) : null;
}
