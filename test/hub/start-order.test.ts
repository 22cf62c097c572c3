/**
 * Start and stop in order (issue 14), with `highrate up` as its own process: clients poll
 * `/hub/api/` through the public port from the first millisecond of each start and every request
 * is answered (200, or 503 HUB_STARTING) within its deadline, none hangs; "running" is printed
 * only once the public port answers; a SIGKILLed hub leaves the proxy answering 503 within 1 s
 * until it is back; SIGTERM lets a request in flight finish.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { freePortPair, Platform } from '../helpers/platform.js';
import { pidAlive as isAlive } from '../helpers/processes.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A request not answered within this long is hung (the bug: accepted, never answered). */
const DEADLINE_MS = 3000;

interface Tally {
  ok: number;
  starting: number;
  refused: number;
  other: string[];
  hung: number;
  /** Latency of the slowest answered request, ms. */
  slowest: number;
}

function newTally(): Tally {
  return { ok: 0, starting: 0, refused: 0, other: [], hung: 0, slowest: 0 };
}

/** One GET /hub/api/ with `agent` (a fresh connection or a kept-alive one), classified into `t`. */
function poll(base: string, agent: http.Agent | false, t: Tally): Promise<void> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.get(`${base}/hub/api/`, { agent, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        t.slowest = Math.max(t.slowest, Date.now() - started);
        const body = Buffer.concat(chunks).toString();
        let code: unknown;
        try {
          code = (JSON.parse(body) as { code?: unknown }).code;
        } catch {
          code = undefined;
        }
        if (res.statusCode === 200) t.ok++;
        else if (res.statusCode === 503 && code === 'HUB_STARTING' && res.headers['retry-after'] === '1') t.starting++;
        else t.other.push(`${res.statusCode} ${body.slice(0, 120)}`);
        resolve();
      });
      res.on('error', () => {
        t.other.push('response error');
        resolve();
      });
    });
    const timer = setTimeout(() => {
      t.hung++;
      req.destroy();
      resolve();
    }, DEADLINE_MS);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // Refused: nothing listens (the proxy itself is being replaced): an answer, not a hang.
      if (err.code === 'ECONNREFUSED') t.refused++;
      else if (err.code !== 'ECONNRESET' || !req.destroyed) t.other.push(err.code ?? err.message);
      resolve();
    });
  });
}

/** Clients polling until stopped: one on fresh connections, one on a kept-alive connection. */
function startPollers(base: string, t: Tally): { stop(): Promise<void> } {
  let running = true;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = async (agent: http.Agent | false) => {
    while (running) {
      await poll(base, agent, t);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const loops = [loop(false), loop(keepAlive)];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      keepAlive.destroy();
    },
  };
}

describe('start and stop in order (highrate up as a process)', () => {
  let p: Platform;

  before(async () => {
    // A fixed hub port, as deployments have: the proxy is reused across hub restarts.
    const hubPort = await freePortPair();
    p = await Platform.start({ process: true, config: { hub: { hubPort } } });
  });
  after(async () => {
    await p?.close();
  });

  async function stopHub(signal: NodeJS.Signals): Promise<void> {
    const child = p.child!;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  function proxyPid(): number {
    return JSON.parse(readFileSync(join(p.dataDir, 'run', 'proxy.json'), 'utf8')).pid as number;
  }

  test('the hub starts its proxy with the deadlines of the config (proxy.targetTimeout, connectTimeout, wsPingInterval)', () => {
    const argv = readFileSync(`/proc/${proxyPid()}/cmdline`, 'utf8').split('\0');
    const flag = (name: string) => argv[argv.indexOf(name) + 1];
    assert.deepEqual([flag('--target-timeout'), flag('--connect-timeout'), flag('--ws-ping-interval')], ['60000', '10000', '30000']);
  });

  test('10 starts polled from the first millisecond: every request answered (200 or 503 starting), none hung; "running" only once the public port answers', async () => {
    const t = newTally();
    for (let i = 0; i < 10; i++) {
      // Every third start also loses the proxy, so the start includes starting a new one.
      const newProxy = i % 3 === 2;
      await stopHub(i % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
      if (newProxy) {
        const pid = proxyPid();
        process.kill(pid, 'SIGKILL');
        while (isAlive(pid)) await new Promise((r) => setTimeout(r, 10));
      }
      const pollers = startPollers(p.base, t);
      const started = p.startProcess();
      // The moment "running" is printed, a request through the public port must succeed.
      let runningSeen: Promise<number | undefined> = new Promise((resolve) => {
        let out = '';
        p.child!.stdout!.on('data', function onOut(d: Buffer) {
          out += d.toString();
          if (out.includes('highrate is running at')) {
            p.child!.stdout!.off('data', onOut);
            http.get(`${p.base}/hub/api/`, { agent: false }, (res) => {
              res.resume();
              resolve(res.statusCode);
            }).on('error', () => resolve(undefined));
          }
        });
      });
      await started;
      assert.equal(await runningSeen, 200, `start ${i}: the public port answers when "running" is printed`);
      runningSeen = Promise.resolve(undefined);
      // Keep polling a moment after "running" (the first second).
      await new Promise((r) => setTimeout(r, 300));
      await pollers.stop();
    }
    assert.equal(t.hung, 0, `hung requests: ${JSON.stringify(t)}`);
    assert.deepEqual(t.other, [], `unexpected answers: ${JSON.stringify(t)}`);
    assert.ok(t.ok >= 10 && t.starting >= 10, `polled through each start: ${JSON.stringify(t)}`);
    assert.ok(t.slowest < DEADLINE_MS, `slowest answer ${t.slowest} ms`);
  });

  test('hub SIGKILL: the API answers 503 HUB_STARTING within 1 s until the hub is back, then 200 and no 5xx', async () => {
    await stopHub('SIGKILL');
    // One client polling on fresh connections through the kill, the restart and after.
    const answers: Array<{ status: number | string; ms: number }> = [];
    let polling = true;
    const loop = (async () => {
      while (polling) {
        const t = newTally();
        const t0 = Date.now();
        await poll(p.base, false, t);
        answers.push({ status: t.ok ? 200 : t.starting ? 503 : t.hung ? 'hung' : t.refused ? 'refused' : String(t.other[0]), ms: Date.now() - t0 });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await p.startProcess();
    await new Promise((r) => setTimeout(r, 500));
    polling = false;
    await loop;
    const firstOk = answers.findIndex((a) => a.status === 200);
    assert.ok(firstOk > 5, `503s while the hub was down: ${JSON.stringify(answers.slice(0, 8))}`);
    assert.deepEqual(answers.slice(0, firstOk).filter((a) => a.status !== 503 || a.ms >= 1000), [], 'every answer while down: 503 within 1 s');
    assert.deepEqual(answers.slice(firstOk).filter((a) => a.status !== 200), [], 'no 5xx once back');
  });

  test('SIGTERM drains: a request in flight is answered, new ones get 503 starting, then the hub exits 0', async () => {
    const token = await p.token('admin', ['admin:users']);
    // A request in flight: its body is sent in two parts, the second only once the hub is draining.
    let finishBody = (): void => undefined;
    const inflight = new Promise<number>((resolve, reject) => {
      const req = http.request(`${p.base}/hub/api/users`, {
        method: 'POST', agent: false, headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write('{"usernames": [');
      finishBody = () => req.end('"drained-user"]}');
    });
    await new Promise((r) => setTimeout(r, 300));
    const child = p.child!;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    // New requests: answered (never hung), and 503 starting once the hub stopped accepting.
    const during = newTally();
    const until = Date.now() + 5000;
    while (during.starting === 0 && Date.now() < until) await poll(p.base, false, during);
    assert.equal(during.starting, 1, `a new request while draining: ${JSON.stringify(during)}`);
    assert.equal(during.hung + during.other.length, 0, JSON.stringify(during));
    finishBody();
    assert.equal(await inflight, 201, 'the request in flight was answered');
    assert.equal(await exited, 0);
  });
});


