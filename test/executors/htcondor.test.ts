import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandRunner, type BatchJob } from '../../src/executors/batch/index.js';
import { conformancePod, readAll, shContainer, waitForStatus } from '../../src/executors/conformance/index.js';
import {
  buildSubmit, CANCEL_SCRIPT, commands, createHtcondorExecutor, JOB_ATTRIBUTES, parseHistory, parsePing, parseProbe, parseStates, parseSubmit,
} from '../../src/executors/htcondor/index.js';
import type { BatchExecutor } from '../../src/executors/batch/index.js';
import type { Pod } from '../../src/executors/types.js';
import { installFakeCondor, type FakeCondor } from './htcondor.fake.js';

/**
 * The HTCondor module: exact submit descriptions, the parsers on JSON as the documented tools
 * print it (fixtures written by hand from the manual's ClassAd attributes), and the executor end
 * to end against a fake condor_* command set on PATH (htcondor.fake.ts). No HTCondor runs here.
 */

const UID = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b';
const JOB: BatchJob = {
  uid: UID,
  name: 'jupyter-alice',
  namespace: 'highrate',
  jobDir: `/shared/highrate/jobs/${UID}`,
  outputFile: `/shared/highrate/jobs/${UID}.out`,
  jobRoot: '/shared/highrate/jobs',
  podScript: '#!/bin/sh\necho pod\n',
  scriptPath: `/var/lib/highrate/executors/condor/pods/${UID}/job.sh`,
  stateDir: `/var/lib/highrate/executors/condor/pods/${UID}`,
  limits: { cpuCores: 1.5, memoryBytes: 4 * 1024 ** 3 },
};

describe('buildSubmit: the submit description', () => {
  test('defaults: vanilla universe, the pod script as transferred executable, files, uid attribute, requests', () => {
    assert.equal(buildSubmit(JOB), [
      `# highrate pod highrate/jupyter-alice uid ${UID} (generated)`,
      'universe = vanilla',
      `executable = /var/lib/highrate/executors/condor/pods/${UID}/job.sh`,
      'transfer_executable = true',
      'should_transfer_files = YES',
      'when_to_transfer_output = ON_EXIT',
      `output = /shared/highrate/jobs/${UID}.out`,
      `error = /shared/highrate/jobs/${UID}/condor.err`,
      `log = /shared/highrate/jobs/${UID}/condor.log`,
      'getenv = false',
      `batch_name = ${UID}`,
      `+highrate_pod_uid = "${UID}"`,
      'request_cpus = 2',
      'request_memory = 4096',
      'queue 1',
      '',
    ].join('\n'));
  });

  test('options: container universe, accounting group, disk, extra lines before the requests (limits win)', () => {
    const text = buildSubmit({ ...JOB, limits: { cpuCores: 0.5, memoryBytes: 128 * 1024 * 1024 + 1 } }, {
      universe: 'container', containerImage: 'docker://docker.io/jupyter/base-notebook:2024-01-01',
      accountingGroup: 'group_cms.alice', requestDisk: '2G',
      extraSubmitLines: ['requirements = (OpSysAndVer == "AlmaLinux9")', 'request_memory = 999', '+MaxWallTimeMins = 600'],
      schedd: 'schedd01.example.org', // a command-line option, not part of the description
    });
    assert.equal(text, [
      `# highrate pod highrate/jupyter-alice uid ${UID} (generated)`,
      'universe = container',
      'container_image = docker://docker.io/jupyter/base-notebook:2024-01-01',
      `executable = /var/lib/highrate/executors/condor/pods/${UID}/job.sh`,
      'transfer_executable = true',
      'should_transfer_files = YES',
      'when_to_transfer_output = ON_EXIT',
      `output = /shared/highrate/jobs/${UID}.out`,
      `error = /shared/highrate/jobs/${UID}/condor.err`,
      `log = /shared/highrate/jobs/${UID}/condor.log`,
      'getenv = false',
      `batch_name = ${UID}`,
      `+highrate_pod_uid = "${UID}"`,
      '+AccountingGroup = "group_cms.alice"',
      'request_disk = 2G',
      'requirements = (OpSysAndVer == "AlmaLinux9")',
      'request_memory = 999',
      '+MaxWallTimeMins = 600',
      'request_cpus = 1',
      'request_memory = 129',
      'queue 1',
      '',
    ].join('\n'));
  });

  test('no limits: no requests (the pool\'s defaults apply); odd pod names stay out of the comment', () => {
    const text = buildSubmit({ ...JOB, name: 'x\nqueue 5', limits: {} });
    assert.match(text, new RegExp(`^# highrate pod highrate/_ uid ${UID} \\(generated\\)\n`));
    assert.ok(!/request_(cpus|memory)/.test(text));
    assert.equal(text.match(/^queue/gm)?.length, 1);
  });

  test('a job of a user: +Owner names the account; its executable and output are in the job directory', () => {
    const text = buildSubmit({
      ...JOB, runAs: { name: 'alice', uid: 200555, gid: 200555 },
      scriptPath: `/shared/highrate/jobs/${UID}/job.sh`, outputFile: `/shared/highrate/jobs/${UID}/job.out`, limits: {},
    });
    assert.deepEqual(text.split('\n').slice(2, 13), [
      `executable = /shared/highrate/jobs/${UID}/job.sh`,
      'transfer_executable = true',
      'should_transfer_files = YES',
      'when_to_transfer_output = ON_EXIT',
      `output = /shared/highrate/jobs/${UID}/job.out`,
      `error = /shared/highrate/jobs/${UID}/condor.err`,
      `log = /shared/highrate/jobs/${UID}/condor.log`,
      'getenv = false',
      `batch_name = ${UID}`,
      `+highrate_pod_uid = "${UID}"`,
      '+Owner = "alice"',
    ]);
    // The schedd never accepts root as Owner; names the submit language would misread are refused.
    assert.throws(() => buildSubmit({ ...JOB, runAs: { name: 'root', uid: 0, gid: 0 } }), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit({ ...JOB, runAs: { name: 'a"b', uid: 5, gid: 5 } }), { code: 'CONFIG_INVALID' });
  });

  test('refused: paths the submit language would misread, a queue or a line break in extra lines, a container universe without image', () => {
    assert.throws(() => buildSubmit({ ...JOB, outputFile: '/shared/$(Cluster).out' }), { code: 'CONFIG_INVALID', message: /output file/ });
    assert.throws(() => buildSubmit({ ...JOB, scriptPath: '/state dir/job.sh' }), { code: 'CONFIG_INVALID', message: /script path/ });
    assert.throws(() => buildSubmit(JOB, { extraSubmitLines: ['queue 10'] }), { code: 'CONFIG_INVALID', message: /queue command/ });
    assert.throws(() => buildSubmit(JOB, { extraSubmitLines: ['a = 1\nqueue'] }), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit(JOB, { accountingGroup: 'a"\nqueue' }), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit(JOB, { universe: 'container' }), { code: 'CONFIG_INVALID', message: /containerImage/ });
  });
});

describe('command lines', () => {
  const attrs = JOB_ATTRIBUTES.join(',');
  test('with a schedd and a pool', () => {
    const c = commands({ schedd: 'schedd01.example.org', pool: 'cm.example.org' });
    const at = ['-name', 'schedd01.example.org', '-pool', 'cm.example.org'];
    assert.deepEqual(c.submit('/s/job.sub').argv, ['condor_submit', '-terse', ...at, '/s/job.sub']);
    assert.deepEqual(c.status(['12.0', '13.0']).argv, ['condor_q', ...at, '-json', '-attributes', attrs, '12.0', '13.0']);
    assert.deepEqual(c.history('12.0').argv, ['condor_history', ...at, '-json', '-limit', '1', '-attributes', attrs, '12.0']);
    assert.deepEqual(c.cancel(['12.0']).argv, ['/bin/sh', '-c', CANCEL_SCRIPT, 'condor_rm', ...at, '12.0']);
    assert.deepEqual(c.cancelByUid(UID).argv, ['condor_rm', ...at, '-constraint', `highrate_pod_uid == "${UID}"`]);
    assert.deepEqual(c.ping().argv, ['condor_status', '-pool', 'cm.example.org', '-json', '-attributes', 'Machine,TotalCpus,TotalMemory,State']);
    assert.deepEqual(c.probe().argv, ['condor_q', ...at, '-totals']);
  });
  test('parseProbe: the totals of a schedd that answered; its failure otherwise', () => {
    const totals = '\n\n-- Schedd: schedd01.example.org : <10.0.0.5:9618?addrs=10.0.0.5-9618&alias=schedd01.example.org> @ 12/04/26 16:00:00\n'
      + 'Total for query: 0 jobs; 0 completed, 0 removed, 0 idle, 0 running, 0 held, 0 suspended\n'
      + 'Total for all users: 12 jobs; 0 completed, 0 removed, 4 idle, 8 running, 0 held, 0 suspended\n\n';
    assert.equal(parseProbe({ stdout: totals, stderr: '', exitCode: 0 }), true);
    assert.equal(parseProbe({ stdout: '', stderr: '-- Failed to fetch ads from: <10.0.0.5:9618> : schedd01.example.org\nCEDAR:6001:Failed to connect to <10.0.0.5:9618>\n', exitCode: 1 }), false);
    assert.equal(parseProbe({ stdout: '', stderr: 'Error: Collector has no record of schedd/submitter\n', exitCode: 1 }), false);
    assert.equal(parseProbe({ stdout: totals, stderr: '', exitCode: 1 }), false, 'a failing exit code wins');
  });
  test('defaults and program paths', () => {
    const c = commands({ commands: { condor_q: '/opt/condor/bin/condor_q' } });
    assert.deepEqual(c.status(['7.0']).argv, ['/opt/condor/bin/condor_q', '-json', '-attributes', attrs, '7.0']);
    assert.deepEqual(c.submit('/s/job.sub').argv, ['condor_submit', '-terse', '/s/job.sub']);
  });
});

test('cancel: "not found" (the job already left the queue) is success, any other failure is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'highrate-condor-rm-'));
  try {
    const stub = (name: string, body: string) => {
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return join(dir, name);
    };
    const run = new CommandRunner(5000);
    const gone = await run.run(commands({ commands: { condor_rm: stub('rm-gone', 'echo "Job $1 not found" >&2; exit 1') } }).cancel(['42.0']));
    assert.deepEqual([gone.exitCode, gone.stderr], [0, 'Job 42.0 not found\n']);
    const down = await run.run(commands({ commands: { condor_rm: stub('rm-down', 'echo "ERROR: Can\'t find address of schedd schedd01" >&2; exit 1') } }).cancel(['42.0']));
    assert.deepEqual([down.exitCode, down.stderr], [1, "ERROR: Can't find address of schedd schedd01\n"]);
    const ok = await run.run(commands({ commands: { condor_rm: stub('rm-ok', 'echo "Job $1 marked for removal"') } }).cancel(['42.0']));
    assert.equal(ok.exitCode, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseSubmit: condor_submit -terse output', () => {
  assert.equal(parseSubmit('1234.0 - 1234.0\n'), '1234.0');
  assert.equal(parseSubmit('WARNING: the line `getenv = false` was unused\n88.0 - 88.0\n'), '88.0');
  assert.throws(() => parseSubmit('Submitting job(s).\n1 job(s) submitted to cluster 5.\n'), { code: 'EXECUTOR_FAILED' });
});

/** `condor_q -json -attributes …` for nine jobs, one per JobStatus case (epoch seconds as the schedd writes them). */
const CONDOR_Q = `[
{
  "ClusterId": 101,
  "EnteredCurrentStatus": 1764085000,
  "highrate_pod_uid": "a0000000-0000-4000-8000-000000000001",
  "JobStatus": 1,
  "ProcId": 0
}
,
{
  "ClusterId": 102,
  "EnteredCurrentStatus": 1764085010,
  "highrate_pod_uid": "a0000000-0000-4000-8000-000000000002",
  "JobCurrentStartDate": 1764085010,
  "JobStartDate": 1764085005,
  "JobStatus": 2,
  "ProcId": 0,
  "RemoteHost": "slot1_3@wn042.example.org"
}
,
{
  "ClusterId": 103,
  "EnteredCurrentStatus": 1764085020,
  "HoldReason": "Error from slot1_2@wn007.example.org: Job has gone over cgroup memory limit of 2048 megabytes.",
  "HoldReasonCode": 34,
  "JobStatus": 5,
  "LastRemoteHost": "slot1_2@wn007.example.org",
  "ProcId": 0
}
,
{
  "ClusterId": 104,
  "CompletionDate": 1764085100,
  "EnteredCurrentStatus": 1764085100,
  "ExitBySignal": false,
  "ExitCode": 0,
  "JobCurrentStartDate": 1764085040,
  "JobStartDate": 1764085040,
  "JobStatus": 4,
  "LastRemoteHost": "slot1_1@wn001.example.org",
  "ProcId": 0
}
,
{
  "ClusterId": 105,
  "CompletionDate": 1764085200,
  "EnteredCurrentStatus": 1764085200,
  "ExitBySignal": false,
  "ExitCode": 3,
  "JobCurrentStartDate": 1764085150,
  "JobStartDate": 1764085150,
  "JobStatus": 4,
  "ProcId": 0
}
,
{
  "ClusterId": 106,
  "CompletionDate": 1764085300,
  "ExitBySignal": true,
  "ExitSignal": 9,
  "JobStartDate": 1764085250,
  "JobStatus": 4,
  "ProcId": 0
}
,
{
  "ClusterId": 107,
  "CompletionDate": 0,
  "EnteredCurrentStatus": 1764085400,
  "JobStartDate": 1764085350,
  "JobStatus": 3,
  "ProcId": 0
}
,
{
  "ClusterId": 108,
  "EnteredCurrentStatus": 1764085500,
  "JobCurrentStartDate": 1764085450,
  "JobStatus": 6,
  "ProcId": 0,
  "RemoteHost": "slot1_1@wn002.example.org"
}
,
{
  "ClusterId": 109,
  "EnteredCurrentStatus": 1764085600,
  "JobCurrentStartDate": 1764085550,
  "JobStatus": 7,
  "ProcId": 2
}
]
`;

describe('parseStates: condor_q -json', () => {
  test('every JobStatus code', () => {
    const s = parseStates({ stdout: CONDOR_Q, stderr: '', exitCode: 0 })!;
    assert.deepEqual(Object.fromEntries(s), {
      '101.0': { id: '101.0', phase: 'pending', state: 'Idle' },
      '102.0': { id: '102.0', phase: 'running', state: 'Running', host: 'wn042.example.org', startedAt: '2025-11-25T15:36:50Z' },
      '103.0': {
        id: '103.0', phase: 'pending', state: 'Held',
        reason: 'Held: Error from slot1_2@wn007.example.org: Job has gone over cgroup memory limit of 2048 megabytes.',
      },
      '104.0': {
        id: '104.0', phase: 'completed', state: 'Completed', host: 'wn001.example.org',
        startedAt: '2025-11-25T15:37:20Z', finishedAt: '2025-11-25T15:38:20Z', exitCode: 0,
      },
      '105.0': {
        id: '105.0', phase: 'failed', state: 'Completed', reason: 'exit code 3',
        startedAt: '2025-11-25T15:39:10Z', finishedAt: '2025-11-25T15:40:00Z', exitCode: 3,
      },
      '106.0': {
        id: '106.0', phase: 'failed', state: 'Completed', reason: 'killed by signal 9',
        startedAt: '2025-11-25T15:40:50Z', finishedAt: '2025-11-25T15:41:40Z', exitCode: 137,
      },
      '107.0': { id: '107.0', phase: 'cancelled', state: 'Removed', startedAt: '2025-11-25T15:42:30Z', finishedAt: '2025-11-25T15:43:20Z' },
      '108.0': { id: '108.0', phase: 'running', state: 'TransferringOutput', host: 'wn002.example.org', startedAt: '2025-11-25T15:44:10Z' },
      '109.2': { id: '109.2', phase: 'pending', state: 'Suspended', reason: 'Suspended' },
    });
  });

  test('no job matched: condor_q prints nothing (or an empty list)', () => {
    assert.deepEqual(parseStates({ stdout: '', stderr: '', exitCode: 0 }), new Map());
    assert.deepEqual(parseStates({ stdout: '[]\n', stderr: '', exitCode: 0 }), new Map());
  });

  test('the schedd did not answer: null (the base keeps the last known states)', () => {
    assert.equal(parseStates({ stdout: '', stderr: '-- Failed to fetch ads from: <10.0.0.5:9618?addrs=10.0.0.5-9618> : schedd01.example.org\nSECMAN:2007:Failed to end classad message.\n', exitCode: 1 }), null);
    assert.equal(parseStates({ stdout: '-- Schedd: schedd01.example.org : <10.0.0.5:9618>\n', stderr: '', exitCode: 0 }), null);
    assert.equal(parseStates({ stdout: '{"ClusterId": 1}', stderr: '', exitCode: 0 }), null);
  });

  test('attribute names are matched case-insensitively, as ClassAd names are', () => {
    const s = parseStates({ stdout: '[{"clusterid": 7, "procid": 0, "jobstatus": 2, "remotehost": "wn1"}]', stderr: '', exitCode: 0 })!;
    assert.deepEqual(s.get('7.0'), { id: '7.0', phase: 'running', state: 'Running', host: 'wn1' });
  });
});

test('parseHistory: condor_history -json -limit 1', () => {
  const out = `[
{
  "ClusterId": 205,
  "CompletionDate": 1764086000,
  "EnteredCurrentStatus": 1764086000,
  "ExitBySignal": false,
  "ExitCode": 1,
  "JobCurrentStartDate": 1764085900,
  "JobStartDate": 1764085900,
  "JobStatus": 4,
  "LastRemoteHost": "slot1@wn003.example.org",
  "ProcId": 0
}
]
`;
  assert.deepEqual(parseHistory(out), {
    id: '205.0', phase: 'failed', state: 'Completed', reason: 'exit code 1', host: 'wn003.example.org',
    startedAt: '2025-11-25T15:51:40Z', finishedAt: '2025-11-25T15:53:20Z', exitCode: 1,
  });
  assert.equal(parseHistory(''), null);
});

test('parsePing: condor_status -json, each machine once, Owner machines left out', () => {
  const out = JSON.stringify([
    { Machine: 'wn001.example.org', State: 'Unclaimed', TotalCpus: 32.0, TotalMemory: 128000 },
    { Machine: 'wn001.example.org', State: 'Claimed', TotalCpus: 32.0, TotalMemory: 128000 },
    { Machine: 'wn002.example.org', State: 'Claimed', TotalCpus: 16.0, TotalMemory: 64000 },
    { Machine: 'ws.example.org', State: 'Owner', TotalCpus: 8.0, TotalMemory: 16000 },
  ], null, 2);
  assert.deepEqual(parsePing(out), { cpu: '48', memory: '192000Mi' });
  assert.throws(() => parsePing('[]'), { code: 'EXECUTOR_FAILED', message: /no usable execute machine/ });
});

describe('the executor against fake condor_* commands on PATH', () => {
  let dir: string;
  let fake: FakeCondor;
  let ex: BatchExecutor;
  let savedPath: string | undefined;
  const pods: Pod[] = [];
  const sh = (name: string, script: string, extra = {}) => shContainer(name, 'docker.io/library/busybox:1.36', script, extra);
  const running = (s: { containers: { state: { running?: unknown } }[] }) => !!s.containers[0]?.state.running;
  const terminated = (s: { containers: { state: { terminated?: unknown } }[] }) => !!s.containers[0]?.state.terminated;
  const newExecutor = () => createHtcondorExecutor({ name: 'condor', stateDir: join(dir, 'state'), pollIntervalMs: 100, deleteWaitMs: 5000, schedd: 'schedd01.example.org' });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'highrate-htcondor-'));
    fake = installFakeCondor(join(dir, 'fake'));
    savedPath = process.env.PATH;
    process.env.PATH = `${fake.binDir}:${process.env.PATH}`;
    ex = newExecutor();
  });
  after(async () => {
    await Promise.all(pods.map((p) => ex.delete(p).catch(() => undefined)));
    fake.killAll();
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  test('create: the description file and condor_submit -terse -name; the job runs the pod script; logs; exit code', async () => {
    const data = conformancePod('hello', { containers: [sh('main', 'echo hello from condor; exit 4', { resources: { limits: { cpu: '2', memory: '1Gi' } } })] });
    pods.push(data.pod);
    const cs = await ex.create(data);
    assert.match(cs.PodJID, /^\d+\.0$/);
    const submitFile = join(dir, 'state', 'pods', data.pod.metadata.uid, 'job.sub');
    assert.ok(fake.calls().includes(`condor_submit -terse -name schedd01.example.org ${submitFile}`), fake.calls().join('\n'));
    const desc = fake.submitted(cs.PodJID);
    assert.equal(desc, readFileSync(submitFile, 'utf8'));
    assert.match(desc, /^request_cpus = 2$/m);
    assert.match(desc, /^request_memory = 1024$/m);
    assert.match(desc, new RegExp(`^executable = ${join(dir, 'state', 'pods', data.pod.metadata.uid, 'job.sh')}$`, 'm'));
    // The executable is the pod supervisor itself.
    assert.match(readFileSync(join(dir, 'state', 'pods', data.pod.metadata.uid, 'job.sh'), 'utf8'), /^#!\/bin\/sh\n# highrate pod supervisor/);
    const st = await waitForStatus(ex, data.pod, 'main to terminate', terminated, 20_000);
    assert.equal(st.JID, cs.PodJID);
    assert.deepEqual([st.containers[0]!.state.terminated!.exitCode, st.containers[0]!.state.terminated!.reason], [4, 'Error']);
    const logs = await readAll(await ex.logs({ Namespace: data.pod.metadata.namespace!, PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: 'main', Opts: {} }));
    assert.equal(logs, 'hello from condor\n');
    // The job's files, and HTCondor's own (stderr, event log) in the job directory.
    assert.ok(existsSync(join(dir, 'state', 'jobs', data.pod.metadata.uid, 'run-main.status')));
  });

  test('status: ONE condor_q for all pods, naming every job; completed jobs resolved with condor_history once', async () => {
    const batch = Array.from({ length: 5 }, (_, i) => conformancePod(`many-${i}`, { containers: [sh('main', i === 0 ? 'true' : 'sleep 600')] }));
    for (const d of batch) {
      pods.push(d.pod);
      await ex.create(d);
    }
    const all = batch.map((d) => d.pod);
    const until = Date.now() + 20_000;
    while (!(await ex.status(all)).slice(1).every(running)) {
      assert.ok(Date.now() < until, 'all sleeping pods run');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let the first (true) finish and leave the queue.
    await waitForStatus(ex, all[0]!, 'the first pod to end', terminated, 20_000);
    await new Promise((r) => setTimeout(r, 150));
    const before = ex.commands.count('condor_q');
    const callsBefore = fake.calls().length;
    const st = await ex.status(all);
    assert.equal(ex.commands.count('condor_q'), before + 1, 'one condor_q per poll');
    assert.equal(st.length, 5);
    const q = fake.calls().slice(callsBefore).filter((l) => l.startsWith('condor_q '));
    assert.equal(q.length, 1);
    for (const d of batch.slice(1)) assert.ok(q[0]!.includes(ex.jobIdOf(d.pod.metadata.uid)!), `${q[0]} names every running job`);
    // Ten more status calls within the poll interval share that answer.
    await Promise.all(Array.from({ length: 10 }, () => ex.status(all)));
    assert.ok(ex.commands.count('condor_q') <= before + 2);
    const histories = fake.calls().filter((l) => l.startsWith('condor_history ') && l.endsWith(` ${ex.jobIdOf(all[0]!.metadata.uid)}`));
    assert.ok(histories.length <= 1, `condor_history at most once per job, got ${histories.length}`);
  });

  test('held job: waiting with the hold reason; delete removes it with condor_rm', async () => {
    const data = conformancePod('held', { containers: [sh('main', 'sleep 600')] });
    pods.push(data.pod);
    const { PodJID } = await ex.create(data);
    await waitForStatus(ex, data.pod, 'main to run', running, 20_000);
    fake.hold(PodJID, 'Error from slot1_1@fake-node.example.org: Job has gone over cgroup memory limit of 1024 megabytes.');
    const st = await waitForStatus(ex, data.pod, 'the hold to show', (s) => !!s.containers[0]?.state.waiting, 5000);
    assert.equal(st.containers[0]!.state.waiting!.reason, 'Pending');
    assert.equal(st.containers[0]!.state.waiting!.message,
      `queued as job ${PodJID}: Held: Error from slot1_1@fake-node.example.org: Job has gone over cgroup memory limit of 1024 megabytes.; image "docker.io/library/busybox:1.36" not honoured: runs as a host process on the batch node`);
    const pgid = fake.pgid(PodJID)!;
    await ex.delete(data.pod);
    assert.ok(fake.calls().includes(`condor_rm -name schedd01.example.org ${PodJID}`), fake.calls().join('\n'));
    assert.deepEqual(await ex.status([data.pod]), []);
    const until = Date.now() + 5000;
    while (groupAlive(pgid)) {
      assert.ok(Date.now() < until, 'the job\'s processes end after condor_rm');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  test('a start while the schedd is away: 503 UPSTREAM_UNAVAILABLE from condor_q -totals, condor_submit never run', async () => {
    const away = createHtcondorExecutor({ name: 'condor', stateDir: join(dir, 'state-away'), pollIntervalMs: 100, deleteWaitMs: 5000, schedd: 'schedd01.example.org', probeTimeoutMs: 1000 });
    const submits = () => fake.calls().filter((c) => c.startsWith('condor_submit ')).length;
    const before = submits();
    const refused = async (name: string) => {
      const d = conformancePod(name, { containers: [sh('main', 'sleep 600')] });
      const t0 = Date.now();
      const err = await away.create(d).then(() => null, (e: unknown) => e as { code?: string; status?: number; message?: string; extra?: { retryAfter?: number } });
      return { err, ms: Date.now() - t0 };
    };
    fake.scheddDown(true);
    try {
      const down = await refused('away-down');
      assert.deepEqual([down.err?.code, down.err?.status, down.err?.extra?.retryAfter], ['UPSTREAM_UNAVAILABLE', 503, 30], String(down.err?.message));
      assert.match(down.err!.message!, /htcondor controller is not reachable \(-- Failed to fetch ads from: <127\.0\.0\.1:9618> : fake-schedd\); nothing was started/);
      assert.ok(down.ms < 1000, `answered in ${down.ms} ms`);
    } finally {
      fake.scheddDown(false);
    }
    fake.scheddHangs(true);
    try {
      const hung = await refused('away-hangs');
      assert.equal(hung.err?.code, 'UPSTREAM_UNAVAILABLE', String(hung.err?.message));
      assert.match(hung.err!.message!, /condor_q did not answer within 1000 ms/);
      assert.ok(hung.ms >= 1000 && hung.ms < 2500, `answered after the probe's 1 s deadline: ${hung.ms} ms`);
    } finally {
      fake.scheddHangs(false);
    }
    assert.equal(submits(), before, 'nothing was submitted');
    // Back: the probe passes and the job is submitted.
    const d = conformancePod('away-back', { containers: [sh('main', 'sleep 600')] });
    pods.push(d.pod);
    await away.create(d);
    assert.equal(submits(), before + 1);
    assert.ok(fake.calls().includes('condor_q -name schedd01.example.org -totals'), fake.calls().join('\n'));
    await away.delete(d.pod);
  });

  test('a schedd outage keeps the last known state; a new executor process finds the jobs again', async () => {
    const data = conformancePod('outage', { containers: [sh('main', 'sleep 600')] });
    pods.push(data.pod);
    const { PodJID } = await ex.create(data);
    await waitForStatus(ex, data.pod, 'main to run', running, 20_000);
    fake.scheddDown(true);
    try {
      await new Promise((r) => setTimeout(r, 150));
      const [st] = await ex.status([data.pod]);
      assert.ok(st?.containers[0]?.state.running, 'still running while condor_q fails');
    } finally {
      fake.scheddDown(false);
    }
    const again = newExecutor();
    const [st] = await again.status([data.pod]);
    assert.equal(st?.JID, PodJID);
    assert.ok(st?.containers[0]?.state.running);
    assert.ok((await again.ping()).resources, 'ping');
    assert.deepEqual((await again.ping()).resources, { cpu: '4', memory: '8192Mi', pods: '1000' });
  });
});

describe('jobs of users (runJobsAs) against the fake commands', () => {
  let dir: string;
  let fake: FakeCondor;
  let savedPath: string | undefined;
  const pods: Pod[] = [];
  const made: BatchExecutor[] = [];
  const sh = (name: string, script: string, extra = {}) => shContainer(name, 'docker.io/library/busybox:1.36', script, extra);
  const ended = (s: { containers: { state: { terminated?: unknown } }[] }) => !!s.containers[0]?.state.terminated;
  const newExecutor = (runJobsAs: 'auto' | 'user' | 'executor') => {
    const e = createHtcondorExecutor({ name: 'condor', stateDir: join(dir, 'state'), jobRoot: join(dir, 'jobs'), pollIntervalMs: 100, deleteWaitMs: 5000, runJobsAs });
    made.push(e);
    return e;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'highrate-htcondor-users-'));
    // Users reach their job directories through jobRoot; the state directory stays the hub's.
    chmodSync(dir, 0o711);
    mkdirSync(join(dir, 'jobs'), { mode: 0o711 });
    fake = installFakeCondor(join(dir, 'fake'));
    savedPath = process.env.PATH;
    process.env.PATH = `${fake.binDir}:${process.env.PATH}`;
  });
  after(async () => {
    for (const e of made) await Promise.all(pods.map((p) => e.delete(p).catch(() => undefined)));
    fake.killAll();
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  test('runJobsAs user: +Owner is the pod\'s account; the job runs as it; its directory is its own; delete is condor_rm', async () => {
    const ex = newExecutor('user');
    // No runAsUser: the sandbox's default user, nobody (an account on every Debian host).
    const data = conformancePod('owner', { containers: [sh('main', 'id -u; id -g; sleep 600')] });
    pods.push(data.pod);
    const { PodJID } = await ex.create(data);
    const uid = data.pod.metadata.uid;
    const jobDir = join(dir, 'jobs', uid);
    const desc = fake.submitted(PodJID);
    assert.equal(desc, readFileSync(join(dir, 'state', 'pods', uid, 'job.sub'), 'utf8'), 'the description stays in the hub\'s state directory');
    assert.match(desc, /^\+Owner = "nobody"$/m);
    assert.match(desc, new RegExp(`^executable = ${jobDir}/job\\.sh$`, 'm'));
    assert.match(desc, new RegExp(`^output = ${jobDir}/job\\.out$`, 'm'));
    assert.ok(fake.calls().includes(`condor_submit -terse ${join(dir, 'state', 'pods', uid, 'job.sub')}`), fake.calls().join('\n'));
    assert.equal(fake.owner(PodJID), 'nobody');
    // The executable refuses to run as anyone else (a starter that runs jobs as nobody or slot users).
    assert.equal(readFileSync(join(jobDir, 'job.sh'), 'utf8').split('\n')[1],
      '[ "$(id -u)" = 65534 ] || { echo "highrate: this job must run as uid 65534, but runs as uid $(id -u)" >&2; exit 126; }');
    const st = statSync(jobDir);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [65534, 65534, 0o700]);
    const until = Date.now() + 20_000;
    let out = '';
    while (!/^\d+\n\d+\n$/.test(out)) {
      assert.ok(Date.now() < until, `the container printed its ids: ${JSON.stringify(out)}`);
      await new Promise((r) => setTimeout(r, 100));
      out = await readAll(await ex.logs({ Namespace: 'x', PodUID: uid, PodName: data.pod.metadata.name, ContainerName: 'main', Opts: {} }));
    }
    assert.equal(out, '65534\n65534\n');
    await ex.delete(data.pod);
    assert.ok(fake.calls().some((l) => l === `condor_rm ${PodJID}`), fake.calls().join('\n'));
    assert.equal(existsSync(jobDir), false);
  });

  test('a uid without an account: refused with runJobsAs user, highrate\'s own account with auto', async () => {
    const data = conformancePod('noaccount', { securityContext: { runAsUser: 200777, runAsGroup: 200777 }, containers: [sh('main', 'id -u')] });
    await assert.rejects(newExecutor('user').create(data), { code: 'POD_SECURITY_UNENFORCEABLE', message: /uid 200777 has no account on this host.*pods\.identity: accounts.*or set htcondor\.runJobsAs: executor/ });
    const ex = newExecutor('auto');
    pods.push(data.pod);
    const { PodJID } = await ex.create(data);
    assert.doesNotMatch(fake.submitted(PodJID), /Owner/);
    const st = await waitForStatus(ex, data.pod, 'main to end', ended, 20_000);
    assert.equal(st.containers[0]!.state.terminated!.exitCode, 0);
    assert.equal(await readAll(await ex.logs({ Namespace: 'x', PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: 'main', Opts: {} })), '200777\n');
  });
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
