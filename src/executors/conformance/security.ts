import assert from 'node:assert/strict';
import { restrictedSecurity, type PodSecurityContext, type SecurityContext } from '../security.js';
import type { Container, Executor, Pod, RetrievedPodData } from '../types.js';
import { conformancePod, readAll, terminated, waitForStatus } from './pods.js';

/** What the executor under test enforces of a pod's securityContext (security.ts), for the `security` case. */
export interface SecurityExpectations {
  /** The uid (and gid) the case's pods ask for; the executor must be able to run containers as it. */
  runAsUser: number;
  /** It applies a RuntimeDefault seccomp filter. false: a pod asking for one must be refused. */
  seccomp: boolean;
  /** It makes the root file system read-only. false: a pod asking readOnlyRootFilesystem must be refused. */
  readOnlyRoot: boolean;
  /** Each container has its own PID namespace: it sees no process but its own ancestry there. */
  ownPidNamespace: boolean;
}

/** What the case needs of the suite. */
export interface SecurityCaseContext {
  ex: Executor;
  expect: SecurityExpectations;
  /** Creates and remembers the pod for cleanup; `forget` after a refusal. */
  create(data: RetrievedPodData): Promise<unknown>;
  forget(pod: Pod): void;
  remove(pod: Pod): Promise<void>;
  sh(name: string, script: string, extra?: Partial<Container>): Container;
  /** ms for a wait of `s` seconds, scaled. */
  wait(s: number): number;
}

/**
 * The probe: `key: value` lines of what the container runs as and can do. Builtins where
 * possible, so no child process exists while it counts processes. `$$$$` is the shell's `$$`
 * after Kubernetes' `$$` escape (every executor applies it to command and args).
 */
const PROBE = [
  'echo "uid: $(id -u)"',
  'echo "gid: $(id -g)"',
  'while IFS= read -r l; do case $l in CapEff:*|CapBnd:*|NoNewPrivs:*|Seccomp:*) set -- $l; echo "$1 $2";; esac; done < /proc/self/status',
  // A read-only root fails with EROFS before any permission check (the kernel checks the mount first).
  'p=/highrate-probe-$$$$',
  'if err=$( { printf x > "$p"; } 2>&1 ); then rm -f "$p"; echo "root: writable"; else case $err in *"Read-only file system"*) echo "root: read-only";; *) echo "root: refused";; esac; fi',
  't=/tmp/highrate-probe-$$$$',
  'if { printf x > "$t"; } 2>/dev/null && [ "$(cat "$t")" = x ]; then echo "tmp: writable"; else echo "tmp: refused"; fi; rm -f "$t"',
  // Its ancestry (ppid is the 4th field of /proc/PID/stat, after the parenthesised name) …
  'chain=" "; p=$$$$',
  'while [ "$p" -gt 0 ]; do chain="$chain$p "; read -r st < /proc/$p/stat || break; rest=${st##*)}; set -- $rest; p=$2; done',
  // … and every process it sees that is not part of it.
  'n=0; others=0',
  'for d in /proc/[0-9]*; do n=$((n+1)); case $chain in *" ${d#/proc/} "*) ;; *) others=$((others+1));; esac; done',
  'echo "processes: $n"',
  'echo "others: $others"',
  'w=no',
  'for f in /sys/fs/cgroup /sys/fs/cgroup/* /sys/fs/cgroup/*/*; do if [ -e "$f" ] && [ -w "$f" ]; then w=$f; fi; done',
  'echo "cgroup-writable: $w"',
].join('\n');

function parse(out: string): Record<string, string> {
  const seen: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) seen[m[1]!] = m[2]!;
  }
  return seen;
}

function without<T extends object>(o: T, keys: string[]): T {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T;
}

/**
 * The restricted context the hub writes (restrictedSecurity) with `runAsUser` as uid and gid:
 * every field the executor enforces is checked by what the container sees; whatever it cannot
 * enforce must make it refuse the pod (POD_SECURITY_UNENFORCEABLE naming the field), never run
 * it weaker, and the rest of the context must then still run as asked. A privileged pod is
 * refused by every executor, and leaves nothing behind.
 */
export async function securityCase(t: SecurityCaseContext): Promise<void> {
  const { ex, expect } = t;
  const uid = expect.runAsUser;
  const restricted = restrictedSecurity({ uid, gid: uid });
  const probePod = (prefix: string, sec: { pod: PodSecurityContext; container: SecurityContext }) =>
    conformancePod(prefix, { securityContext: sec.pod, containers: [t.sh('main', PROBE, { securityContext: sec.container })] });

  async function refused(data: RetrievedPodData, fields: RegExp[]): Promise<void> {
    const err = await t.create(data).then(() => null, (e: unknown) => e as { code?: string; message?: string });
    if (!err) await t.remove(data.pod);
    else t.forget(data.pod);
    assert.ok(err, `${data.pod.metadata.name} is refused`);
    assert.equal(err.code, 'POD_SECURITY_UNENFORCEABLE', `refused as unenforceable: ${err.message}`);
    for (const f of fields) assert.match(err.message ?? '', f);
    assert.deepEqual(await ex.status([data.pod]), [], 'a refused pod leaves nothing: status does not know it');
  }

  await refused(conformancePod('privileged', { containers: [t.sh('main', 'echo must not run', { securityContext: { privileged: true } })] }), [/privileged/]);

  let sec = restricted;
  const unenforced = [...(expect.readOnlyRoot ? [] : ['readOnlyRootFilesystem']), ...(expect.seccomp ? [] : ['seccompProfile'])];
  if (unenforced.length) {
    await refused(probePod('restricted', restricted), unenforced.map((f) => new RegExp(f)));
    // What it can enforce still runs as asked: the user, no capabilities, no escalation.
    sec = { pod: without(restricted.pod, unenforced), container: without(restricted.container, unenforced) };
  }

  const data = probePod('security', sec);
  await t.create(data);
  const st = await waitForStatus(ex, data.pod, 'main to terminate', terminated('main'), t.wait(20));
  const out = await readAll(await ex.logs({ Namespace: data.pod.metadata.namespace!, PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: 'main', Opts: {} }));
  assert.equal(st.containers[0]!.state.terminated!.exitCode, 0, out);
  const seen = parse(out);
  const want: Record<string, string> = {
    uid: String(uid),
    gid: String(uid),
    CapEff: '0000000000000000',
    // drop ALL empties the bounding set too: no setuid program can hand a capability back.
    CapBnd: '0000000000000000',
    NoNewPrivs: '1',
    ...(expect.seccomp ? { Seccomp: '2' } : {}),
    ...(expect.readOnlyRoot ? { root: 'read-only' } : {}),
    tmp: 'writable',
    ...(expect.ownPidNamespace ? { others: '0' } : {}),
    'cgroup-writable': 'no',
  };
  assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, seen[k]])), want, `the probe printed:\n${out}`);
  // Whatever it enforces, the probe ran to its end and answered every question.
  for (const k of ['Seccomp', 'root', 'processes', 'others']) assert.match(seen[k] ?? '', /\S/, `the probe printed ${k}:\n${out}`);
  await t.remove(data.pod);
}
