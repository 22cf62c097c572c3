import { POD_EXIT, VOLUMES_DIR, logFile, startedFile, statusFile } from './layout.js';
import type { Sandbox, SandboxContainer } from './sandbox.js';
import { base64File, commentSafe, shQuote } from './shell.js';
import type { PlannedFile } from './volumes.js';

export interface ScriptInput {
  uid: string;
  name: string;
  namespace: string;
  /** Baked in; `HR_POD_DIR` in the environment overrides it (e.g. a batch job's copy). */
  podDir: string;
  /** Directories to create in the pod directory (relative). */
  dirs: string[];
  /** Host directories to create (hostPath DirectoryOrCreate). */
  hostDirs: string[];
  files: PlannedFile[];
  /** Owner of volume files and emptyDirs (chown'ed when the script runs as root). */
  volumeOwner?: { uid: number; gid: number };
  /** The directories and files are written before the script runs (writePodFiles): leave them out. */
  filesWritten?: boolean;
  initContainers: (SandboxContainer & { fn: string })[];
  containers: (SandboxContainer & { fn: string })[];
  sandbox: Sandbox;
}

/** Variables the script uses; unset first so none arrives exported from the caller's environment. */
const SCRIPT_VARS = 'hr_pod hr_uid hr_k hr_v hr_rest hr_rc hr_max hr_pids hr_p hr_args hr_shadows hr_nl hr_d hr_e hr_s hr_ifs hr_list hr_root hr_rest hr_r hr_n hr_left hr_ro';

/**
 * The pod supervisor: one POSIX sh script that needs nothing but itself, sh and coreutils (base64),
 * so the same text can run as a detached process or be handed to sbatch.
 *
 * 1. writes the ConfigMap/Secret/projected files (base64 here-documents) and creates emptyDirs;
 * 2. runs init containers in order; the first failure ends the pod with its exit code;
 * 3. starts all containers in the background and waits for each;
 * 4. writes `pod.exit` and exits with the highest exit code.
 *
 * Per container it records `<kind>-<c>.started`, `.log` (stdout+stderr) and `.status`. The only
 * forks besides the containers themselves are mkdir, base64, chmod and chown for volume files
 * (none when the executor wrote them: `filesWritten`): status files are written by the shell's
 * printf, timestamps are the files' mtimes.
 */
export function renderScript(p: ScriptInput): string {
  const out: string[] = [
    '#!/bin/sh',
    `# highrate pod supervisor: ${commentSafe(p.namespace)}/${commentSafe(p.name)} uid ${commentSafe(p.uid)} (generated)`,
    `unset ${SCRIPT_VARS}`,
    `hr_pod=\${HR_POD_DIR:-${shQuote(p.podDir)}}`,
    'unset HR_POD_DIR',
    'umask 077',
    'PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}',
    'export PATH',
    'cd "$hr_pod" || exit 1',
    // Who runs this script (root switches each container to its user; anyone else is that user),
    // read without a fork: on a busy node every process started costs milliseconds.
    'hr_uid=',
    'while read -r hr_k hr_v hr_rest; do [ "$hr_k" != Uid: ] || { hr_uid=$hr_v; break; }; done < /proc/self/status',
  ];

  // The local executor writes these itself (files.ts): each mkdir, base64 or chmod is a fork.
  if (!p.filesWritten) out.push(...fileLines(p));
  out.push(...p.sandbox.prelude());
  for (const c of [...p.initContainers, ...p.containers]) {
    out.push(`# ${c.kind} container ${c.name}`, `${c.fn}() (`, ...p.sandbox.containerBody(c).map((l) => '  ' + l), ')');
  }

  out.push(
    '# hr_start KIND NAME FUNCTION: runs one container and records it.',
    'hr_start() {',
    '  : > "$hr_pod/$1-$2.started"',
    '  "$3" > "$hr_pod/$1-$2.log" 2>&1 < /dev/null',
    '  hr_rc=$?',
    `  printf '%s\\n' "$hr_rc" > "$hr_pod/$1-$2.status"`,
    '  return "$hr_rc"',
    '}',
    `hr_end() { printf '%s\\n' "$1" > "$hr_pod"/${POD_EXIT}; exit "$1"; }`,
  );
  // The file names used above must be those of layout.ts; asserted here so they cannot drift.
  assertLayout();
  for (const c of p.initContainers) out.push(`hr_start init ${c.name} ${c.fn} || hr_end $?`);
  out.push('hr_pids=');
  for (const c of p.containers) out.push(`hr_start run ${c.name} ${c.fn} &`, 'hr_pids="$hr_pids $!"');
  out.push(
    'hr_max=0',
    'for hr_p in $hr_pids; do',
    '  wait "$hr_p"; hr_rc=$?',
    '  [ "$hr_rc" -le "$hr_max" ] || hr_max=$hr_rc',
    'done',
    'hr_end "$hr_max"',
    '',
  );
  return out.join('\n');
}

function assertLayout(): void {
  if (startedFile('run', 'c') !== 'run-c.started' || logFile('init', 'c') !== 'init-c.log' || statusFile('run', 'c') !== 'run-c.status') {
    throw new Error('pod directory layout changed: update hr_start in script.ts');
  }
}

/** The lines that make the pod's directories and files, for a script that must need nothing but itself (a batch job). */
function fileLines(p: ScriptInput): string[] {
  const out: string[] = [];
  const dirs = [...new Set([...p.sandbox.dirs, ...p.dirs])];
  if (dirs.length) out.push(`mkdir -p ${dirs.map((d) => `"$hr_pod"/${shQuote(d)}`).join(' ')} || exit 1`);
  if (p.hostDirs.length) out.push(`mkdir -p ${p.hostDirs.map(shQuote).join(' ')} || exit 1`);
  const byMode = new Map<number, string[]>();
  for (const f of p.files) {
    const target = `"$hr_pod"/${shQuote(f.path)}`;
    out.push(...base64File(target, f.data));
    byMode.set(f.mode, [...(byMode.get(f.mode) ?? []), target]);
  }
  for (const [mode, targets] of byMode) out.push(`chmod ${mode.toString(8).padStart(4, '0')} ${targets.join(' ')} || exit 1`);
  // Volumes belong to the pod's user (a kubelet gives them to fsGroup): a Secret of mode 0400 is
  // readable by that user alone. A script that is not root already is that user.
  const owned = ownedPaths(p);
  if (p.volumeOwner && owned.length) {
    const who = `${p.volumeOwner.uid}:${p.volumeOwner.gid}`;
    out.push(`[ "$hr_uid" != 0 ] || chown -h ${who} ${owned.map((d) => `"$hr_pod"/${shQuote(d)}`).join(' ')} || exit 1`);
    // Host processes (no sandbox) reach their volumes through this directory: traversable, not listable.
    out.push(`chmod 0711 "$hr_pod"/${VOLUMES_DIR} || exit 1`);
  }
  return out;
}

/** The volume directories and files (relative to the pod directory) that belong to the pod's user. */
export function ownedPaths(p: Pick<ScriptInput, 'dirs' | 'files'>): string[] {
  return [...p.dirs.filter((d) => d.startsWith(`${VOLUMES_DIR}/`)), ...p.files.filter((f) => f.path.startsWith(`${VOLUMES_DIR}/`)).map((f) => f.path)];
}
