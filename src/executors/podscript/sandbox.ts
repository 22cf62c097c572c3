import { fail } from '../../errors/catalogue.js';
import type { EffectiveSecurity, SecuritySupport } from '../security.js';
import { runIdentity, setprivArgs, type RunIdentity } from './identity.js';
import type { ContainerKind } from './layout.js';
import { isShellName, shQuote, shWords } from './shell.js';
import type { PlannedFile, VolumeSource } from './volumes.js';

/** A volume mounted into one container. */
export interface PlannedMount {
  volume: string;
  /** What is mounted: the volume's source, or a path below it (subPath). */
  source: VolumeSource;
  /** The normalised absolute mountPath. */
  target: string;
  readOnly: boolean;
}

/** What a sandbox needs to know to run one container. */
export interface SandboxContainer {
  kind: ContainerKind;
  name: string;
  argv: string[];
  env: Map<string, string>;
  workingDir?: string;
  /** Sorted by target, so a mount nested in another comes after it. */
  mounts: PlannedMount[];
  /** Its securityContext, merged with the pod's (security.ts). */
  security: EffectiveSecurity;
  /** Who it runs as; undefined where an image runtime decides. */
  identity?: RunIdentity;
  /** The pod's name (the sandbox's hostname) and the owner's name (label hub.jupyter.org/username), for the passwd entry. */
  podName: string;
  owner?: string;
  /** Bytes the container's scratch space (/tmp, /dev/shm) may hold: its ephemeral-storage or memory limit. */
  scratchBytes?: number;
}

/**
 * How a container's process is started. Each container becomes a shell function whose body (a
 * subshell) ends by exec'ing the container; the sandbox writes that body. A Slurm or HTCondor
 * executor can plug an apptainer sandbox in here and keep the rest of the script.
 */
export interface Sandbox {
  readonly kind: string;
  /** Directories (relative to the pod directory) the sandbox needs. */
  readonly dirs: string[];
  /** What it enforces of a pod's securityContext; planPod refuses pods it cannot run as asked. */
  readonly support: SecuritySupport;
  /** Files it needs in the pod directory (written by the script like volume files). */
  files(): PlannedFile[];
  /** Shell functions the container bodies use, emitted once. */
  prelude(): string[];
  /** The body of the container's subshell function. */
  containerBody(c: SandboxContainer): string[];
  /** What this sandbox does not honour for the container, for its status message. */
  notes(c: SandboxContainer): string[];
}

/** The shell word for a volume source: `"$hr_pod"/'volumes/x'` or an absolute host path. */
export function sourceWord(s: VolumeSource): string {
  return s.in === 'pod' ? `"$hr_pod"/${shQuote(s.path)}` : shQuote(s.path);
}

export function requireCommand(c: SandboxContainer): void {
  if (c.argv.length === 0) {
    throw fail('BAD_REQUEST', `Container "${c.name}" has no command: this executor runs host processes and has no image entrypoint to fall back on.`);
  }
}

/** `export NAME='value'` lines for shell names; the others are returned apart (rare: k8s allows `a.b`). */
export function exportsOf(env: Map<string, string>): { lines: string[]; odd: [string, string][] } {
  const lines: string[] = [];
  const odd: [string, string][] = [];
  for (const [k, v] of env) {
    if (isShellName(k)) lines.push(`export ${k}=${shQuote(v)}`);
    else odd.push([k, v]);
  }
  return { lines, odd };
}

export interface HostSandboxOptions {
  /** setpriv(1) (util-linux), which switches the user and drops privileges. */
  setpriv?: string;
  /** The uid of whoever runs the script (the executor's own); 0 can switch to any user. */
  runnerUid?: number;
  runnerGid?: number;
  runnerGroups?: number[];
  /** Who a container without runAsUser runs as when the runner is root (default nobody, 65534). */
  defaultUser?: { uid: number; gid: number };
  /** Containers may run as uid 0. */
  allowRoot?: boolean;
  /** Who enforces, in refusals (e.g. 'executor "local" (bubblewrap)'). */
  where?: string;
}

/** Who runs the script, with what it means for `SecuritySupport.users`. */
export function runnerSupport(o: HostSandboxOptions): Pick<SecuritySupport, 'users' | 'defaultUser' | 'groups' | 'allowRoot'> {
  const uid = o.runnerUid ?? process.getuid?.() ?? 0;
  const gid = o.runnerGid ?? process.getgid?.() ?? 0;
  if (uid === 0) return { users: 'any', defaultUser: o.defaultUser ?? { uid: 65534, gid: 65534 }, allowRoot: o.allowRoot ?? false };
  return { users: uid, defaultUser: { uid, gid }, groups: o.runnerGroups ?? process.getgroups?.() ?? [], allowRoot: false };
}

/**
 * No sandbox: the container is a process of the host, in the supervisor's process group. It still
 * runs as its own user with no capabilities and no_new_privs (setpriv), but the root file system
 * is the host's and no seccomp filter applies: pods asking for either are refused. Volumes exist
 * only at their paths in the pod directory; mountPath cannot be honoured without a mount
 * namespace, which the status message says.
 */
export function hostSandbox(o: HostSandboxOptions = {}): Sandbox {
  const setpriv = o.setpriv ?? '/usr/bin/setpriv';
  const runner = runnerSupport(o);
  const support: SecuritySupport = { where: o.where ?? 'the host sandbox (no bubblewrap)', ...runner, readOnlyRoot: 'never', seccomp: 'never', dropsAllCapabilities: true };
  return {
    kind: 'host',
    dirs: [],
    support,
    files: () => [],
    prelude: () => [],
    containerBody(c) {
      requireCommand(c);
      const { lines, odd } = exportsOf(c.env);
      // Variables whose names the shell cannot export go through env(1); their values are then
      // briefly visible in the process list, which is why only they take this path.
      const prefix = odd.length ? `env ${shWords(odd.map(([k, v]) => `${k}=${v}`))} ` : '';
      return [
        `cd ${shQuote(c.workingDir ?? '/')} || exit 126`,
        // cd set OLDPWD to the pod directory: not for the container's eyes; nor is the supervisor's umask.
        'unset OLDPWD',
        'umask 022',
        ...lines,
        // A container planned by another sandbox (a container runtime's imageless one) gets this one's identity.
        `exec ${shWords(dropPrivileges(setpriv, runner.users, c.identity ?? runIdentity(c.security, support)))} ${prefix}${shWords(c.argv)}`,
      ];
    },
    notes(c) {
      const moved = c.mounts.filter((m) => !(m.source.in === 'host' && m.source.path === m.target));
      if (moved.length === 0) return [];
      return [`no sandbox: volumes are not mounted at their mountPath (${moved.map((m) => `${m.target} is at ${m.source.in === 'pod' ? '<pod dir>/' : ''}${m.source.path}`).join(', ')})`];
    },
  };
}

/** The words that make the container `who` before its command: setpriv as root, only no_new_privs otherwise. */
export function dropPrivileges(setpriv: string, users: SecuritySupport['users'], who: RunIdentity | undefined): string[] {
  if (users === 'any' && who) return setprivArgs(setpriv, who);
  return [setpriv, '--no-new-privs', '--'];
}
