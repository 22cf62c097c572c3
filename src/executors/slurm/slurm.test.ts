import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchJob } from '../batch/types.js';
import { buildSubmit, parseDescribe, parsePing, parseProbe, parseStates, parseSubmit, slurmSystem, SQUEUE_FORMAT } from './slurm.js';

const UID = '0f0e0d0c-aaaa-bbbb-cccc-111122223333';
const job = (over: Partial<BatchJob> = {}): BatchJob => ({
  uid: UID, name: 'hello', namespace: 'ns',
  jobRoot: '/var/lib/highrate/jobs', jobDir: `/var/lib/highrate/jobs/${UID}`, outputFile: `/var/lib/highrate/jobs/${UID}.out`,
  podScript: '#!/bin/sh\n# highrate pod supervisor\necho body\n', scriptPath: '/state/job.sh', stateDir: '/state', limits: {}, ...over,
});

describe('buildSubmit', () => {
  test('a pod without limits or options: name, output, chdir, clean environment, then the supervisor', () => {
    assert.equal(buildSubmit(job()), [
      '#!/bin/sh',
      `#SBATCH --job-name=${UID}`,
      `#SBATCH --output=/var/lib/highrate/jobs/${UID}.out`,
      '#SBATCH --chdir=/var/lib/highrate/jobs',
      '#SBATCH --export=NONE',
      `mkdir -p -m 700 '/var/lib/highrate/jobs/${UID}' || exit 1`,
      '# highrate pod supervisor',
      'echo body',
      '',
    ].join('\n'));
  });

  test('every option, extra flags one per line, limits last (cpus rounded up, memory in MiB)', () => {
    const text = buildSubmit(job({ limits: { cpuCores: 1.5, memoryBytes: 300 * 1024 * 1024 + 1 } }), {
      partition: 'gpu', account: 'atlas', qos: 'short', timeLimit: '1:00:00', extraSbatchFlags: ['--gres=gpu:1', ' -p geant4 '],
    });
    assert.deepEqual(text.split('\n').slice(4, 13), [
      '#SBATCH --export=NONE',
      '#SBATCH --partition=gpu',
      '#SBATCH --account=atlas',
      '#SBATCH --qos=short',
      '#SBATCH --time=1:00:00',
      '#SBATCH --gres=gpu:1',
      '#SBATCH -p geant4',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=301M',
    ]);
  });

  test('whole cores stay whole; a tiny cpu limit still asks for one', () => {
    assert.match(buildSubmit(job({ limits: { cpuCores: 2 } })), /^#SBATCH --cpus-per-task=2$/m);
    assert.match(buildSubmit(job({ limits: { cpuCores: 0.1 } })), /^#SBATCH --cpus-per-task=1$/m);
    assert.match(buildSubmit(job({ limits: { memoryBytes: 128 * 1024 * 1024 } })), /^#SBATCH --mem=128M$/m);
  });

  test('a job of a user: sbatch --uid/--gid on the command line (only root may), the same script', () => {
    const s = slurmSystem();
    assert.equal(s.submitsAsUser, 'any-group');
    const mine = s.buildSubmit(job({ runAs: { name: 'alice', uid: 200555, gid: 5000 } }));
    assert.deepEqual(mine.argv, ['sbatch', '--parsable', '--uid=200555', '--gid=5000']);
    assert.equal(mine.stdin, buildSubmit(job()));
    assert.deepEqual(s.buildSubmit(job()).argv, ['sbatch', '--parsable']);
  });

  test('paths and flags that #SBATCH cannot carry are refused', () => {
    assert.throws(() => buildSubmit(job({ jobRoot: '/my jobs' })), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit(job({ outputFile: '/jobs/%j.out' })), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit(job(), { extraSbatchFlags: ['--gres=gpu:1\nrm -rf /'] }), { code: 'CONFIG_INVALID' });
    assert.throws(() => buildSubmit(job(), { partition: 'a\nb' }), { code: 'CONFIG_INVALID' });
  });

  test('the commands: sbatch with the script on stdin, one squeue for all ids, configured paths', () => {
    const s = slurmSystem({ commands: { squeue: '/opt/slurm/bin/squeue' }, partition: 'debug' });
    const submit = s.buildSubmit(job());
    assert.deepEqual(submit.argv, ['sbatch', '--parsable']);
    assert.equal(submit.stdin, buildSubmit(job(), { partition: 'debug' }));
    assert.deepEqual(s.statusCommand(['7', '8', '9']).argv, ['/opt/slurm/bin/squeue', '--noheader', '-a', '--states=all', '-j', '7,8,9', '-O', SQUEUE_FORMAT]);
    assert.deepEqual(s.cancelCommand(['7']).argv, ['scancel', '7']);
    assert.deepEqual(s.cancelByNameCommand!(UID).argv, ['scancel', `--name=${UID}`]);
    assert.deepEqual(s.describeCommand!('7').argv, ['scontrol', '-o', 'show', 'job', '7']);
    assert.deepEqual(s.pingCommand().argv, ['sinfo', '--noheader', '-N', '-o', '%N|%c|%m|%t', '-p', 'debug']);
  });
});

describe('parseSubmit', () => {
  test('the id, with or without a cluster', () => {
    assert.equal(parseSubmit('123\n'), '123');
    assert.equal(parseSubmit('123;cluster-a\n'), '123');
    assert.throws(() => parseSubmit('Submitted batch job 123\n'), { code: 'EXECUTOR_FAILED' });
  });
});

describe('parseStates', () => {
  const local = (s: string) => new Date(Date.parse(s)).toISOString().replace('.000Z', 'Z');
  test('squeue lines → phases, reasons, exit codes from wait statuses, facts-only times', () => {
    const stdout = [
      '11|PD|0|n/a|2027-11-25T15:47:19|NONE|Resources',
      '12|PD|0|n/a|N/A|N/A|None',
      '10|R|0|vm|2026-11-25T15:47:19|2027-11-25T15:47:19|None',
      '9|CG|0|vm|2026-11-25T15:40:00|2026-11-25T15:41:00|None',
      '8|CD|0|vm|2026-11-25T15:40:00|2026-11-25T15:41:00|None',
      '1|F|768|vm|2026-11-25T15:42:12|2026-11-25T15:42:15|NonZeroExitCode',
      '2|F|9|vm|2026-11-25T15:42:12|2026-11-25T15:42:15|NonZeroExitCode',
      '3|TO|15|vm|2026-11-25T15:42:12|2026-11-25T15:52:12|TimeLimit',
      '4|OOM|32512|vm|2026-11-25T15:42:12|2026-11-25T15:42:13|OutOfMemory',
      '5|CA|0|vm|N/A|2026-11-25T15:42:13|None',
      '6|NF|0|vm|2026-11-25T15:42:12|2026-11-25T15:42:13|NodeFail',
      '7|S|0|vm|2026-11-25T15:42:12|NONE|None',
      '',
    ].join('\n');
    const m = parseStates({ stdout, stderr: '', exitCode: 0 })!;
    assert.deepEqual(m.get('11'), { id: '11', phase: 'pending', state: 'PD', reason: 'Resources' });
    assert.deepEqual(m.get('12'), { id: '12', phase: 'pending', state: 'PD' });
    assert.deepEqual(m.get('10'), { id: '10', phase: 'running', state: 'R', host: 'vm', startedAt: local('2026-11-25T15:47:19') });
    assert.equal(m.get('9')!.phase, 'running');
    assert.deepEqual(m.get('8'), { id: '8', phase: 'completed', state: 'CD', host: 'vm', startedAt: local('2026-11-25T15:40:00'), finishedAt: local('2026-11-25T15:41:00'), exitCode: 0 });
    assert.deepEqual([m.get('1')!.phase, m.get('1')!.exitCode, m.get('1')!.reason], ['failed', 3, 'NonZeroExitCode']);
    assert.deepEqual([m.get('2')!.phase, m.get('2')!.exitCode], ['failed', 137]);
    assert.deepEqual([m.get('3')!.phase, m.get('3')!.exitCode, m.get('3')!.reason], ['timeout', 143, 'TimeLimit']);
    assert.deepEqual([m.get('4')!.phase, m.get('4')!.exitCode], ['oom', 127]);
    assert.deepEqual([m.get('5')!.phase, m.get('5')!.startedAt, m.get('5')!.finishedAt], ['cancelled', undefined, local('2026-11-25T15:42:13')]);
    assert.equal(m.get('6')!.phase, 'failed');
    assert.equal(m.get('7')!.phase, 'pending');
    assert.equal(m.size, 12);
  });

  test('a lone forgotten id is an empty answer; other failures and junk are an outage (null)', () => {
    assert.deepEqual(parseStates({ stdout: '', stderr: 'slurm_load_jobs error: Invalid job id specified\n', exitCode: 1 }), new Map());
    assert.equal(parseStates({ stdout: '', stderr: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n', exitCode: 1 }), null);
    assert.equal(parseStates({ stdout: 'JOBID|STATE\n', stderr: '', exitCode: 0 }), null);
    assert.deepEqual(parseStates({ stdout: '', stderr: '', exitCode: 0 }), new Map());
  });
});

describe('parseDescribe', () => {
  test('scontrol -o show job: state, reason, exit code:signal, host', () => {
    const s = parseDescribe('JobId=1 JobName=abc UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 StartTime=2026-11-25T15:42:12 EndTime=2026-11-25T15:42:15 NodeList=vm BatchHost=vm\n')!;
    assert.deepEqual([s.id, s.phase, s.state, s.reason, s.exitCode, s.host], ['1', 'failed', 'FAILED', 'NonZeroExitCode', 3, 'vm']);
    assert.equal(parseDescribe('JobId=2 JobState=CANCELLED Reason=None ExitCode=0:15 BatchHost=vm')!.exitCode, 143);
    assert.equal(parseDescribe('JobId=3 JobState=TIMEOUT Reason=TimeLimit ExitCode=0:0')!.phase, 'timeout');
    assert.equal(parseDescribe('JobId=4 JobState=OUT_OF_MEMORY ExitCode=0:125')!.phase, 'oom');
    assert.equal(parseDescribe('JobId=5 JobState=RUNNING Reason=None')!.phase, 'running');
    assert.equal(parseDescribe('slurm_load_jobs error: Invalid job id specified'), null);
  });
});

describe('parsePing', () => {
  test('usable nodes summed once each; down and drained nodes left out', () => {
    assert.deepEqual(parsePing('a|16|12052|idle\na|16|12052|idle\nb|8|4000|mix\nc|64|1000|down*\nd|4|100|drain\n'), { cpu: '24', memory: '16052Mi' });
    assert.throws(() => parsePing('c|64|1000|down*\n'), { code: 'EXECUTOR_FAILED' });
  });
});

describe('parseProbe (scontrol ping)', () => {
  test('reachable when a controller is UP, the primary or a backup; not when all are DOWN', () => {
    assert.deepEqual(slurmSystem({ commands: { scontrol: '/opt/slurm/bin/scontrol' } }).probeCommand!().argv, ['/opt/slurm/bin/scontrol', 'ping']);
    assert.equal(parseProbe({ stdout: 'Slurmctld(primary) at vm is UP\n' }), true);
    assert.equal(parseProbe({ stdout: 'Slurmctld(primary) at a is DOWN\nSlurmctld(backup) at b is UP\n' }), true);
    assert.equal(parseProbe({ stdout: 'Slurmctld(primary) at vm is DOWN\n*****************************************\n** RESTORE SLURMCTLD DAEMON TO SERVICE **\n' }), false);
    assert.equal(parseProbe({ stdout: '' }), false);
  });
});
