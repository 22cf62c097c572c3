/**
 * Chaos: the hub's PostgreSQL goes down (immediate shutdown, as a crash) for 3 s and comes back,
 * while users work and an admin writes. Users' servers keep answering (the proxy's edge cache
 * carries them); API calls during the outage fail cleanly (a 503 with a code, within their
 * deadline, never a hang or a 500); every write answered 201 is in the store afterwards; the
 * platform works after (API, a new server start, routes equal the store). A hub that dies with the
 * database is started again (as a service manager would) so that the rest is still checked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pgClient from 'pg';
import { http } from '../helpers/http.js';
import type { Platform } from '../helpers/platform.js';
import { findPostgresBin, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { apiLoad, failedCount, httpLoad, type Outcome, Tally, Traffic, type Generator } from '../helpers/traffic.js';
import { openStore, routeDrift, sleep, waitFor } from './consistency.js';
import { chaosPlatform, tinyUsers } from './setup.js';

const run = promisify(execFile);

/** pg_ctl as the user allowed to run it (postgres when we are root), as test/helpers/postgres.ts does. */
function pgCtl(pg: TestPostgres, args: string[]) {
  const exe = join(findPostgresBin(), 'pg_ctl');
  const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  return run(file, argv, { cwd: pg.dir, timeout: 60_000 });
}

function postmasterPid(pg: TestPostgres): number {
  try {
    return Number(readFileSync(join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
  } catch {
    return 0;
  }
}

/**
 * An admin creating users one by one: every 201 is a committed write, remembered in `committed`;
 * failures are counted like any request (a 503 with its code), a request past 5 s is hung.
 */
function writer(p: Platform, adminToken: string, committed: string[]): Generator {
  const tally = new Tally();
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      const name = `w${n++}`;
      const window = tally.current;
      const t0 = performance.now();
      const r = await Promise.race([
        http('POST', `${p.base}/hub/api/users/${name}`, { headers: { authorization: `token ${adminToken}` }, body: {} }).catch(() => null),
        sleep(5000).then(() => 'hung' as const),
      ]);
      if (r === 'hung') tally.hung(window);
      else if (r === null) tally.answered(performance.now() - t0, 'error', window);
      else if (r.status === 201) {
        committed.push(name);
        tally.answered(performance.now() - t0, null, window);
      } else {
        let code = '';
        try { code = String(r.json().code ?? ''); } catch { /* not JSON */ }
        tally.answered(performance.now() - t0, `${r.status} ${code}`.trim(), window);
      }
      await sleep(50);
    }
  })();
  return { name: 'writes', tally, async stop() { running = false; await done; } };
}

describe('chaos: PostgreSQL restart under traffic', () => {
  let pg: TestPostgres;
  let p: Platform;
  let db: string;
  let report: Record<string, Record<string, Outcome>>;
  const committed: string[] = [];
  let traffic: Traffic | undefined;
  let headers: Array<Record<string, string>>;
  let adminToken: string;
  /** How the hub process ended during the outage, or null while it runs. */
  let hubExit: string | null = null;
  let hubOutput = '';

  before(async () => {
    pg = await startPostgres();
    db = await pg.createDatabase('chaos');
    // The test server runs with synchronous_commit off (fast, not durable): an immediate shutdown
    // would then lose acknowledged commits by design. The hub's database must be durable to test
    // that nothing committed is lost.
    const admin = new pgClient.Client({ connectionString: pg.url });
    await admin.connect();
    try {
      await admin.query('alter database chaos set synchronous_commit = on');
    } finally {
      await admin.end();
    }
    p = await chaosPlatform({ hub: { db } });
    // Users exist in PostgreSQL first: `highrate token issue` (Platform.token) finds them there.
    adminToken = await p.token('admin');
    const made = await p.api('POST', '/hub/api/users', { token: adminToken }, { usernames: ['u1', 'u2', 'api1', 'api2'] });
    assert.equal(made.status, 201, made.text);
    headers = await tinyUsers(p, ['u1', 'u2']);
    const apiTokens = [await p.token('api1'), await p.token('api2')];

    traffic = new Traffic([
      httpLoad({ base: p.base, paths: ['/user/u1/api/status', '/user/u2/api/status'], headers, connections: 8, deadlineMs: 5000, pauseMs: 5 }),
      apiLoad({ base: p.base, tokens: apiTokens, deadlineMs: 5000, pauseMs: 50 }),
      writer(p, adminToken, committed),
    ]);
    await sleep(1500);
    traffic.phase('db down');
    await pgCtl(pg, ['-D', join(pg.dir, 'data'), '-m', 'immediate', '-w', '-t', '10', 'stop']);
    await sleep(3000);
    traffic.phase('db restarting');
    await pgCtl(pg, ['-D', join(pg.dir, 'data'), '-l', join(pg.dir, 'postgres.log'), '-w', '-t', '30', 'start']);
    // The pool may hold connections the restart broke: give the hub a moment to find new ones.
    await sleep(1000);
    if (p.child!.exitCode !== null || p.child!.signalCode !== null) {
      // The hub died with the database (a bug, asserted below): a service manager would start it
      // again, and so does the test, to check the rest.
      hubExit = `${p.child!.exitCode ?? p.child!.signalCode}`;
      hubOutput = p.output.slice(-3000);
      await p.startProcess();
    }
    traffic.phase('after');
    await sleep(3000);
    await traffic.stop();
    report = traffic.report();
    traffic = undefined;
  });
  after(async () => {
    await traffic?.stop();
    await p?.close();
    // The restarted postmaster has a new pid, which the helper's stop() does not know.
    const pid = postmasterPid(pg);
    if (pid > 0) try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
    await pg?.stop();
  });

  test('the hub process survives the outage', () => {
    assert.equal(hubExit, null, `the hub exited (${hubExit}): ${hubOutput}`);
  });

  test('requests to user servers: 0 failed, 0 hung', (t) => {
    t.diagnostic(JSON.stringify(report.http));
    for (const [w, o] of Object.entries(report.http!)) {
      assert.equal(failedCount(o) + o.hung, 0, `${w}: ${JSON.stringify(o)}`);
      assert.ok(o.ok > 0, w);
    }
  });

  test('API reads and writes during the outage: each a 503 with a code or a success, none hung, no 500', (t) => {
    t.diagnostic(JSON.stringify({ api: report.api, writes: report.writes }));
    for (const g of ['api', 'writes']) {
      for (const w of ['db down', 'db restarting']) {
        const o = report[g]![w]!;
        assert.equal(o.hung, 0, `${g} ${w}: ${JSON.stringify(o)}`);
        const unclean = Object.keys(o.failed).filter((k) => !/^503 [A-Z_]+$/.test(k));
        assert.deepEqual(unclean, [], `${g} ${w}: ${JSON.stringify(o)}`);
      }
    }
    assert.ok(failedCount(report.api!['db down']!) > 0, 'the outage was seen');
  });

  test('once PostgreSQL is back: API and writes succeed, no 5xx', (t) => {
    t.diagnostic(JSON.stringify({ api: report.api!.after, writes: report.writes!.after }));
    for (const g of ['api', 'writes']) {
      const o = report[g]!.after!;
      assert.deepEqual(o.failed, {}, `${g}: ${JSON.stringify(o)}`);
      assert.equal(o.hung, 0);
      assert.ok(o.ok > 0);
    }
  });

  test('nothing committed is lost; the platform works after (a new server starts, routes equal the store)', async () => {
    const store = await openStore(p, db);
    try {
      const { users } = await store.listUsers({ limit: 10_000 });
      const names = new Set(users.map((u) => u.name));
      const lost = committed.filter((n) => !names.has(n));
      assert.deepEqual(lost, [], `committed users lost (of ${committed.length})`);
      assert.ok(committed.length > 10);
    } finally {
      await store.close();
    }
    const token = await waitFor('a token for a new user', async () => {
      const made = await p.api('POST', '/hub/api/users/late/tokens', { token: adminToken }, { note: 'after the restart' });
      if (made.status === 404) await p.api('POST', '/hub/api/users/late', { token: adminToken }, {});
      return made.status === 201 ? (made.json().token as string) : null;
    }, 10_000, 200);
    await p.startServer('late', token, { profile: 'tiny' });
    assert.equal((await http('GET', `${p.base}/user/late/api/status`, { headers: { authorization: `token ${token}` } })).status, 200);
    const store2 = await openStore(p, db);
    try {
      assert.deepEqual(await routeDrift(p, store2), []);
    } finally {
      await store2.close();
    }
  });
});
