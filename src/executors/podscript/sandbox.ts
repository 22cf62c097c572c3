import { fail } from '../../errors/catalogue.js';
import type { ContainerKind } from './layout.js';
import { SANDBOX_DIR } from './layout.js';
import { isWithin } from './names.js';
import { isShellName, shQuote, shWords } from './shell.js';
import type { VolumeSource } from './volumes.js';

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

function requireCommand(c: SandboxContainer): void {
  if (c.argv.length === 0) {
    throw fail('BAD_REQUEST', `Container "${c.name}" has no command: this executor runs host processes and has no image entrypoint to fall back on.`);
  }
}

/** `export NAME='value'` lines for shell names; the others are returned apart (rare: k8s allows `a.b`). */
function exports(env: Map<string, string>): { lines: string[]; odd: [string, string][] } {
  const lines: string[] = [];
  const odd: [string, string][] = [];
  for (const [k, v] of env) {
    if (isShellName(k)) lines.push(`export ${k}=${shQuote(v)}`);
    else odd.push([k, v]);
  }
  return { lines, odd };
}

/**
 * No sandbox: the container is a process of the host, in the supervisor's process group. Volumes
 * exist only at their paths in the pod directory; mountPath cannot be honoured without a mount
 * namespace, which the status message says.
 */
export function hostSandbox(): Sandbox {
  return {
    kind: 'host',
    dirs: [],
    prelude: () => [],
    containerBody(c) {
      requireCommand(c);
      const { lines, odd } = exports(c.env);
      // Variables whose names the shell cannot export go through env(1); their values are then
      // briefly visible in the process list, which is why only they take this path.
      const prefix = odd.length ? `env ${shWords(odd.map(([k, v]) => `${k}=${v}`))} ` : '';
      return [
        `cd ${shQuote(c.workingDir ?? '/')} || exit 126`,
        // cd set OLDPWD to the pod directory: not for the container's eyes.
        'unset OLDPWD',
        ...lines,
        `exec ${prefix}${shWords(c.argv)}`,
      ];
    },
    notes(c) {
      const moved = c.mounts.filter((m) => !(m.source.in === 'host' && m.source.path === m.target));
      if (moved.length === 0) return [];
      return [`no sandbox: volumes are not mounted at their mountPath (${moved.map((m) => `${m.target} is at ${m.source.in === 'pod' ? '<pod dir>/' : ''}${m.source.path}`).join(', ')})`];
    },
  };
}

export interface BwrapOptions {
  /** The bubblewrap binary (Debian: /usr/bin/bwrap). */
  bwrap: string;
  /** Host paths hidden from containers (an empty tmpfs on top): the executor's state, the hub's data. */
  hide: string[];
  /** Bind the host root read-only (default: read-write, so containers behave as host processes). */
  readOnlyRoot?: boolean;
}

/**
 * bubblewrap: each container gets its own mount and PID namespaces. The host root is bound (rw by
 * default), /tmp, /dev/shm, the pod directory and `hide` are empty tmpfs, /dev and /proc are
 * fresh, and the pod's volumes are bound at their mountPath (ConfigMaps, Secrets and readOnly
 * mounts read-only). The network is shared: pods listen on 127.0.0.1 for the proxy.
 *
 * A mountPath missing on the host would make bwrap create it on the host, through the rw root
 * bind (or fail, read-only). Instead, the deepest existing ancestor of each missing mountPath is
 * "shadowed": a tmpfs replaces it inside the sandbox and its entries are bound back one by one,
 * so the mount point is created in the tmpfs and the host is left untouched. Mount targets and
 * hidden paths are first resolved through symlinks (Debian's /var/run -> /run), which bwrap
 * cannot mount through. The pod directory is hidden too, unless a hidden path covers it.
 *
 * Arguments reach bwrap NUL-separated through `--args` (an fd), so paths and values are never
 * re-parsed by a shell. There is no --die-with-parent: delete signals the whole process group,
 * and the container gets SIGTERM and its grace period instead of an immediate SIGKILL.
 */
export function bwrapSandbox(opts: BwrapOptions): Sandbox {
  // Paths below /tmp or below another hidden path are hidden already; a tmpfs for them would
  // only leave an empty directory behind as a trace.
  const all = [...new Set(opts.hide.map((h) => h.replace(/\/+$/, '') || '/'))];
  const hides = all.filter((h) => !isWithin(h, '/tmp') && !all.some((o) => o !== h && isWithin(h, o)));
  const bind = opts.readOnlyRoot ? '--ro-bind' : '--bind';
  return {
    kind: 'bwrap',
    dirs: [SANDBOX_DIR],
    prelude() {
      const text = `
# bubblewrap: arguments go NUL-separated into $hr_args, which bwrap reads with --args.
hr_nl='
'
hr_arg() { printf '%s\\0' "$@" >> "$hr_args"; }
hr_exists() { [ -e "$1" ] || [ -L "$1" ]; }
# hr_r := the path with its existing directories resolved through symlinks: bwrap cannot mount
# through one (/var/run -> /run). cd -P sets PWD to the physical path without a fork.
hr_real() {
  hr_p=$1; hr_rest=
  while [ "$hr_p" != / ] && [ ! -d "$hr_p" ]; do hr_rest=/\${hr_p##*/}$hr_rest; hr_p=\${hr_p%/*}; [ -n "$hr_p" ] || hr_p=/; done
  cd -P "$hr_p" 2>/dev/null && hr_p=$PWD
  hr_r=\${hr_p%/}$hr_rest
  [ -n "$hr_r" ] || hr_r=/
}
# A mount point missing on the host: remember its deepest existing ancestor, to shadow.
hr_sb_need() {
  hr_exists "$1" && return 0
  hr_p=$1
  while [ "$hr_p" != / ] && ! hr_exists "$hr_p"; do hr_p=\${hr_p%/*}; [ -n "$hr_p" ] || hr_p=/; done
  hr_shadows=$hr_shadows$hr_nl$hr_p
}
# Bind the entries of a directory back onto the tmpfs that shadows it.
hr_sb_entries() {
  hr_d=\${1%/}
  for hr_e in "$hr_d"/* "$hr_d"/.[!.]* "$hr_d"/..?*; do
    hr_exists "$hr_e" || continue
    case "$hr_e" in /dev|/proc) continue ;; esac
    if [ -L "$hr_e" ]; then hr_arg --symlink "$(readlink "$hr_e")" "$hr_e"
    else hr_arg ${bind} "$hr_e" "$hr_e"; fi
  done
}
# Namespaces, the root, the shadows (sorted: an ancestor before its descendants), what is hidden.
hr_sb_base() {
  hr_arg --unshare-pid
  [ -z "$hr_shadows" ] || hr_shadows=$(printf '%s\\n' "$hr_shadows" | LC_ALL=C sort -u)
  hr_ifs=$IFS; IFS=$hr_nl; set -f
  hr_list=$hr_shadows
  hr_root=bind
  for hr_s in $hr_list; do [ "$hr_s" != / ] || hr_root=shadow; done
  IFS=$hr_ifs; set +f
  if [ "$hr_root" = bind ]; then hr_arg ${bind} / /; else hr_sb_entries /; fi
  IFS=$hr_nl; set -f
  for hr_s in $hr_list; do
    IFS=$hr_ifs; set +f
    [ "$hr_s" = / ] || { hr_arg --tmpfs "$hr_s"; hr_sb_entries "$hr_s"; }
  done
  IFS=$hr_ifs; set +f
  hr_arg --dev /dev --proc /proc --tmpfs /dev/shm --tmpfs /tmp
${hides.map((h) => `  ! hr_exists ${shQuote(h)} || { hr_real ${shQuote(h)}; hr_arg --tmpfs "$hr_r"; }`).join('\n')}
  case "$hr_pod" in /tmp|/tmp/*${hides.map((h) => `|${shQuote(h)}|${shQuote(h)}/*`).join('')}) ;; *) hr_arg --tmpfs "$hr_pod" ;; esac
}`;
      return text.split('\n').slice(1);
    },
    containerBody(c) {
      requireCommand(c);
      const { lines, odd } = exports(c.env);
      const hidden = ['/tmp', '/dev', '/proc', ...hides];
      const body = [
        `hr_args="$hr_pod"/${shQuote(`${SANDBOX_DIR}/${c.kind}-${c.name}.args`)}`,
        ': > "$hr_args" || exit 126',
        'hr_shadows=',
      ];
      c.mounts.forEach((m, i) => {
        body.push(`hr_real ${shQuote(m.target)}; hr_m${i}=$hr_r`);
        // Mount points inside a tmpfs or inside an earlier mount of this container are created
        // there, never on the host: only the others may need a shadow.
        const inside = hidden.some((h) => isWithin(m.target, h)) || c.mounts.slice(0, i).some((o) => isWithin(m.target, o.target));
        if (!inside) body.push(`hr_sb_need "$hr_m${i}"`);
      });
      body.push('hr_sb_base');
      c.mounts.forEach((m, i) => body.push(`hr_arg ${m.readOnly ? '--ro-bind' : '--bind'} ${sourceWord(m.source)} "$hr_m${i}"`));
      body.push(`hr_arg --chdir ${shQuote(c.workingDir ?? '/')}`);
      for (const [k, v] of odd) body.push(`hr_arg --setenv ${shQuote(k)} ${shQuote(v)}`);
      // The supervisor's working directory (the pod directory) is not the container's.
      body.push('unset OLDPWD PWD', ...lines);
      body.push('exec 3< "$hr_args" || exit 126');
      body.push(`exec ${shQuote(opts.bwrap)} --args 3 -- ${shWords(c.argv)}`);
      return body;
    },
    notes: () => [],
  };
}
