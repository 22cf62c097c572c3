import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformancePod, readAll, shContainer, waitForStatus } from '../../src/executors/conformance/index.js';
import { terminated } from '../../src/executors/conformance/pods.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import { createSlurmExecutor, type SlurmExecutorOptions } from '../../src/executors/slurm/index.js';
import { restrictedSecurity } from '../../src/executors/security.js';
import type { Container, Pod, RetrievedPodData } from '../../src/executors/types.js';
import { ensureSlurm, jobOwner, jobState, liveJobsNamed, testAccount } from '../helpers/slurm.js';

/**
 * Jobs of users on the real development Slurm (runJobsAs, docs/slurm.md): a pod with the hub's
 * restricted securityContext runs as its own uid — the job itself (`sbatch --uid/--gid`, squeue's
 * %U) and its container (bubblewrap without root: no capabilities, no_new_privs, the seccomp
 * filter, a read-only root, a private /tmp) — reads its own Secret, sees neither the hub's data
 * nor the executor's state, and cannot read another user's job; delete cancels it. A uid Slurm
 * has no account for is refused in `user` mode and runs through highrate's own account in `auto`.
 *
 * The accounts are made for the test (useradd) and removed after it. Everything lives below
 * /var/lib, not /tmp: /tmp is private in every container, which would hide paths for free.
 */

const A = { name: 'hr-sec-a', uid: 200555 };
const B = { name: 'hr-sec-b', uid: 200556 };
const NO_ACCOUNT = 200557;

const base = mkdtempSync('/var/lib/highrate-slurm-security-');
const dataDir = join(base, 'data');
const jobRoot = join(base, 'jobs');
const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING']);
const removals: (() => void)[] = [];
const executors: BatchExecutor[] = [];
const pods: Pod[] = [];

function newExecutor(state: string, extra: Partial<SlurmExecutorOptions> = {}): BatchExecutor {
  const ex = createSlurmExecutor({
    name: 'hpc', stateDir: join(dataDir, 'executors', state), jobRoot, sandbox: 'bwrap', runJobsAs: 'user',
    hiddenPaths: [dataDir], pollIntervalMs: 300, deleteWaitMs: 15_000, ...extra,
  });
  executors.push(ex);
  return ex;
}

function restrictedPod(prefix: string, uid: number, script: string, extra: Partial<Container> = {}, more: Partial<Pod['spec']> = {}, objs = {}): RetrievedPodData {
  const sec = restrictedSecurity({ uid, gid: uid });
  const data = conformancePod(prefix, {
    securityContext: sec.pod,
    containers: [shContainer('main', 'busybox', script, { securityContext: sec.container, ...extra })],
    ...more,
  }, objs);
  pods.push(data.pod);
  return data;
}

async function logOf(ex: BatchExecutor, pod: Pod): Promise<string> {
  return readAll(await ex.logs({ Namespace: 'x', PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: 'main', Opts: {} }));
}

/** The container's log once it printed `ready` (it then sleeps, so the job stays). */
async function readyLog(ex: BatchExecutor, pod: Pod): Promise<string> {
  const until = Date.now() + 30_000;
  for (;;) {
    const out = await logOf(ex, pod);
    if (out.endsWith('ready\n')) return out;
    const [st] = await ex.status([pod]);
    assert.ok(!st?.containers[0]?.state.terminated, `the container ended early: ${JSON.stringify(st)}\n${out}`);
    assert.ok(Date.now() < until, `the container printed ready; so far:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `key: value` lines of a probe's output. */
function fields(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').map((l) => /^([A-Za-z-]+):\s?(.*)$/.exec(l)).filter((m) => !!m).map((m) => [m![1]!, m![2]!]));
}

// What a container sees of itself and of the paths it must not reach.
const PROBE = (paths: { data: string; state: string }) => [
  'echo "uid: $(id -u)"',
  'echo "gid: $(id -g)"',
  'while IFS= read -r l; do case $l in CapEff:*|NoNewPrivs:*|Seccomp:*) set -- $l; echo "$1 $2";; esac; done < /proc/self/status',
  'if err=$( { printf x > /highrate-probe; } 2>&1 ); then echo "root: writable"; else case $err in *"Read-only file system"*) echo "root: read-only";; *) echo "root: $err";; esac; fi',
  'if printf x > /tmp/probe && [ "$(cat /tmp/probe)" = x ]; then echo "tmp: writable"; else echo "tmp: refused"; fi',
  'echo "secret: $(cat /var/run/creds/token)"',
  'echo "secret-file: $(stat -L -c \'%a %u\' /var/run/creds/token)"',
  `echo "data: $(ls -A ${paths.data} 2>&1 | tr '\\n' ' ')"`,
  `echo "hub-secret: $(cat ${paths.data}/hub-secret 2>&1)"`,
  `echo "state: $(ls -A ${paths.state} 2>&1)"`,
  'echo ready',
  'exec sleep 600',
].join('\n');

before(() => {
  ensureSlurm();
  // The hub's data directory (0700, a secret in it, the executor's state below it) and a jobRoot
  // every user can search but not list.
  chmodSync(base, 0o711);
  mkdirSync(dataDir, { mode: 0o700 });
  writeFileSync(join(dataDir, 'hub-secret'), 'hub secret\n', { mode: 0o600 });
  mkdirSync(jobRoot, { mode: 0o711 });
  removals.push(testAccount(A.name, A.uid), testAccount(B.name, B.uid));
});

after(async () => {
  try {
    const left = liveJobsNamed(pods.map((p) => p.metadata.uid));
    if (left.length) execFileSync('scancel', left);
  } finally {
    for (const r of removals) r();
    rmSync(base, { recursive: true, force: true });
  }
});

describe('slurm: jobs run as their pod\'s user', () => {
  test('the restricted pod runs as its uid, in bubblewrap, sees only its own; another user\'s pod cannot read its job; delete cancels', async () => {
    const ex = newExecutor('hpc');
    const stateDir = join(dataDir, 'executors', 'hpc');
    const a = restrictedPod('sec-a', A.uid, PROBE({ data: dataDir, state: stateDir }), {
      volumeMounts: [{ name: 'creds', mountPath: '/var/run/creds', readOnly: true }],
    }, { volumes: [{ name: 'creds', secret: { secretName: 'a-creds', defaultMode: 0o400 } }] }, {
      secrets: [{ metadata: { name: 'a-creds' }, data: { token: Buffer.from('token-of-a').toString('base64') } }],
    });
    const { PodJID } = await ex.create(a);
    const seen = fields(await readyLog(ex, a.pod));

    // The job is the user's: squeue says so, and so does its directory.
    assert.deepEqual(jobOwner(PodJID), { uid: A.uid, gid: A.uid, user: A.name });
    const jobDir = join(jobRoot, a.pod.metadata.uid);
    const dirStat = statSync(jobDir);
    assert.deepEqual([dirStat.uid, dirStat.gid, dirStat.mode & 0o7777], [A.uid, A.uid, 0o700]);
    assert.equal(statSync(join(jobDir, 'job.out')).uid, A.uid, 'the batch output is written by the job, as the user');
    assert.equal(existsSync(join(jobRoot, `${a.pod.metadata.uid}.out`)), false, 'nothing of the job outside its directory');

    // The container, as the user sees it.
    assert.deepEqual(seen, {
      uid: String(A.uid),
      gid: String(A.uid),
      CapEff: '0000000000000000',
      NoNewPrivs: '1',
      Seccomp: '2',
      root: 'read-only',
      tmp: 'writable',
      secret: 'token-of-a',
      'secret-file': `400 ${A.uid}`,
      // The hub's data directory is an empty tmpfs in the container; the state below it is gone with it.
      data: '',
      'hub-secret': `cat: ${dataDir}/hub-secret: No such file or directory`,
      state: `ls: cannot access '${stateDir}': No such file or directory`,
    });

    // Another user's pod: it can neither list jobRoot nor enter the first pod's job directory.
    const b = restrictedPod('sec-b', B.uid, [
      'echo "uid: $(id -u)"',
      `echo "list: $(ls ${jobRoot} 2>&1)"`,
      `echo "log: $(cat ${jobDir}/run-main.log 2>&1)"`,
      `echo "script: $(cat ${jobDir}/job.out 2>&1)"`,
      'echo ready',
      'exec sleep 600',
    ].join('\n'));
    const other = await ex.create(b);
    const bSeen = fields(await readyLog(ex, b.pod));
    assert.deepEqual(jobOwner(other.PodJID), { uid: B.uid, gid: B.uid, user: B.name });
    assert.deepEqual(bSeen, {
      uid: String(B.uid),
      list: `ls: cannot open directory '${jobRoot}': Permission denied`,
      log: `cat: ${jobDir}/run-main.log: Permission denied`,
      script: `cat: ${jobDir}/job.out: Permission denied`,
    });

    // delete cancels the user's job (root's scancel) and removes its directory.
    await ex.delete(a.pod);
    assert.equal(jobState(PodJID), 'CANCELLED');
    assert.equal(existsSync(jobDir), false);
    await ex.delete(b.pod);
    assert.equal(jobState(other.PodJID), 'CANCELLED');
    assert.deepEqual(await ex.status([a.pod, b.pod]), []);
  });

  test('a uid without an account: refused in user mode; auto runs the job as highrate\'s account and the sandbox switches users', async () => {
    const script = 'echo "uid: $(id -u)"; echo "gid: $(id -g)"; while IFS= read -r l; do case $l in CapEff:*|NoNewPrivs:*|Seccomp:*) set -- $l; echo "$1 $2";; esac; done < /proc/self/status';
    const refused = restrictedPod('noaccount', NO_ACCOUNT, script);
    await assert.rejects(newExecutor('hpc').create(refused), {
      code: 'POD_SECURITY_UNENFORCEABLE',
      message: `Executor "hpc" runs each job as its pod's user (slurm.runJobsAs: user), but uid ${NO_ACCOUNT} has no account on this host (getent passwd ${NO_ACCOUNT} finds none): `
        + 'Slurm and HTCondor run jobs only for users they can resolve. Give the platform\'s users accounts known to the batch system (pods.identity: accounts, '
        + 'with the same accounts on the controller and the nodes), or set slurm.runJobsAs: executor (jobs run as highrate\'s own account; the sandbox still runs each container as the pod\'s user).',
    });
    assert.deepEqual(liveJobsNamed([refused.pod.metadata.uid]), [], 'nothing was submitted');

    const ex = newExecutor('hpc-auto', { runJobsAs: 'auto' });
    const d = restrictedPod('auto', NO_ACCOUNT, `${script}; sleep 1`);
    const { PodJID } = await ex.create(d);
    await waitForStatus(ex, d.pod, 'main to run', (s) => !!s.containers[0]?.state.running || !!s.containers[0]?.state.terminated, 20_000);
    assert.deepEqual(jobOwner(PodJID), { uid: 0, gid: 0, user: 'root' }, 'the job is highrate\'s (root)');
    const st = await waitForStatus(ex, d.pod, 'main to end', terminated('main'), 20_000);
    const out = await logOf(ex, d.pod);
    assert.equal(st.containers[0]!.state.terminated!.exitCode, 0, out);
    assert.deepEqual(fields(out), { uid: String(NO_ACCOUNT), gid: String(NO_ACCOUNT), CapEff: '0000000000000000', NoNewPrivs: '1', Seccomp: '2' });
    await ex.delete(d.pod);
  });

  test('sandbox none: the restricted pod is refused naming the fix; a relaxed one runs as the user with no_new_privs', async () => {
    const ex = newExecutor('hpc-none', { sandbox: 'none' });
    const d = restrictedPod('none', A.uid, 'id -u');
    await assert.rejects(ex.create(d), {
      code: 'POD_SECURITY_UNENFORCEABLE',
      message: `Executor "hpc" (host processes on the node, no sandbox, a job of uid ${A.uid}) cannot run container "main" as its securityContext asks: `
        + 'readOnlyRootFilesystem: the root file system cannot be made read-only; seccompProfile RuntimeDefault: no seccomp filter can be applied. '
        + 'Set slurm.sandbox: bwrap (bubblewrap on the nodes: a read-only root and the seccomp filter for every container), or relax the profile\'s securityContext '
        + '(readOnlyRootFilesystem: false, seccompProfile: {type: Unconfined}).',
    });
    const sec = restrictedSecurity({ uid: A.uid, gid: A.uid }, { readOnlyRootFilesystem: false, seccompProfile: { type: 'Unconfined' } });
    const relaxed = conformancePod('relaxed', {
      securityContext: { ...sec.pod, seccompProfile: { type: 'Unconfined' } },
      containers: [shContainer('main', 'busybox', 'echo "uid: $(id -u)"; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status | tr -s "\\t" " "', { securityContext: sec.container })],
    });
    pods.push(relaxed.pod);
    const { PodJID } = await ex.create(relaxed);
    const st = await waitForStatus(ex, relaxed.pod, 'main to end', terminated('main'), 20_000);
    const out = await logOf(ex, relaxed.pod);
    assert.equal(st.containers[0]!.state.terminated!.exitCode, 0, out);
    assert.deepEqual(fields(out), { uid: String(A.uid), CapEff: '0000000000000000', NoNewPrivs: '1' });
    assert.equal(LIVE.has(jobState(PodJID) ?? ''), false);
    await ex.delete(relaxed.pod);
  });
});
