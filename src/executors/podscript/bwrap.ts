import { CGROUP_VIEW, SANDBOX_DIR, SECCOMP_FILE } from './layout.js';
import { passwdWord, setprivArgs } from './identity.js';
import { isWithin } from './names.js';
import { exportsOf, requireCommand, runnerSupport, sourceWord, type HostSandboxOptions, type Sandbox } from './sandbox.js';
import { shQuote, shWords } from './shell.js';

export interface BwrapOptions extends HostSandboxOptions {
  /** The bubblewrap binary (Debian: /usr/bin/bwrap). */
  bwrap: string;
  /** Host paths hidden from containers (an empty tmpfs on a directory, /dev/null on a file): the executor's state, the hub's data, its config. */
  hide: string[];
  /** The seccomp program (seccomp.ts); null where none exists for this machine (pods asking for one are then refused). */
  seccomp: Buffer | null;
}

/**
 * bubblewrap: each container is an unprivileged process in its own mount, PID, IPC, UTS and cgroup
 * namespaces, as a Kubernetes pod running the "restricted" profile would be:
 * - it runs as its runAsUser (setpriv inside the sandbox when the supervisor is root; when the
 *   supervisor is not root, e.g. a batch job submitted as the user, bwrap's own user namespace
 *   keeps that uid and `--disable-userns` forbids nested ones), with no capabilities in any set
 *   and no_new_privs;
 * - the seccomp filter (seccomp.ts) refuses mount, unshare, setns, keyctl, bpf, module loading and
 *   the other calls no workload needs; it applies to every container, asked for or not;
 * - the host root is bound read-only; /tmp, /var/tmp and /dev/shm are private tmpfs (sized by the
 *   container's limit), /dev and /proc fresh; the pod directory and `hide` are covered; the pod's
 *   volumes are bound at their mountPath (ConfigMaps, Secrets and readOnly mounts read-only);
 * - /sys/fs/cgroup shows only the pod's own cgroups, read-only (the executor writes their paths
 *   into `sandbox/cgroup-view`), so limits can be read (Dask sizes itself from them) but neither
 *   raised nor escaped;
 * - a uid the host does not know gets a passwd and group entry (an overlay of /etc/passwd), so
 *   `id`, shells and git know a name.
 * The network is shared: pods listen on 127.0.0.1 for the proxy.
 *
 * A mountPath missing on the host would make bwrap create it on the host (or fail, as the root is
 * read-only). Instead, the deepest existing ancestor of each missing mountPath is "shadowed": a
 * tmpfs replaces it inside the sandbox and its entries are bound back one by one, so the mount
 * point is created in the tmpfs and the host is left untouched. Mount targets and hidden paths are
 * first resolved through symlinks (Debian's /var/run -> /run), which bwrap cannot mount through.
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
  const setpriv = opts.setpriv ?? '/usr/bin/setpriv';
  const runner = runnerSupport(opts);
  const seccomp = opts.seccomp;
  return {
    kind: 'bwrap',
    dirs: [SANDBOX_DIR],
    support: {
      where: opts.where ?? 'the bubblewrap sandbox',
      ...runner,
      readOnlyRoot: 'always',
      seccomp: seccomp ? 'always' : 'never',
      dropsAllCapabilities: true,
    },
    files: () => (seccomp ? [{ path: SECCOMP_FILE, data: seccomp, mode: 0o400 }] : []),
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
    else hr_arg --ro-bind "$hr_e" "$hr_e"; fi
  done
}
# A hidden path: an empty tmpfs on a directory, /dev/null on anything else.
hr_sb_hide() {
  hr_exists "$1" || return 0
  hr_real "$1"
  if [ -d "$hr_r" ]; then hr_arg --tmpfs "$hr_r"; hr_ro=$hr_ro$hr_nl$hr_r; else hr_arg --ro-bind /dev/null "$hr_r"; fi
}
# Orders $hr_shadows so that an ancestor comes before its descendants (fewer slashes first) and
# drops repeats; shell builtins only (a sort(1) would cost a fork per container).
hr_sb_order() {
  hr_ifs=$IFS; IFS=$hr_nl; set -f
  hr_list=$hr_shadows; hr_shadows=; hr_n=0; hr_left=1
  while [ "$hr_left" = 1 ]; do
    hr_n=$((hr_n + 1)); hr_left=0
    for hr_s in $hr_list; do
      hr_p=$hr_s; hr_k=0
      while [ -n "$hr_p" ]; do hr_k=$((hr_k + 1)); case $hr_p in */*) hr_p=\${hr_p#*/} ;; *) hr_p= ;; esac; done
      [ "$hr_k" -le "$hr_n" ] || { hr_left=1; continue; }
      [ "$hr_k" = "$hr_n" ] || continue
      case "$hr_nl$hr_shadows$hr_nl" in *"$hr_nl$hr_s$hr_nl"*) ;; *) hr_shadows=$hr_shadows$hr_nl$hr_s ;; esac
    done
  done
  IFS=$hr_ifs; set +f
}
# hr_sb_base HOSTNAME SCRATCH_BYTES: namespaces, the read-only root, the shadows (sorted: an
# ancestor before its descendants), private scratch, what is hidden, the pod's cgroups.
hr_sb_base() {
  hr_arg --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --hostname "$1"
  [ -z "$hr_shadows" ] || hr_sb_order
  hr_ifs=$IFS; IFS=$hr_nl; set -f
  hr_list=$hr_shadows
  hr_root=bind
  for hr_s in $hr_list; do [ "$hr_s" != / ] || hr_root=shadow; done
  IFS=$hr_ifs; set +f
  if [ "$hr_root" = bind ]; then hr_arg --ro-bind / /; else hr_sb_entries /; fi
  IFS=$hr_nl; set -f
  for hr_s in $hr_list; do
    IFS=$hr_ifs; set +f
    [ "$hr_s" = / ] || { hr_arg --tmpfs "$hr_s"; hr_sb_entries "$hr_s"; hr_ro=$hr_ro$hr_nl$hr_s; }
  done
  IFS=$hr_ifs; set +f
  hr_arg --dev /dev --proc /proc
  for hr_s in /dev/shm /tmp /var/tmp; do
    hr_arg --perms 1777
    [ -z "$2" ] || hr_arg --size "$2"
    hr_arg --tmpfs "$hr_s"
  done
${hides.map((h) => `  hr_sb_hide ${shQuote(h)}`).join('\n')}
  case "$hr_pod" in /tmp|/tmp/*${hides.map((h) => `|${shQuote(h)}|${shQuote(h)}/*`).join('')}) ;; *) hr_arg --tmpfs "$hr_pod"; hr_ro=$hr_ro$hr_nl$hr_pod ;; esac
  hr_arg --tmpfs /sys/fs/cgroup
  hr_ro=$hr_ro$hr_nl/sys/fs/cgroup
  if [ -r "$hr_pod"/${CGROUP_VIEW} ]; then
    while IFS= read -r hr_s && IFS= read -r hr_d; do hr_arg --ro-bind "$hr_s" "$hr_d"; done < "$hr_pod"/${CGROUP_VIEW}
  fi
}
# The tmpfs made to hide or shadow something, read-only once every mount point in them exists:
# in a job that is not root they belong to its user (in its user namespace), who could write them.
hr_sb_readonly() {
  hr_ifs=$IFS; IFS=$hr_nl; set -f
  for hr_s in $hr_ro; do hr_arg --remount-ro "$hr_s"; done
  IFS=$hr_ifs; set +f
}
# hr_sb_user UID GID PASSWD_LINE: who the container is. A supervisor that is not root (a batch
# job of the user) cannot switch: it must already be that uid, and bwrap makes its own user
# namespace (and forbids nested ones). A uid /etc/passwd does not list gets an entry in an
# overlay of it (and of /etc/group), so id, shells and git know a name. Shell builtins only.
hr_sb_user() {
  if [ "$hr_uid" != 0 ]; then
    [ "$hr_uid" = "$1" ] || { echo "highrate: this container must run as uid $1, but its pod runs as uid $hr_uid" >&2; exit 126; }
    hr_arg --unshare-user --disable-userns
  fi
  hr_sb_overlay /etc/passwd "$1" "$3"
  hr_sb_overlay /etc/group "$2" "\${3%%:*}:x:$2:"
}
# hr_sb_overlay FILE ID LINE: FILE plus LINE, bound over FILE, unless FILE has an entry for ID.
hr_sb_overlay() {
  hr_d="$hr_pod"/${SANDBOX_DIR}/\${1##*/}
  # One pass: copy while looking for the id (the shell's read takes a byte per system call).
  while IFS= read -r hr_e || [ -n "$hr_e" ]; do
    hr_p=\${hr_e#*:}; hr_p=\${hr_p#*:}
    [ "\${hr_p%%:*}" != "$2" ] || return 0
    printf '%s\\n' "$hr_e"
  done < "$1" > "$hr_d" || exit 126
  printf '%s\\n' "$3" >> "$hr_d" || exit 126
  hr_arg --ro-bind "$hr_d" "$1"
}`;
      return text.split('\n').slice(1);
    },
    containerBody(c) {
      requireCommand(c);
      const who = c.identity!;
      const { lines, odd } = exportsOf(c.env);
      const hidden = ['/tmp', '/var/tmp', '/dev', '/proc', '/sys/fs/cgroup', ...hides];
      const body = [
        `hr_args="$hr_pod"/${shQuote(`${SANDBOX_DIR}/${c.kind}-${c.name}.args`)}`,
        ': > "$hr_args" || exit 126',
        'hr_shadows=',
        'hr_ro=',
      ];
      c.mounts.forEach((m, i) => {
        body.push(`hr_real ${shQuote(m.target)}; hr_m${i}=$hr_r`);
        // Mount points inside a tmpfs or inside an earlier mount of this container are created
        // there, never on the host: only the others may need a shadow.
        const inside = hidden.some((h) => isWithin(m.target, h)) || c.mounts.slice(0, i).some((o) => isWithin(m.target, o.target));
        if (!inside) body.push(`hr_sb_need "$hr_m${i}"`);
      });
      const hostname = c.podName.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63) || 'pod';
      body.push(`hr_sb_base ${shQuote(hostname)} ${c.scratchBytes ? String(Math.floor(c.scratchBytes)) : "''"}`);
      // --dir first: bwrap makes missing parents of a bind's target 0700 (root's alone), --dir 0755.
      c.mounts.forEach((m, i) => body.push(
        `[ ! -d ${sourceWord(m.source)} ] || hr_arg --dir "$hr_m${i}"`,
        `hr_arg ${m.readOnly ? '--ro-bind' : '--bind'} ${sourceWord(m.source)} "$hr_m${i}"`,
      ));
      // The overlay files below are the container's to read: made under the container's umask.
      body.push('umask 022', `hr_sb_user ${who.uid} ${who.gid} ${passwdWord(c.owner ?? '', who, c.env.get('HOME') ?? '/')}`, 'hr_sb_readonly');
      body.push(`hr_arg --chdir ${shQuote(c.workingDir ?? '/')}`);
      for (const [k, v] of odd) body.push(`hr_arg --setenv ${shQuote(k)} ${shQuote(v)}`);
      // The supervisor's working directory (the pod directory) is not the container's; nor is its
      // umask (077, for its own files): containers get the usual 022 (set above), as from a runtime.
      body.push('unset OLDPWD PWD', ...lines);
      body.push('exec 3< "$hr_args" || exit 126');
      let filter = '';
      if (seccomp) {
        body.push(`exec 4< "$hr_pod"/${shQuote(SECCOMP_FILE)} || exit 126`);
        filter = ' --seccomp 4';
      }
      const cmd = shWords(c.argv);
      body.push(
        'if [ "$hr_uid" = 0 ]; then',
        `  exec ${shQuote(opts.bwrap)} --args 3${filter} -- ${shWords(setprivArgs(setpriv, who))} ${cmd}`,
        'fi',
        `exec ${shQuote(opts.bwrap)} --args 3${filter} -- ${cmd}`,
      );
      return body;
    },
    notes: () => [],
  };
}
