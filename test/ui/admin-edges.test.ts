/**
 * The admin rough edges of issue 13, on a real platform and in real Chromium: adding users from
 * the admin portal, the Roles tab agreeing with the Users tab, the audit log's requested and
 * applied scale, a stopped cluster's reason, capacity warnings, and the favicon.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Platform } from '../helpers/platform.js';
import { portalLogin } from '../helpers/chromium.js';
import { http } from '../helpers/http.js';
import { closeWithClusters, model } from '../clusters/helpers.js';

describe('admin rough edges', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;
  let admin: string;
  let alice: string;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }],
      // Workers of up to 1024 cores: more than any test host has, so the capacity warning is certain.
      config: { clusters: { daskPort: 0, idleTimeout: 0, options: { workerCores: { max: 1024 } } } },
    });
    admin = await p.token('admin');
    alice = await p.token('alice');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    await portalLogin(page, p.base, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await closeWithClusters(p);
  });

  test('the admin adds users from the Users tab, through POST /hub/api/users', async () => {
    await page.click('[data-testid="nav-admin"]');
    await page.fill('[data-testid="admin-add-user"]', 'carol, dave');
    await page.check('[data-testid="admin-add-user-admin"]');
    await page.click('[data-testid="admin-add-user-submit"]');
    await page.locator('[data-testid="admin-add-user-done"]').waitFor();
    assert.match((await page.textContent('[data-testid="admin-add-user-done"]'))!, /^Added carol, dave\. /);
    await page.locator('[data-testid="admin-user-carol"]').waitFor();
    const carol = (await p.api('GET', '/hub/api/users/carol', { token: admin })).json();
    assert.equal(carol.admin, true);
    assert.deepEqual(carol.roles, ['admin', 'user']);
    const audit = (await p.api('GET', '/hub/api/audit?action=user.create&limit=5', { token: admin })).json().items;
    assert.deepEqual(audit[0].detail, { users: ['carol', 'dave'], admin: true });
  });

  test('the Roles tab lists the admin role with the users the Users tab shows as admins', async () => {
    const roles = (await p.api('GET', '/hub/api/roles', { token: admin })).json();
    assert.deepEqual(roles.find((r: any) => r.name === 'admin').users, ['admin', 'carol', 'dave']);
    assert.deepEqual((await p.api('GET', '/hub/api/roles/admin', { token: admin })).json().users, ['admin', 'carol', 'dave']);
    await page.click('[data-testid="admin-tab-roles"]');
    const row = page.locator('[data-testid="admin-roles"] tr', { has: page.locator('th', { hasText: /^admin/ }) });
    await row.waitFor();
    assert.equal(await row.locator('td').last().textContent(), 'user admin, user carol, user dave');
  });

  test('scale: the audit log has what was asked and what was applied; capacity is warned about, not refused', async () => {
    const created = await http('POST', `${p.base}/hub/api/clusters`, { headers: { authorization: `token ${alice}` }, body: { cluster_options: { worker_cores: 1024, max_workers: 10 } } });
    assert.equal(created.status, 201, created.text);
    const name = created.json().name;
    assert.equal(created.json().warnings, undefined, 'no workers asked for yet');
    const scaled = await http('POST', `${p.base}/hub/api/clusters/${name}/scale`, { headers: { authorization: `token ${alice}` }, body: { count: 50 } });
    assert.equal(scaled.status, 200);
    const cores = (await p.api('GET', '/hub/api/executors', { token: alice })).json().executors.find((e: any) => e.name === 'local').capacity.cpu;
    const coresText = `${Number(cores)} ${Number(cores) === 1 ? 'core' : 'cores'}`;
    assert.deepEqual(scaled.json(), {
      ok: false,
      msg: 'Scale request of 50 workers would exceed resource limit of 10 workers. Scaling to 10 instead.',
      warnings: [`10 workers × 1024 cores need 10240 cores, but executor local reports ${coresText}: workers that do not fit wait or share cores.`],
    });
    const gateway = await http('POST', `${p.base}/services/dask-gateway/api/v1/clusters/${name}/scale`, { headers: { authorization: `jupyterhub ${alice}` }, body: { count: 2 } });
    assert.deepEqual(gateway.json(), { ok: false, msg: `2 workers × 1024 cores need 2048 cores, but executor local reports ${coresText}: workers that do not fit wait or share cores.` });
    await http('POST', `${p.base}/hub/api/clusters/${name}/scale`, { headers: { authorization: `token ${alice}` }, body: { count: 0 } });

    const audit = (await p.api('GET', `/hub/api/audit?action=cluster.scale&limit=10`, { token: admin })).json().items;
    assert.deepEqual(audit.map((e: any) => e.detail).reverse(), [
      { requested: 50, applied: 10 },
      { requested: 2, applied: 2, via: 'dask-gateway' },
      { requested: 0, applied: 0 },
    ]);

    // Stopped by its owner: the reason is recorded and shown, not only "0 running (2 wanted)".
    const stopped = await http('DELETE', `${p.base}/hub/api/clusters/${name}`, { headers: { authorization: `token ${alice}` } });
    assert.ok(stopped.status === 204 || stopped.status === 202);
    const m = await model(p, alice, name);
    assert.equal(m.failure, 'Stopped by its owner, alice.');
    await page.goto(`${p.base}/hub/clusters/${name}`);
    await page.locator('[data-testid="cluster-status"]', { hasText: 'Stopped' }).waitFor();
    assert.equal(await page.textContent('[data-testid="cluster-failure"]'), 'Stopped by its owner, alice.');
    assert.equal(await page.textContent('[data-testid="cluster-workers"]'), 'None');
    assert.equal(await page.getAttribute('[data-testid="cluster-name"]', 'title'), name);
    assert.equal(await page.textContent('[data-testid="cluster-name"]'), name);
  });

  test('the Resources page shows executor capacity in the shared units, the raw quantity on hover', async () => {
    const cap = (await p.api('GET', '/hub/api/executors', { token: admin })).json().executors.find((e: any) => e.name === 'local').capacity;
    await page.goto(`${p.base}/hub/resources`);
    const row = page.locator('[data-testid="executor-row-local"]');
    await row.waitFor();
    const cells = row.locator('td');
    // Columns: kind, health, CPU, memory, pods.
    const cores = Number(cap.cpu);
    assert.equal(await cells.nth(2).textContent(), `${cores} ${cores === 1 ? 'core' : 'cores'}`);
    assert.equal(await cells.nth(2).getAttribute('title'), cap.cpu);
    assert.match((await cells.nth(3).textContent())!, /^\d+(\.\d)? (MiB|GiB|TiB)$/);
    assert.equal(await cells.nth(3).getAttribute('title'), cap.memory);
    assert.match(cap.memory, /^\d+(Ki|Mi|Gi)?$/, 'the API keeps the Kubernetes quantity');
  });

  test('a favicon: /favicon.ico and the icon every hub page links', async () => {
    for (const path of ['/favicon.ico', '/hub/static/favicon.svg']) {
      const r = await http('GET', `${p.base}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], 'image/svg+xml');
      assert.match(r.text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
    // The portal, the hub's own pages (here a 404 for a browser) and the login pages link it.
    const portal = await http('GET', `${p.base}/hub/home`, { headers: { accept: 'text/html' } });
    const missing = await http('GET', `${p.base}/no-such-page`, { headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    const begin = await http('GET', `${p.base}/hub/login`, { headers: { accept: 'text/html' } });
    const authorize = await http('GET', new URL(String(begin.headers.location), p.base).href, { headers: { accept: 'text/html' } });
    const loginPage = await http('GET', new URL(String(authorize.headers.location), p.base).href, { headers: { accept: 'text/html', cookie: String(authorize.headers['set-cookie'] ?? '').split(';')[0]! } });
    for (const [what, r] of [['portal', portal], ['404 page', missing], ['login page', loginPage]] as const) {
      assert.match(r.text, /<link rel="icon" type="image\/svg\+xml" href="\/hub\/static\/favicon\.svg"( \/)?>/, what);
    }
  });
});
