import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformancePod, readAll, shContainer, waitForStatus } from '../../src/executors/conformance/index.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import { createSlurmExecutor, type SlurmExecutorOptions } from '../../src/executors/slurm/index.js';
import type { Pod, PodStatus, RetrievedPodData } from '../../src/executors/types.js';
import { ensureSlurm, jobState, liveJobsNamed, showJob } from '../helpers/slurm.js';

/**
 * What the Slurm executor does beyond the conformance suite, on the real development Slurm:
 * one squeue per poll whatever the number of pods and callers, queue waits as container
 * messages, pod limits as the job's allocation, controller outages (a squeue that fails, a
 * controller that stops answering) that never fail running pods, a new executor process that
 * finds the jobs of the old one, and jobs squeue forgot.
 */

const root = mkdtempSync(join(tmpdir(), 'highrate-slurm-test-'));
const CTLD_PID = '/run/highrate-slurmctld.pid';
const sh = (name: string, script: string, extra = {}) => shContainer(name, 'busybox', script, extra);
const running = (st: PodStatus) => !!st.containers[0]?.state.running;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// squeue/scontrol wrappers steered by flag files: fail like an unreachable controller, or hide jobs.
const flags = join(root, 'flags');
const wrapperDir = join(root, 'bin');
execFileSync('mkdir', ['-p', flags, wrapperDir]);
const SQUEUE = join(wrapperDir, 'squeue');
const SCONTROL = join(wrapperDir, 'scontrol');
writeFileSync(SQUEUE, `#!/bin/sh
if [ -e ${flags}/squeue-fails ]; then echo "squeue: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)" >&2; exit 1; fi
if [ -s ${flags}/squeue-hides ]; then squeue "$@" | grep -v -F -f ${flags}/squeue-hides; exit 0; fi
exec squeue "$@"
`);
writeFileSync(SCONTROL, `#!/bin/sh
if [ "$1" = ping ] && [ -e ${flags}/ping-down ]; then printf 'Slurmctld(primary) at vm is DOWN\\n*****\\n'; exit 1; fi
if [ "$1" = ping ] && [ -e ${flags}/ping-hangs ]; then exec sleep 30; fi
if [ -e ${flags}/scontrol-fails ]; then echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1; fi
exec scontrol "$@"
`);
chmodSync(SQUEUE, 0o755);
chmodSync(SCONTROL, 0o755);
const setFlag = (name: string, content = '') => writeFileSync(join(flags, name), content);
const clearFlag = (name: string) => { if (existsSync(join(flags, name))) unlinkSync(join(flags, name)); };

const executors: BatchExecutor[] = [];
const pods: Pod[] = [];
function newExecutor(stateDir: string, extra: Partial<SlurmExecutorOptions> = {}): BatchExecutor {
  const ex = createSlurmExecutor({ name: 'slurm-test', stateDir, pollIntervalMs: 1000, commands: { squeue: SQUEUE, scontrol: SCONTROL }, ...extra });
  executors.push(ex);
  return ex;
}
async function create(ex: BatchExecutor, d: RetrievedPodData) {
  pods.push(d.pod);
  return ex.create(d);
}

before(() => ensureSlurm());
after(async () => {
  // Whatever a failed test left: cancel by pod UID (job name), then remove the files.
  const left = liveJobsNamed(pods.map((p) => p.metadata.uid));
  if (left.length) execFileSync('scancel', left);
  rmSync(root, { recursive: true, force: true });
});

describe('slurm executor on a real Slurm', () => {
  test('one squeue per poll for all pods and callers; queued pods say why they wait', async () => {
    const ex = newExecutor(join(root, 'many'));
    // Pods of 2 cpus: as many as the node holds run (8 on the 16 slots of scripts/slurm.sh), 4 more wait for resources.
    const fit = Math.floor(Number(execFileSync('sinfo', ['--noheader', '-o', '%c'], { encoding: 'utf8' }).trim()) / 2);
    const total = fit + 4;
    const data = Array.from({ length: total }, (_, i) => conformancePod(`many-${i}`, { containers: [sh('main', 'sleep 600', { resources: { limits: { cpu: '2', memory: '64Mi' } } })] }));
    for (const d of data) await create(ex, d);
    const all = data.map((d) => d.pod);
    const until = Date.now() + 30_000;
    let st: PodStatus[] = [];
    for (;;) {
      st = await ex.status(all);
      if (st.filter(running).length === fit) break;
      assert.ok(Date.now() < until, `${fit} pods running; got ${st.filter(running).length}`);
      await sleep(200);
    }
    const queued = st.filter((s) => s.containers[0]!.state.waiting);
    assert.equal(queued.length, 4);
    for (const q of queued) {
      const w = q.containers[0]!.state.waiting!;
      assert.equal(w.reason, 'Pending');
      assert.match(w.message!, new RegExp(`^queued as job ${q.JID}: (Resources|Priority); image "busybox" not honoured`));
    }

    // A burst: one caller per pod asking about one pod each plus one about all, at once, after the cache expired.
    await sleep(1100);
    const before = ex.commands.count('squeue');
    const answers = await Promise.all([...all.map((p) => ex.status([p])), ex.status(all)]);
    assert.equal(ex.commands.count('squeue') - before, 1, 'one squeue for the whole burst');
    assert.equal(answers.slice(0, total).flat().length, total);
    assert.equal(answers[total]!.length, total);
    // Within the poll interval, nothing new is asked.
    await ex.status(all);
    assert.equal(ex.commands.count('squeue') - before, 1);
    await sleep(1100);
    await ex.status(all);
    assert.equal(ex.commands.count('squeue') - before, 2, 'the next poll after the interval');

    await Promise.all(all.map((p) => ex.delete(p)));
    assert.deepEqual(liveJobsNamed(all.map((p) => p.metadata.uid)), [], 'every job cancelled');
    assert.deepEqual(await ex.status(all), []);
  });

  test('pod limits become the job allocation: --cpus-per-task rounded up, --mem in MiB', async () => {
    const ex = newExecutor(join(root, 'limits'));
    const d = conformancePod('limits', { containers: [sh('main', 'sleep 600', { resources: { limits: { cpu: '1500m', memory: '300Mi' } } })] });
    const { PodJID } = await create(ex, d);
    await waitForStatus(ex, d.pod, 'main to run', running, 20_000);
    const job = showJob(PodJID)!;
    assert.equal(job.get('JobName'), d.pod.metadata.uid);
    assert.equal(job.get('CPUs/Task'), '2');
    assert.equal(job.get('NumCPUs'), '2');
    assert.equal(job.get('MinMemoryNode'), '300M');
    assert.match(job.get('TRES') ?? '', /^cpu=2,mem=300M,node=1/);
    await ex.delete(d.pod);
    assert.equal(jobState(PodJID), 'CANCELLED');
  });

  test('a failing squeue and a controller that stops answering never fail running pods', async () => {
    const ex = newExecutor(join(root, 'outage'), { commandTimeoutMs: 1500, pollIntervalMs: 300 });
    const d = conformancePod('outage', { containers: [sh('main', 'echo up; sleep 600')] });
    const { PodJID } = await create(ex, d);
    const first = await waitForStatus(ex, d.pod, 'main to run', running, 20_000);

    setFlag('squeue-fails');
    try {
      const failedBefore = ex.commands.count('squeue');
      for (let i = 0; i < 5; i++) {
        await sleep(350);
        assert.deepEqual(await ex.status([d.pod]), [first], 'the last known status while squeue fails');
      }
      assert.ok(ex.commands.count('squeue') - failedBefore >= 3, 'it kept asking');
    } finally {
      clearFlag('squeue-fails');
    }

    // The real controller stops answering (SIGSTOP): squeue hangs until the command timeout.
    const ctld = Number(readFileSync(CTLD_PID, 'utf8'));
    await sleep(400);
    process.kill(ctld, 'SIGSTOP');
    try {
      const asked = ex.commands.count('squeue');
      const t0 = Date.now();
      const burst = await Promise.all([ex.status([d.pod]), ex.status([d.pod]), ex.status([d.pod])]);
      const took = Date.now() - t0;
      assert.deepEqual(burst, [[first], [first], [first]]);
      assert.equal(ex.commands.count('squeue') - asked, 1, 'one squeue for the burst');
      assert.ok(took >= 1400 && took < 3000, `the burst waited for one command timeout (1.5 s), took ${took} ms`);
      // Right after the failure, callers get the last known state at once.
      const t1 = Date.now();
      assert.deepEqual(await ex.status([d.pod]), [first]);
      assert.ok(Date.now() - t1 < 200);
    } finally {
      process.kill(ctld, 'SIGCONT');
    }
    // Back: the job still runs, and later states arrive again.
    await sleep(400);
    assert.deepEqual(await ex.status([d.pod]), [first]);
    assert.equal(jobState(PodJID), 'RUNNING');
    await ex.delete(d.pod);
    assert.equal(jobState(PodJID), 'CANCELLED');
  });

  test('a new executor process finds the jobs of the old one', async () => {
    const stateDir = join(root, 'restart');
    const a = newExecutor(stateDir);
    const d = conformancePod('restart', { containers: [sh('main', 'echo from-the-job; sleep 600')] });
    const { PodJID } = await create(a, d);
    await waitForStatus(a, d.pod, 'main to run', running, 20_000);
    await a.close();

    const b = newExecutor(stateDir);
    const [st] = await b.status([d.pod]);
    assert.equal(st!.JID, PodJID);
    assert.ok(st!.containers[0]!.state.running);
    assert.deepEqual(await b.create(d), { PodUID: d.pod.metadata.uid, PodJID }, 'create stays idempotent across processes');
    assert.equal(await readAll(await b.logs({ Namespace: 'x', PodUID: d.pod.metadata.uid, PodName: d.pod.metadata.name, ContainerName: 'main', Opts: {} })), 'from-the-job\n');
    await b.delete(d.pod);
    assert.deepEqual(liveJobsNamed([d.pod.metadata.uid]), []);
    assert.equal(existsSync(join(stateDir, 'pods', d.pod.metadata.uid)), false, 'the record is gone');
  });

  test('a job squeue no longer lists is asked about once with scontrol, then read from its files', async () => {
    const stateDir = join(root, 'forgotten');
    const ex = newExecutor(stateDir, { pollIntervalMs: 200 });
    const d = conformancePod('forgotten', { containers: [sh('main', 'exit 5')], initContainers: [sh('prepare', 'true')] });
    const { PodJID } = await create(ex, d);
    // The job ends while nobody asks; then squeue forgets it (as after MinJobAge).
    const until = Date.now() + 20_000;
    while (jobState(PodJID) !== 'FAILED') {
      assert.ok(Date.now() < until, `job ${PodJID} failed; it is ${jobState(PodJID)}`);
      await sleep(200);
    }
    setFlag('squeue-hides', `${PodJID}|\n`);
    try {
      const before = ex.commands.count('scontrol');
      const [st] = await ex.status([d.pod]);
      assert.deepEqual(st!.containers[0]!.state.terminated && [st!.containers[0]!.state.terminated.exitCode, st!.containers[0]!.state.terminated.reason], [5, 'Error']);
      assert.deepEqual(st!.initContainers.map((c) => [c.name, c.state.terminated?.exitCode]), [['prepare', 0]]);
      await sleep(300);
      await ex.status([d.pod]);
      assert.equal(ex.commands.count('scontrol') - before, 1, 'scontrol once for the forgotten job');

      // A later process while the controller cannot describe it either: the files decide.
      setFlag('scontrol-fails');
      const later = newExecutor(stateDir, { pollIntervalMs: 200 });
      const [again] = await later.status([d.pod]);
      assert.deepEqual(again, st);
      await later.delete(d.pod);
    } finally {
      clearFlag('squeue-hides');
      clearFlag('scontrol-fails');
    }
  });

  test('a start while the controller is away: 503 UPSTREAM_UNAVAILABLE from scontrol ping, sbatch never run', async () => {
    const ex = newExecutor(join(root, 'away'), { probeTimeoutMs: 1000 });
    const refused = async (name: string) => {
      const d = conformancePod(name, { containers: [sh('main', 'sleep 600')] });
      const t0 = Date.now();
      const err = await create(ex, d).then(() => null, (e: unknown) => e as { code?: string; status?: number; message?: string; extra?: { retryAfter?: number } });
      return { err, ms: Date.now() - t0, uid: d.pod.metadata.uid };
    };
    setFlag('ping-down');
    try {
      const down = await refused('away-down');
      assert.deepEqual([down.err?.code, down.err?.status, down.err?.extra?.retryAfter], ['UPSTREAM_UNAVAILABLE', 503, 30], String(down.err?.message));
      assert.match(down.err!.message!, /slurm controller is not reachable \(Slurmctld\(primary\) at vm is DOWN\); nothing was started/);
      assert.ok(down.ms < 1000, `answered in ${down.ms} ms`);
    } finally {
      clearFlag('ping-down');
    }
    setFlag('ping-hangs');
    try {
      const hung = await refused('away-hangs');
      assert.equal(hung.err?.code, 'UPSTREAM_UNAVAILABLE', String(hung.err?.message));
      assert.match(hung.err!.message!, /scontrol did not answer within 1000 ms/);
      assert.ok(hung.ms >= 1000 && hung.ms < 2500, `answered after the probe's 1 s deadline: ${hung.ms} ms`);
    } finally {
      clearFlag('ping-hangs');
    }
    assert.equal(ex.commands.count('sbatch'), 0, 'nothing was submitted');
    // Back: the probe passes and the job is submitted.
    const d = conformancePod('away-back', { containers: [sh('main', 'sleep 600')] });
    const { PodJID } = await create(ex, d);
    assert.equal(ex.commands.count('sbatch'), 1);
    assert.equal(ex.commands.count('scontrol'), 3, 'one ping per start');
    await ex.delete(d.pod);
    assert.equal(jobState(PodJID), 'CANCELLED');
  });
});
