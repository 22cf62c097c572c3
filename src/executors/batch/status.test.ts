import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRecord } from './records.js';
import { batchPodStatus, type ContainerFiles, type JobFiles } from './status.js';
import type { BatchJobState } from './types.js';

const rec: JobRecord = {
  version: 1, uid: 'u1', name: 'pod', namespace: 'ns', jobId: '42', jobDir: '/jobs/u1', outputFile: '/jobs/u1.out',
  submittedAt: '2026-01-01T00:00:00Z',
  containers: [
    { kind: 'init', name: 'prep', image: 'img', notes: [] },
    { kind: 'run', name: 'main', image: 'img', notes: ['image "img" not honoured'] },
  ],
};
const files = (c: Record<string, ContainerFiles>, podExit?: number): JobFiles => ({ containers: new Map(Object.entries(c)), ...(podExit !== undefined ? { podExit } : {}) });
const job = (phase: BatchJobState['phase'], extra: Partial<BatchJobState> = {}): BatchJobState => ({ id: '42', phase, state: phase.toUpperCase(), ...extra });
const T0 = '2026-01-01T00:00:01Z';
const T1 = '2026-01-01T00:00:02Z';
const T2 = '2026-01-01T00:00:09Z';

describe('batchPodStatus', () => {
  test('before the first poll and while queued: waiting "Pending" with the job id and reason', () => {
    const a = batchPodStatus(rec, undefined, null);
    assert.equal(a.settled, false);
    assert.equal(a.status.JID, '42');
    assert.deepEqual(a.status.containers[0]!.state, { waiting: { reason: 'Pending', message: 'submitted as job 42; image "img" not honoured' } });
    assert.deepEqual(a.status.initContainers[0]!.state, { waiting: { reason: 'Pending', message: 'submitted as job 42' } });
    const q = batchPodStatus(rec, job('pending', { reason: 'Resources' }), files({}));
    assert.deepEqual(q.status.initContainers[0]!.state, { waiting: { reason: 'Pending', message: 'queued as job 42: Resources' } });
    assert.deepEqual(batchPodStatus(rec, job('pending'), null).status.initContainers[0]!.state.waiting, { reason: 'Pending', message: 'queued as job 42' });
  });

  test('running: the files give each container its state; not created yet is ContainerCreating/PodInitializing', () => {
    const empty = batchPodStatus(rec, job('running'), files({}));
    assert.deepEqual(empty.status.initContainers[0]!.state, { waiting: { reason: 'PodInitializing' } });
    assert.equal(empty.status.containers[0]!.state.waiting!.reason, 'PodInitializing');
    const r = batchPodStatus(rec, job('running'), files({ 'init-prep': { startedAt: T0, exitCode: 0, finishedAt: T1 }, 'run-main': { startedAt: T1 } }));
    assert.deepEqual(r.status.initContainers[0]!.state, { terminated: { exitCode: 0, reason: 'Completed', startedAt: T0, finishedAt: T1 } });
    assert.deepEqual(r.status.containers[0], { name: 'main', image: 'img', imageID: '', restartCount: 0, state: { running: { startedAt: T1 } }, ready: true, started: true });
    assert.equal(r.settled, false);
  });

  test('terminal: exact exit codes from .status files, whatever the job state', () => {
    const t = batchPodStatus(rec, job('failed', { exitCode: 7 }), files({ 'init-prep': { startedAt: T0, exitCode: 0, finishedAt: T1 }, 'run-main': { startedAt: T1, exitCode: 7, finishedAt: T2 } }, 7));
    assert.equal(t.settled, true);
    assert.deepEqual(t.status.containers[0]!.state, { terminated: { exitCode: 7, reason: 'Error', startedAt: T1, finishedAt: T2, message: 'image "img" not honoured' } });
  });

  test('time limit, OOM and cancel: containers killed with the job say so', () => {
    const started = files({ 'init-prep': { startedAt: T0, exitCode: 0, finishedAt: T1 }, 'run-main': { startedAt: T1 } });
    const to = batchPodStatus(rec, job('timeout', { state: 'TO', reason: 'TimeLimit', finishedAt: T2 }), started).status.containers[0]!.state.terminated!;
    assert.deepEqual(to, { exitCode: 143, reason: 'SlurmJobTimeout', startedAt: T1, finishedAt: T2, message: 'job 42 ended (TO: TimeLimit) without recording this container\'s exit; image "img" not honoured' });
    const oom = batchPodStatus(rec, job('oom', { state: 'OOM', exitCode: 0 }), started).status.containers[0]!.state.terminated!;
    assert.deepEqual([oom.exitCode, oom.reason], [137, 'OOMKilled']);
    const ca = batchPodStatus(rec, job('cancelled', { state: 'CA' }), started).status.containers[0]!.state.terminated!;
    assert.deepEqual([ca.exitCode, ca.reason], [143, 'Error']);
    // A container that recorded its own exit under a timed-out job keeps its code, with the job's reason.
    const own = batchPodStatus(rec, job('timeout'), files({ 'run-main': { startedAt: T1, exitCode: 143, finishedAt: T2 } })).status.containers[0]!.state.terminated!;
    assert.deepEqual([own.exitCode, own.reason], [143, 'SlurmJobTimeout']);
  });

  test('never started: after a failed init container, or a job that ended (cancelled in the queue) first', () => {
    const initFailed = batchPodStatus(rec, job('failed', { exitCode: 3 }), files({ 'init-prep': { startedAt: T0, exitCode: 3, finishedAt: T1 } }, 3)).status;
    assert.deepEqual(initFailed.initContainers[0]!.state.terminated, { exitCode: 3, reason: 'Error', startedAt: T0, finishedAt: T1 });
    assert.deepEqual(initFailed.containers[0]!.state.terminated, { exitCode: 1, reason: 'ContainerCannotRun', message: 'not started: init container "prep" failed; image "img" not honoured' });
    const cancelled = batchPodStatus(rec, job('cancelled', { state: 'CA', finishedAt: T2 }), files({})).status;
    assert.deepEqual(cancelled.initContainers[0]!.state.terminated, { exitCode: 1, reason: 'ContainerCannotRun', finishedAt: T2, message: 'not started: job 42 ended (CA) first' });
  });

  test('job files not readable from the hub (no shared file system): the job state stands for each container', () => {
    const run = batchPodStatus(rec, job('running', { startedAt: T0 }), null).status;
    assert.deepEqual(run.containers[0]!.state, { running: { startedAt: T0 } });
    const end = batchPodStatus(rec, job('failed', { state: 'F', reason: 'NonZeroExitCode', exitCode: 2, startedAt: T0, finishedAt: T2 }), null);
    assert.equal(end.settled, true);
    assert.deepEqual(end.status.containers[0]!.state.terminated, {
      exitCode: 2, reason: 'Error', startedAt: T0, finishedAt: T2,
      message: 'job 42 ended (F: NonZeroExitCode); its files are not readable from the hub, so the exit code is the job\'s; image "img" not honoured',
    });
  });
});
