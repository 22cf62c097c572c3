import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';
import { ensureSlurm, jobState, liveJobsNamed } from '../helpers/slurm.js';

/**
 * A notebook server as a Slurm job, end to end: started through the API on a Slurm profile, it
 * waits in the queue behind a job that holds the whole node (the progress says so, and the wait
 * does not count against the profile's 10 s start timeout), reports its address to the hub from
 * the node, is used through the proxy (a kernel prints 42), and its job is gone once stopped.
 * A job that dies before reporting its address fails the start with its log.
 */
describe('notebook server on Slurm', () => {
  let p: Platform;
  const blockers: string[] = [];
  const podUids: string[] = [];

  before(async () => {
    ensureSlurm();
    p = await Platform.start({
      users: [{ name: 'alice' }],
      config: {
        executors: [
          { name: 'local', kind: 'local' },
          { name: 'hpc', kind: 'slurm', slurm: { pollInterval: 0.5 } },
        ],
        profiles: [
          { name: 'batch', default: true, executor: 'hpc', cores: { choices: [1] }, memory: { choices: ['1G'] }, startTimeout: 10 },
          // The wrapper cannot bind this documentation address: the job dies before it reports.
          { name: 'broken', executor: 'hpc', cores: { choices: [1] }, memory: { choices: ['1G'] }, env: { HIGHRATE_LISTEN_IP: '192.0.2.1' } },
        ],
      },
    });
  });
  after(async () => {
    try {
      await p?.close();
    } finally {
      const left = [...blockers, ...liveJobsNamed(podUids)];
      if (left.length) execFileSync('scancel', left);
    }
  });

  async function podUidOf(user: string, server: string): Promise<string> {
    const store = await p.openStore();
    try {
      return (await store.getServer(user, server))!.podUid!;
    } finally {
      await store.close();
    }
  }

  test('queued, started, reached through the proxy, stopped: the job is gone', async () => {
    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    // A job holding every CPU of the node for 12 s: the notebook's job queues behind it.
    const cpus = execFileSync('sinfo', ['--noheader', '-o', '%c'], { encoding: 'utf8' }).trim();
    blockers.push(execFileSync('sbatch', ['--parsable', `--cpus-per-task=${cpus}`, '--mem=64M', '--output=/dev/null', '--wrap', 'sleep 12'], { encoding: 'utf8' }).trim());
    const t0 = Date.now();
    const start = await p.api('POST', '/hub/api/users/alice/server', { token }, { profile: 'batch', cores: 1, memory: '1G' });
    assert.equal(start.status, 202, start.text);
    const uid = await podUidOf('alice', '');
    podUids.push(uid);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', auth);
    const took = Date.now() - t0;
    assert.equal(events.at(-1).ready, true, JSON.stringify(events));
    assert.ok(took > 10_000, `the queue wait (${took} ms) was longer than the start timeout, and did not count`);
    const messages = events.map((e) => e.message);
    const queued = messages.find((m) => /^Pending: queued as job \d+: Resources$/.test(m));
    assert.ok(queued, `progress shows the queue wait: ${JSON.stringify(messages)}`);
    assert.equal(messages.filter((m) => m === queued).length, 1, 'each waiting message once');
    assert.ok(messages.some((m) => /^Server reported 127\.0\.0\.1:\d+; waiting for it to answer$/.test(m)), JSON.stringify(messages));
    const jobId = /job (\d+)/.exec(queued!)![1]!;
    assert.equal(jobState(jobId), 'RUNNING');

    const model = (await p.api('GET', '/hub/api/users/alice', { token })).json();
    assert.equal(model.servers[''].ready, true);
    const kernel = await startKernel(p.base, '/user/alice/', auth);
    const ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    try {
      assert.equal(await execute(ws, 'print(6*7)'), '42\n');
      assert.equal(await execute(ws, 'import os; print(os.environ["SLURM_JOB_ID"], "HIGHRATE_CALLBACK_TOKEN" in os.environ)'), `${jobId} False\n`);
    } finally {
      ws.close();
    }

    // The callback endpoint: only the workload's own token, only a well-formed address.
    const url = `${p.base}/hub/api/workloads/${uid}/address`;
    assert.equal((await http('POST', url, { body: { host: '127.0.0.1', port: 1 } })).status, 401);
    const wrong = await http('POST', url, { headers: { authorization: `token ${token}` }, body: { host: '127.0.0.1', port: 1 } });
    assert.deepEqual([wrong.status, wrong.json().code], [403, 'FORBIDDEN']);
    const bad = await http('POST', url, { headers: { authorization: 'token x' }, body: { host: 'a b', port: 99999 } });
    assert.deepEqual([bad.status, bad.json().code], [400, 'BAD_REQUEST']);

    const stop = await p.api('DELETE', '/hub/api/users/alice/server', { token });
    assert.equal(stop.status, 204);
    assert.deepEqual(liveJobsNamed([uid]), [], 'the job left the queue');
    assert.equal(jobState(jobId), 'CANCELLED');
    assert.equal((await p.api('GET', '/user/alice/api/status', { token })).status, 424);
  });

  test('a job that dies before reporting its address fails the start with its log', async () => {
    const token = await p.token('alice');
    const start = await p.api('POST', '/hub/api/users/alice/servers/broken', { token }, { profile: 'broken', cores: 1, memory: '1G' });
    assert.ok([202, 500].includes(start.status), start.text);
    podUids.push(await podUidOf('alice', 'broken'));
    const events = await readProgress(p.base, '/hub/api/users/alice/servers/broken/progress', { authorization: `token ${token}` });
    const last = events.at(-1);
    assert.equal(last.failed, true, JSON.stringify(events));
    assert.match(last.message, /^Spawn failed: The server exited with code 1 /);
    assert.match(last.message, /Last lines of the server's log:\n[\s\S]*Cannot assign requested address/);
    const model = (await p.api('GET', '/hub/api/users/alice', { token })).json();
    assert.equal(model.servers.broken, undefined);
  });
});
