import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http, type Reply } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

const TINY = tinyServerCommand();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items`, at most `n` at once. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

/** Waits until every one of `users` has its default server ready (the user model says so). */
async function allReady(p: Platform, admin: string, users: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let waiting = users;
  while (waiting.length) {
    const states = await pool(waiting, 20, async (u) => (await p.api('GET', `/hub/api/users/${u}`, { token: admin })).json());
    const failed = states.filter((s) => s.servers?.['']?.ready !== true && s.servers?.['']?.pending !== 'spawn');
    assert.deepEqual(failed.map((s) => s.name), [], `servers that neither run nor start: ${JSON.stringify(failed.map((s) => s.servers))}`);
    waiting = states.filter((s) => s.servers?.['']?.ready !== true).map((s) => s.name);
    if (Date.now() > deadline) assert.fail(`not ready after ${timeoutMs} ms: ${waiting.join(', ')}`);
    if (waiting.length) await sleep(250);
  }
}

function assertSpawnLimited(r: Reply): { position: number; retryAfter: number } {
  assert.equal(r.status, 429, r.text);
  const body = r.json();
  assert.equal(body.status, 429, 'JupyterHub clients read status and message');
  assert.equal(body.code, 'SPAWN_LIMIT');
  assert.match(body.message, /^Too many users trying to log in right now\. Try again in \d+0 seconds\. (You are next in line\.|\d+ users? (is|are) ahead of you\.)$/);
  const retryAfter = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 10 && retryAfter <= 66, `Retry-After ${r.headers['retry-after']}`);
  assert.equal(body.retryAfter, retryAfter);
  const ahead = body.position - 1;
  assert.ok(body.message.endsWith(ahead === 0 ? 'You are next in line.' : ahead === 1 ? '1 user is ahead of you.' : `${ahead} users are ahead of you.`), body.message);
  return { position: body.position, retryAfter };
}

/**
 * 300 users press Start at the same moment with a spawn limit of 20 (JupyterHub's
 * concurrent_spawn_limit): 20 start, 280 are told to come back, in a line; nothing fails.
 */
describe('concurrent spawn limit', () => {
  let p: Platform;
  let admin: string;
  const users = Array.from({ length: 300 }, (_, i) => `student${String(i).padStart(3, '0')}`);
  const tokens = new Map<string, string>();

  before(async () => {
    p = await Platform.start({
      config: {
        hub: { concurrentSpawnLimit: 20, spawnRetryAfterMin: 10, spawnRetryAfterMax: 60 },
        // Each start lasts 3 s, longer than the 300 requests take to arrive even on a busy
        // machine, so the first 20 are all still starting when the rest come (with servers that
        // listen at once, the first starts ended before the 20th arrived: a peak of 14 under load).
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand('--delay=3') }],
      },
    });
    admin = await p.token('admin');
    const made = await p.api('POST', '/hub/api/users', { token: admin }, { usernames: users });
    assert.equal(made.status, 201, made.text);
    // Each student with a token of their own (an admin is exempt from rate limits; students are not).
    await pool(users, 10, async (u) => {
      const r = await p.api('POST', `/hub/api/users/${u}/tokens`, { token: admin }, { note: 'admission test' });
      assert.equal(r.status, 201, r.text);
      tokens.set(u, r.json().token);
    });
  });
  after(async () => { await p?.close(); });

  test('300 concurrent starts: 20 accepted and ready, 280 refused with 429, Retry-After and a place in line', async () => {
    const t0 = Date.now();
    // The hub runs in this process: its high-water mark of starts in flight (a timer sampling
    // `starting` missed the peak under load: it lasts less than one turn of a busy event loop).
    const admission = p.hub!.hub.servers.admission;
    const replies = await Promise.all(users.map((u) => p.api('POST', `/hub/api/users/${u}/server`, { token: tokens.get(u)! }, {})));
    const most = admission.peak;
    const statuses = new Map<number, number>();
    for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const accepted = users.filter((_, i) => [201, 202].includes(replies[i]!.status));
    const refused = users.filter((_, i) => replies[i]!.status === 429);
    assert.deepEqual([...statuses.keys()].filter((s) => s >= 500), [], `no 5xx: ${JSON.stringify([...statuses])}`);
    assert.equal(most, 20, 'the limit was reached and never exceeded');
    // A slot or two may free up before the last requests arrive.
    assert.ok(accepted.length >= 20 && accepted.length <= 150, `statuses: ${JSON.stringify([...statuses])}`);
    assert.equal(accepted.length + refused.length, 300);
    // Every refused start has its own place: 1 … n, in the order the hub saw them.
    const places = new Map<string, number>();
    for (const u of refused) places.set(u, assertSpawnLimited(replies[users.indexOf(u)]!).position);
    assert.deepEqual([...places.values()].sort((a, b) => a - b), Array.from({ length: refused.length }, (_, i) => i + 1));
    assert.equal(admission.waiting, refused.length);

    await allReady(p, admin, accepted, 90_000);
    const firstRound = Date.now() - t0;
    assert.equal(admission.starting, 0);

    // The line holds: with every slot free, 21st in line still waits for the 20 before it.
    const byPlace = [...places].sort((a, b) => a[1] - b[1]).map(([u]) => u);
    const early = byPlace[20]!;
    assert.equal(assertSpawnLimited(await p.api('POST', `/hub/api/users/${early}/server`, { token: tokens.get(early)! }, {})).position, 21);
    const second = await Promise.all(byPlace.slice(0, 20).map((u) => p.api('POST', `/hub/api/users/${u}/server`, { token: tokens.get(u)! }, {})));
    assert.deepEqual(second.map((r) => r.status).filter((s) => s !== 201 && s !== 202), [], second.map((r) => r.text).join('\n').slice(0, 500));
    // The 20 admitted left the line; the 21st, now first, gets in.
    assert.equal(admission.waiting, refused.length - 20);
    // A starter who gives up (the portal's "Stop waiting" sends a stop) leaves the line at once.
    const quitter = byPlace[21]!;
    assert.equal((await p.api('DELETE', `/hub/api/users/${quitter}/server`, { token: tokens.get(quitter)! })).status, 204);
    assert.equal(admission.waiting, refused.length - 21);
    assert.ok([201, 202].includes((await p.api('POST', `/hub/api/users/${early}/server`, { token: tokens.get(early)! }, {})).status));
    const started = [...accepted, ...byPlace.slice(0, 21)];
    await allReady(p, admin, started, 90_000);

    // Every started server stops.
    const stops = await pool(started, 20, (u) => p.api('DELETE', `/hub/api/users/${u}/server`, { token: admin }));
    assert.deepEqual(stops.map((r) => r.status).filter((s) => s !== 204 && s !== 202), []);
    await p.hub!.hub.servers.settle();
    const store = await p.openStore();
    try {
      assert.deepEqual((await store.listActiveServers()).map((r) => r.user), []);
    } finally {
      await store.close();
    }
    console.log(`# 300 starts, limit 20: ${accepted.length} accepted, ready after ${firstRound} ms; ${started.length} stopped after ${Date.now() - t0} ms`);
  });
});

/** JupyterHub's active_server_limit, and the API's request rate limits. */
describe('active server limit and rate limits', () => {
  let p: Platform;
  let admin: string;

  before(async () => {
    p = await Platform.start({
      config: {
        hub: {
          activeServerLimit: 2,
          apiRateLimit: { userRate: 2, userBurst: 5, ipRate: 1, ipBurst: 3 },
        },
        profiles: [{ name: 'tiny', default: true, command: TINY }],
      },
    });
    admin = await p.token('admin');
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['a1', 'a2', 'a3', 'rl'] })).status, 201);
  });
  after(async () => { await p?.close(); });

  test('past activeServerLimit a start gets 429 ACTIVE_SERVER_LIMIT with Retry-After; a stop makes room', async () => {
    for (const u of ['a1', 'a2']) assert.equal((await p.api('POST', `/hub/api/users/${u}/server`, { token: admin }, {})).status, 201);
    const r = await p.api('POST', '/hub/api/users/a3/server', { token: admin }, {});
    assert.equal(r.status, 429, r.text);
    assert.equal(r.json().code, 'ACTIVE_SERVER_LIMIT');
    assert.equal(r.json().message, 'Active user limit exceeded: 2 servers are running or starting. Try again in a few minutes.');
    assert.ok(Number(r.headers['retry-after']) >= 60, `Retry-After ${r.headers['retry-after']}`);
    // A request that is wrong anyway is told so first (400, as JupyterHub), not 429.
    assert.equal((await p.api('POST', '/hub/api/users/a1/server', { token: admin }, {})).json().code, 'SERVER_ALREADY_RUNNING');
    assert.equal((await p.api('DELETE', '/hub/api/users/a1/server', { token: admin })).status, 204);
    assert.equal((await p.api('POST', '/hub/api/users/a3/server', { token: admin }, {})).status, 201);
    for (const u of ['a2', 'a3']) assert.equal((await p.api('DELETE', `/hub/api/users/${u}/server`, { token: admin })).status, 204);
  });

  test('a user past their rate gets 429 RATE_LIMITED with Retry-After, and is served again after it', async () => {
    const rl = (await p.api('POST', '/hub/api/users/rl/tokens', { token: admin }, {})).json().token as string;
    // rl's server, started by the admin (exempt), reached through the proxy once rl is limited.
    assert.equal((await p.api('POST', '/hub/api/users/rl/server', { token: admin }, {})).status, 201);
    const replies: Reply[] = [];
    for (let i = 0; i < 8; i++) replies.push(await p.api('GET', '/hub/api/user', { token: rl }));
    const firstRefused = replies.findIndex((r) => r.status === 429);
    // A burst of 5 (plus what 2/s refilled while the requests ran).
    assert.ok(firstRefused >= 5 && firstRefused <= 7, `statuses ${replies.map((r) => r.status)}`);
    const refusal = replies[firstRefused]!;
    assert.equal(refusal.json().code, 'RATE_LIMITED');
    assert.equal(refusal.json().message, 'Too many requests from you; retry in 1 s.');
    assert.equal(refusal.headers['retry-after'], '1');
    // All of a user's credentials share one bucket: a second token buys nothing.
    const rl2 = (await p.api('POST', '/hub/api/users/rl/tokens', { token: admin }, {})).json().token as string;
    assert.equal((await p.api('GET', '/hub/api/user', { token: rl2 })).status, 429);
    // The admin and the proxy's edge checks are not limited: rl's own server still answers rl.
    assert.equal((await p.api('GET', '/hub/api/users/rl', { token: admin })).status, 200);
    const viaProxy = await http('GET', `${p.base}/user/rl/ping`, { headers: { authorization: `token ${rl}` } });
    assert.equal(viaProxy.status, 200, viaProxy.text);
    await sleep(Number(refusal.headers['retry-after']) * 1000);
    const again = await p.api('GET', '/hub/api/user', { token: rl });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json().name, 'rl');
    assert.equal((await p.api('DELETE', '/hub/api/users/rl/server', { token: admin })).status, 204);
  });

  test('requests without a credential are limited by client address', async () => {
    // Straight to the hub, as from behind the proxy: the address is X-Forwarded-For's last entry.
    const hubUrl = p.hub!.hub.hubUrl;
    const from = (ip: string) => http('GET', `${hubUrl}/hub/api/`, { headers: { 'x-forwarded-for': ip } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await from('198.51.100.7')).status);
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(statuses.slice(3).includes(429), `statuses ${statuses}`);
    const r = await from('198.51.100.7');
    assert.equal(r.status, 429);
    assert.equal(r.json().message, 'Too many requests from your address; retry in 1 s.');
    assert.equal((await from('198.51.100.8')).status, 200, 'another address has its own bucket');
  });
});
