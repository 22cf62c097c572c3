import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { CLI, Platform } from '../helpers/platform.js';
import { portalLogin } from '../helpers/chromium.js';

/**
 * The Resources API and CLI against the real hub with real servers on the local executor:
 * `GET /hub/api/executors` (health and capacity from ping), `GET /hub/api/workloads` (owners see
 * theirs, admins all, with live container states), `GET /hub/api/workloads/{uid}/logs` (owner or
 * admin; tail and follow), and `highrate workloads` / `highrate logs`.
 */

const run = promisify(execFile);

describe('Resources: executors, workloads and their logs', () => {
  let p: Platform;
  const tokens: Record<string, string> = {};
  const uid: Record<string, string> = {};
  const get = (who: string, path: string) => p.api('GET', path, { token: tokens[who] });

  async function startAndWait(user: string): Promise<string> {
    const r = await p.api('POST', `/hub/api/users/${user}/server`, { token: tokens[user] }, {});
    assert.ok(r.status === 201 || r.status === 202, r.text);
    const until = Date.now() + 30_000;
    for (;;) {
      const w = (await get(user, '/hub/api/workloads')).json().workloads.find((x: { owner: string }) => x.owner === user);
      if (w?.state === 'running' && w.containers[0]?.state === 'running') return w.uid;
      assert.ok(Date.now() < until, `${user}'s server runs: ${JSON.stringify(w)}`);
      await new Promise((r2) => setTimeout(r2, 200));
    }
  }

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: { profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }] },
    });
    for (const u of ['admin', 'alice', 'bob']) tokens[u] = await p.token(u);
    tokens.aliceReadOnly = await p.token('alice', ['read:servers']);
    uid.alice = await startAndWait('alice');
    uid.bob = await startAndWait('bob');
  });
  after(async () => { await p?.close(); });

  test('GET /hub/api/executors: name, kind, capabilities, health and capacity; cached; signed-in users only', async () => {
    const r = await get('alice', '/hub/api/executors');
    assert.equal(r.status, 200, r.text);
    const [local, ...rest] = r.json().executors;
    assert.equal(rest.length, 0);
    assert.deepEqual(Object.keys(local).sort(), ['capabilities', 'capacity', 'health', 'kind', 'name', 'taints']);
    assert.deepEqual([local.name, local.kind, local.health.ok, local.health.message], ['local', 'local', true, null]);
    assert.deepEqual(Object.keys(local.capabilities).sort(), ['cpuLimits', 'images', 'memoryLimits', 'mountPaths', 'remoteAddress']);
    assert.equal(local.capabilities.images, false);
    assert.match(local.capacity.cpu, /^\d+$/);
    assert.equal(local.capacity.pods, '1000');
    const again = (await get('bob', '/hub/api/executors')).json().executors[0];
    assert.equal(again.health.checked, local.health.checked, 'a second look within 15 s reuses the ping');
    assert.equal((await p.api('GET', '/hub/api/executors', {})).status, 403);
  });

  test('GET /hub/api/workloads: owners see their own server, admins all, with live container states', async () => {
    const mine = (await get('alice', '/hub/api/workloads')).json().workloads;
    assert.equal(mine.length, 1);
    const w = mine[0];
    assert.deepEqual({ ...w, started: typeof w.started }, {
      uid: uid.alice, owner: 'alice', role: 'server', name: '', executor: 'local', kind: 'local', state: 'running', started: 'string',
      containers: [{ name: 'notebook', init: false, state: 'running' }],
    });
    assert.deepEqual((await get('bob', '/hub/api/workloads')).json().workloads.map((x: { uid: string }) => x.uid), [uid.bob]);
    assert.deepEqual((await get('admin', '/hub/api/workloads')).json().workloads.map((x: { owner: string }) => x.owner), ['alice', 'bob']);
    assert.equal((await p.api('GET', '/hub/api/workloads', {})).status, 403);
  });

  test('logs: the owner and admins read them (whole, tail); others get 404; read-only tokens 403; bad parameters 400/404', async () => {
    const path = `/hub/api/workloads/${uid.alice}/logs`;
    const own = await get('alice', path);
    assert.equal(own.status, 200, own.text);
    assert.match(String(own.headers['content-type']), /^text\/plain; charset=utf-8$/);
    assert.equal(own.headers['x-content-type-options'], 'nosniff');
    assert.match(own.text, /^listening on \d+\n$/);
    assert.equal((await get('alice', `${path}?tail=1&container=notebook`)).text, own.text);
    assert.equal((await get('admin', path)).text, own.text);
    const other = await get('bob', path);
    assert.deepEqual([other.status, other.json().code], [404, 'WORKLOAD_NOT_FOUND']);
    const ro = await get('aliceReadOnly', path);
    assert.deepEqual([ro.status, ro.json().code], [403, 'MISSING_SCOPE']);
    assert.equal((await get('alice', `${path}?container=nope`)).status, 404);
    assert.equal((await get('alice', `${path}?tail=x`)).status, 400);
    assert.equal((await get('alice', `${path}?follow=maybe`)).status, 400);
    assert.equal((await get('alice', '/hub/api/workloads/00000000-0000-4000-8000-000000000000/logs')).status, 404);
  });

  test('the CLI: highrate workloads (table and --json) and highrate logs --tail', async () => {
    const env = { ...process.env, HIGHRATE_TOKEN: tokens.alice, HIGHRATE_LOG_LEVEL: 'warn' };
    const table = await run(process.execPath, [CLI, 'workloads', '--url', p.base], { env });
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^UID\s+OWNER\s+ROLE\s+NAME\s+EXECUTOR\s+STATE\s+CONTAINERS$/);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, new RegExp(`^${uid.alice}\\s+alice\\s+server\\s+\\(default\\)\\s+local\\s+Running\\s+notebook=running$`));
    const json = JSON.parse((await run(process.execPath, [CLI, 'workloads', '--url', p.base, '--json'], { env })).stdout);
    assert.equal(json.workloads[0].uid, uid.alice);
    const logs = await run(process.execPath, [CLI, 'logs', uid.alice, '--tail', '1', '--url', p.base], { env });
    assert.match(logs.stdout, /^listening on \d+\n$/);
    const denied = await run(process.execPath, [CLI, 'logs', uid.bob, '--url', p.base], { env }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((denied as { code: number }).code, 1);
    assert.match((denied as { stderr: string }).stderr, /^highrate logs: No workload ".*"\. \(HTTP 404\)\n$/m);
    const noToken = await run(process.execPath, [CLI, 'workloads', '--url', p.base], { env: { ...env, HIGHRATE_TOKEN: '' } }).catch((e: { code: number; stderr: string }) => e);
    assert.match((noToken as { stderr: string }).stderr, /An API token is needed/);
  });

  test('the Resources page in Chromium: executors, the user\'s workload, its log (whole and followed); no CSP violation', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(30_000);
      const csp: string[] = [];
      page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()); });
      await portalLogin(page, p.base, 'alice', 'alice-password');
      await page.click('[data-testid="nav-resources"]');
      await page.waitForURL(`${p.base}/hub/resources`);
      const exRow = page.locator('[data-testid="executor-row-local"]');
      await exRow.waitFor();
      assert.equal(await exRow.getAttribute('data-health'), 'ok');
      const row = page.locator(`[data-testid="workload-row-${uid.alice}"]`);
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /notebook: running/);
      assert.equal(await page.locator(`[data-testid="workload-row-${uid.bob}"]`).count(), 0, 'alice does not see bob\'s server');
      await row.locator('[data-testid="show-logs"]').click();
      await page.click('[data-testid="log-show"]');
      await page.waitForFunction(() => /listening on \d+/.test(document.querySelector('[data-testid="log-text"]')?.textContent ?? ''));
      await page.check('[data-testid="log-follow"]');
      await page.click('[data-testid="log-show"]');
      await page.locator('[data-testid="log-stop"]').waitFor();
      await page.waitForFunction(() => /listening on \d+/.test(document.querySelector('[data-testid="log-text"]')?.textContent ?? ''));
      await page.click('[data-testid="log-stop"]');
      await page.locator('[data-testid="log-stop"]').waitFor({ state: 'detached' });
      assert.deepEqual(csp, []);
    } finally {
      await browser.close();
    }
  });

  test('logs with follow=1 stay open while the server runs and end when it stops', async () => {
    const u = new URL(`${p.base}/hub/api/workloads/${uid.bob}/logs?follow=1`);
    const t0 = Date.now();
    let headersAt = 0;
    let text = '';
    const ended = new Promise<number>((resolve, reject) => {
      const req = request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers: { authorization: `token ${tokens.bob}` } }, (res) => {
        headersAt = Date.now() - t0;
        assert.equal(res.statusCode, 200);
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve(Date.now() - t0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(headersAt > 0 && headersAt < 1500, 'headers arrive at once');
    assert.match(text, /^listening on \d+\n$/);
    const stop = await p.api('DELETE', '/hub/api/users/bob/server', { token: tokens.bob });
    assert.ok([202, 204].includes(stop.status), stop.text);
    const endedAt = await ended;
    assert.ok(endedAt >= 1500, 'the stream stayed open until the server stopped');
  });
});
