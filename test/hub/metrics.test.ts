/**
 * JupyterHub's Prometheus metrics at /hub/metrics (and /hub/api/metrics), scope read:metrics:
 * JupyterHub 3's names, labels and buckets, counted from what the hub really did — starts that
 * succeeded or were refused (too-many-users), stops, requests by route pattern, rate-limit
 * refusals — and gauges read from the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

/** `name{labels} value` lines → value by `name{labels}`. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('hub metrics', () => {
  let p: Platform;
  let admin: string;

  before(async () => {
    p = await Platform.start({
      config: {
        // Reconciles (server polls) only when a test asks for one, through POST /hub/api/proxy.
        hub: { activeServerLimit: 1, apiRateLimit: { userRate: 1, userBurst: 3 }, reconcileInterval: 3600 },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
      },
    });
    admin = await p.token('admin');
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['m1', 'm2', 'rl'] })).status, 201);
  });
  after(async () => { await p?.close(); });

  const scrape = async (path = '/hub/metrics') => {
    const r = await http('GET', `${p.base}${path}`, { headers: { authorization: `token ${admin}` } });
    assert.equal(r.status, 200, r.text);
    return { reply: r, m: parse(r.text) };
  };

  test('read:metrics is needed, as JupyterHub\'s authenticate_prometheus', async () => {
    const none = await http('GET', `${p.base}/hub/metrics`);
    assert.equal(none.status, 403, none.text);
    const user = await p.token('m1');
    const r = await http('GET', `${p.base}/hub/metrics`, { headers: { authorization: `token ${user}` } });
    assert.equal(r.status, 403);
    assert.equal(r.json().code, 'MISSING_SCOPE');
    const { reply, m } = await scrape();
    assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(reply.text, /^# HELP jupyterhub_total_users total number of users\n# TYPE jupyterhub_total_users gauge\njupyterhub_total_users 4$/m);
    assert.equal(m.get('jupyterhub_running_servers'), 0);
    assert.equal((await scrape('/hub/api/metrics')).m.get('jupyterhub_total_users'), 4);
  });

  test('starts, a refusal past activeServerLimit and stops are counted with JupyterHub\'s status labels and buckets; the route API calls they make too', async () => {
    const before = (await scrape()).m;
    // Every status of JupyterHub's enums is there from the start, at zero.
    for (const st of ['success', 'failure', 'already-pending', 'throttled', 'too-many-users']) assert.equal(before.get(`jupyterhub_server_spawn_duration_seconds_count{status="${st}"}`), 0, st);
    for (const h of ['jupyterhub_server_stop_seconds', 'jupyterhub_proxy_add_duration_seconds', 'jupyterhub_proxy_delete_duration_seconds']) {
      assert.equal(before.get(`${h}_count{status="failure"}`), 0, h);
      assert.ok(before.has(`${h}_count{status="success"}`), h);
    }
    // The hub's own start: one observation, its time since the process started (here the test's own process).
    assert.equal(before.get('jupyterhub_hub_startup_duration_seconds_count'), 1);
    assert.ok(before.get('jupyterhub_hub_startup_duration_seconds_sum')! > 0);
    assert.ok(before.get('jupyterhub_proxy_poll_duration_seconds_count')! >= 1, 'the first reconcile read the routes');
    // No periodic reconcile has run (hourly here); the series is there all the same.
    assert.equal(before.get('jupyterhub_check_routes_duration_seconds_count'), 0);
    // The servers of the last run were re-attached once, at the start (there were none).
    assert.equal(before.get('jupyterhub_init_spawners_duration_seconds_count'), 1);
    const added = before.get('jupyterhub_proxy_add_duration_seconds_count{status="success"}')!;
    const deleted = before.get('jupyterhub_proxy_delete_duration_seconds_count{status="success"}')!;
    assert.equal((await p.api('POST', '/hub/api/users/m1/server', { token: admin }, {})).status, 201);
    assert.equal((await p.api('POST', '/hub/api/users/m2/server', { token: admin }, {})).status, 429);
    let m = (await scrape()).m;
    assert.equal(m.get('jupyterhub_running_servers'), 1);
    assert.equal(m.get('jupyterhub_server_spawn_duration_seconds_count{status="success"}'), 1);
    assert.equal(m.get('jupyterhub_server_spawn_duration_seconds_count{status="too-many-users"}'), 1);
    assert.equal(m.get('jupyterhub_server_spawn_duration_seconds_bucket{status="success",le="120"}'), 1);
    assert.equal(m.get('jupyterhub_server_spawn_duration_seconds_bucket{status="success",le="+Inf"}'), 1);
    assert.equal((await p.api('DELETE', '/hub/api/users/m1/server', { token: admin })).status, 204);
    m = (await scrape()).m;
    assert.equal(m.get('jupyterhub_running_servers'), 0);
    assert.equal(m.get('jupyterhub_server_stop_seconds_count{status="success"}'), 1);
    assert.equal(m.get('jupyterhub_proxy_add_duration_seconds_count{status="success"}'), added + 1, 'm1\'s route');
    assert.equal(m.get('jupyterhub_proxy_delete_duration_seconds_count{status="success"}'), deleted + 1, 'm1\'s route removed');
    assert.equal(m.get('jupyterhub_proxy_add_duration_seconds_bucket{status="success",le="+Inf"}'), added + 1);
    assert.equal(m.get('jupyterhub_request_duration_seconds_count{method="POST",handler="/hub/api/users/:name/server",code="429"}'), 1);
    assert.equal(m.get('jupyterhub_request_duration_seconds_count{method="DELETE",handler="/hub/api/users/:name/server",code="204"}'), 1);
  });

  test('rate-limit refusals are counted by the limit that refused them; requests by route pattern and status', async () => {
    const rl = (await p.api('POST', '/hub/api/users/rl/tokens', { token: admin }, {})).json().token as string;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await p.api('GET', '/hub/api/user', { token: rl })).status);
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(limited >= 1 && ok + limited === 8, JSON.stringify(statuses));
    const m = (await scrape()).m;
    assert.equal(m.get('highrate_api_rate_limited_total{limit="user"}'), limited);
    assert.equal(m.get('highrate_api_rate_limited_total{limit="global"}'), 0);
    assert.equal(m.get('jupyterhub_request_duration_seconds_count{method="GET",handler="/hub/api/user",code="200"}'), ok);
    assert.equal(m.get('jupyterhub_request_duration_seconds_count{method="GET",handler="/hub/api/user",code="429"}'), limited);
  });

  test('active users are counted per period (24h, 7d, 30d) from their last activity, as JupyterHub 4', async () => {
    const periods = async () => {
      const m = (await scrape()).m;
      return ['24h', '7d', '30d'].map((p) => m.get(`jupyterhub_active_users{period="${p}"}`)!);
    };
    const [d0, w0, mo0] = await periods();
    assert.ok(Number.isInteger(d0) && d0 <= w0! && w0! <= mo0!, `${d0} ${w0} ${mo0}`);
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
    const seen: Array<[string, string]> = [['act-hour', ago(1)], ['act-3days', ago(72)], ['act-20days', ago(480)], ['act-40days', ago(960)]];
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: [...seen.map(([n]) => n), 'act-never'] })).status, 201);
    for (const [name, at] of seen) {
      const r = await p.api('POST', `/hub/api/users/${name}/activity`, { token: admin }, { last_activity: at });
      assert.equal(r.status, 200, r.text);
    }
    assert.deepEqual(await periods(), [d0! + 1, w0! + 2, mo0! + 3]);
    const text = (await scrape()).reply.text;
    assert.match(text, /^# HELP jupyterhub_active_users number of users who were active in the given time period\n# TYPE jupyterhub_active_users gauge\n/m);
  });

  test('each reconcile polls the running servers: running while they are, stopped once the process is gone', async () => {
    const polls = async () => {
      const m = (await scrape()).m;
      const running = m.get('jupyterhub_server_poll_duration_seconds_count{status="running"}')!;
      const stopped = m.get('jupyterhub_server_poll_duration_seconds_count{status="stopped"}')!;
      assert.equal(m.get('jupyterhub_server_poll_duration_seconds_bucket{status="running",le="+Inf"}'), running);
      return { running, stopped };
    };
    const sync = async () => assert.equal((await p.api('POST', '/hub/api/proxy', { token: admin })).status, 200);
    assert.deepEqual(await polls(), { running: 0, stopped: 0 }, 'both series there from the start, at zero');
    assert.equal((await p.api('POST', '/hub/api/users/m2/server', { token: admin }, {})).status, 201);
    try {
      await sync();
      await sync();
      assert.deepEqual(await polls(), { running: 2, stopped: 0 });
      // The server's process dies behind the hub's back: the next poll finds it stopped.
      const store = await p.openStore();
      const row = await store.getServer('m2', '');
      await store.close();
      process.kill(-p.podPid(row!), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      await sync();
      assert.deepEqual(await polls(), { running: 2, stopped: 1 });
      assert.equal((await p.api('GET', '/hub/api/users/m2', { token: admin })).json().servers[''], undefined, 'the hub marked it stopped');
    } finally {
      await p.api('DELETE', '/hub/api/users/m2/server', { token: admin });
    }
  });
});
