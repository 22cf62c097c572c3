/**
 * Chaos: the Slurm controller (slurmctld) stops for a few seconds and restarts while a user works
 * on a server running as a Slurm job and another starts one. Running jobs are not the
 * controller's: the server keeps answering (0 failed, 0 hung) and the hub does not mark it dead
 * (an executor that cannot answer never stops servers). A start asked for during the outage ends
 * cleanly: 503 UPSTREAM_UNAVAILABLE with Retry-After within 5 s (the executor pings the controller
 * before sbatch), never a hang. After the
 * restart the platform works: both servers run, routes equal the store, a stop removes the job.
 *
 * The controller is stopped with SIGTERM (it saves its state, as a service restart does), not
 * SIGKILL: the development Slurm is shared by the other test files running at the same time, and
 * a SIGKILL may lose their just-submitted jobs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http } from '../helpers/http.js';
import { readProgress } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { pidAlive as alive } from '../helpers/processes.js';
import { ensureSlurm, liveJobsNamed } from '../helpers/slurm.js';
import { failedCount, httpLoad, Traffic, type Outcome } from '../helpers/traffic.js';
import { openStore, routeDrift, sleep, waitFor } from './consistency.js';

const CTLD_PID = '/run/highrate-slurmctld.pid';

function ctldPid(): number {
  try { return Number(readFileSync(CTLD_PID, 'utf8').trim()) || 0; } catch { return 0; }
}


function controllerUp(): boolean {
  try {
    return /UP/.test(execFileSync('scontrol', ['ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }));
  } catch {
    return false;
  }
}

describe('chaos: Slurm controller restart under traffic', () => {
  let p: Platform;
  let traffic: Traffic | undefined;
  const podUids: string[] = [];
  let alice: string;
  let bob: string;
  let start: { status: number; text: string; ms: number; retryAfter: string | null };
  let events: any[] | null;
  let report: Record<string, Record<string, Outcome>>;

  before(async () => {
    ensureSlurm();
    p = await Platform.start({
      config: {
        executors: [{ name: 'local', kind: 'local' }, { name: 'hpc', kind: 'slurm', slurm: { pollInterval: 0.5 } }],
        profiles: [{ name: 'batch', default: true, executor: 'hpc', command: tinyServerCommand(), cores: { choices: [1] }, memory: { choices: ['256M'] } }],
      },
    });
    alice = await p.token('alice');
    await p.startServer('alice', alice, { profile: 'batch', cores: 1, memory: '256M' });
    podUids.push(await podUid('alice'));
    bob = await p.token('bob');
    traffic = new Traffic([httpLoad({ base: p.base, paths: ['/user/alice/api/status'], headers: [{ authorization: `token ${alice}` }], connections: 4, deadlineMs: 5000, pauseMs: 20 })]);
    await sleep(1000);

    traffic.phase('controller down');
    const pid = ctldPid();
    assert.ok(pid > 0 && alive(pid), 'slurmctld runs');
    process.kill(pid, 'SIGTERM');
    await waitFor('slurmctld to exit', async () => !alive(pid), 30_000, 50);
    try {
      const t0 = Date.now();
      const r = await Promise.race([
        p.api('POST', '/hub/api/users/bob/server', { token: bob }, { profile: 'batch', cores: 1, memory: '256M' }),
        sleep(60_000).then(() => null),
      ]);
      start = r ? { status: r.status, text: r.text, ms: Date.now() - t0, retryAfter: String(r.headers['retry-after'] ?? '') || null } : { status: 0, text: 'no answer within 60 s', ms: 60_000, retryAfter: null };
      // Longer than the hub's reconcile interval (2 s): the reconciler meets an unreachable executor.
      await sleep(5000);
      traffic.phase('controller back');
    } finally {
      execFileSync('/usr/sbin/slurmctld', [], { stdio: 'ignore', timeout: 30_000 });
    }
    await waitFor('the controller to answer', async () => controllerUp(), 30_000, 200);
    events = await Promise.race([start.status === 202 ? readProgress(p.base, '/hub/api/users/bob/server/progress', { authorization: `token ${bob}` }) : Promise.resolve([]), sleep(120_000).then(() => null)]);
    await sleep(3000);
    await traffic.stop();
    report = traffic.report();
    traffic = undefined;
  });
  after(async () => {
    await traffic?.stop();
    // Whatever happened, the controller runs again for the other test files.
    if (!controllerUp()) ensureSlurm();
    try {
      await p?.close();
    } finally {
      const left = liveJobsNamed(podUids);
      if (left.length) execFileSync('scancel', left);
    }
  });

  async function podUid(user: string): Promise<string> {
    const store = await openStore(p);
    try { return (await store.getServer(user, ''))!.podUid!; } finally { await store.close(); }
  }

  test('the running server (a Slurm job) keeps answering: 0 failed, 0 hung; the hub keeps it running', async (t) => {
    t.diagnostic(JSON.stringify(report));
    for (const [w, o] of Object.entries(report.http!)) {
      assert.equal(failedCount(o) + o.hung, 0, `alice's server, ${w}: ${JSON.stringify(o)}`);
      assert.ok(o.ok > 0, w);
    }
    const model = (await p.api('GET', '/hub/api/users/alice', { token: alice })).json();
    assert.equal(model.servers['']?.ready, true, `alice's server still running: ${JSON.stringify(model.servers)}`);
  });

  // Before: 500 SPAWN_FAILED after sbatch's own ≈ 9 s of retries; then 503 but still after them
  // unless the executor's last poll had seen the outage. Now the executor asks `scontrol ping`
  // (0.2 s, 3 s deadline) before every sbatch.
  test('a start during the outage: 503 UPSTREAM_UNAVAILABLE with Retry-After within 5 s, nothing submitted', (t) => {
    t.diagnostic(`start during the outage: ${start.status} after ${start.ms} ms: ${start.text.slice(0, 300)}; progress: ${JSON.stringify(events?.at(-1) ?? null)}`);
    assert.equal(start.status, 503, start.text);
    assert.equal(JSON.parse(start.text).code, 'UPSTREAM_UNAVAILABLE', start.text);
    assert.equal(start.retryAfter, '30');
    assert.ok(start.ms < 5000, `answered in ${start.ms} ms`);
  });

  test('a start during the outage ends with a clear message and no hang', (t) => {
    t.diagnostic(`${start.status} after ${start.ms} ms`);
    assert.notEqual(start.status, 0, 'answered within 60 s');
    assert.ok(start.ms < 30_000, `${start.ms} ms`);
    if (start.status !== 202) {
      const body = JSON.parse(start.text) as { code?: string; message?: string };
      assert.equal(typeof body.code, 'string');
      assert.match(body.message ?? '', /slurm controller|Slurm/i, 'the message says what is wrong');
    } else {
      assert.ok(events !== null, 'its progress ended');
    }
  });

  test('after the restart: a new start works, routes equal the store, a stop removes the job', async () => {
    const bobModel = (await p.api('GET', '/hub/api/users/bob', { token: bob })).json();
    if (bobModel.servers['']?.ready !== true) await p.startServer('bob', bob, { profile: 'batch', cores: 1, memory: '256M' });
    podUids.push(await podUid('bob'));
    assert.equal((await http('GET', `${p.base}/user/bob/api/status`, { headers: { authorization: `token ${bob}` } })).status, 200);
    const store = await openStore(p);
    try {
      assert.deepEqual(await routeDrift(p, store), []);
    } finally {
      await store.close();
    }
    const uid = await podUid('alice');
    const stop = await p.api('DELETE', '/hub/api/users/alice/server', { token: alice });
    assert.ok([202, 204].includes(stop.status), stop.text);
    await waitFor('alice\'s job gone', async () => liveJobsNamed([uid]).length === 0, 30_000, 250);
  });
});
