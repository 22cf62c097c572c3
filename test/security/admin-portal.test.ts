import { tinyServerCommand } from '../fixtures/tiny-server.js';
/**
 * The admin portal in real Chromium: an admin finds a user, blocks and unblocks them, grants
 * admin, manages a group, stops another user's running server, and finds all of it in the audit
 * log under their own name. The portal runs under the hub's strict CSP (no violations allowed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Platform } from '../helpers/platform.js';
import { portalLogin } from '../helpers/chromium.js';

const TINY = tinyServerCommand();

describe('admin portal in Chromium', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;
  let admin: string;
  const console: string[] = [];

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice', groups: ['physics'] }, { name: 'bob' }],
      config: { profiles: [{ name: 'tiny', default: true, cores: { choices: [2] }, memory: { choices: ['2G'] }, command: TINY }], culler: { idleTimeout: 0 } },
    });
    admin = await p.token('admin');
    await p.login('alice');
    await p.login('bob');
    assert.equal((await p.api('POST', '/hub/api/users/alice/servers/work', { token: await p.token('alice') }, {})).status, 201);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    page.on('console', (m) => console.push(m.text()));
    await portalLogin(page, p.base, 'admin', 'admin-password');
  });
  after(async () => {
    await browser?.close();
    await p?.close();
  });

  const user = async (name: string) => (await p.api('GET', `/hub/api/users/${name}`, { token: admin })).json();

  test('users: search, block and unblock, grant admin', async () => {
    await page.click('[data-testid="nav-admin"]');
    await page.waitForURL(`${p.base}/hub/admin`);
    await page.fill('[data-testid="admin-user-search"]', 'bo');
    await page.click('[data-testid="admin-user-search-submit"]');
    const row = page.locator('[data-testid="admin-user-bob"]');
    await row.waitFor();
    // Bob is in the unfiltered list too: wait for the filtered one to replace it.
    await page.locator('[data-testid="admin-user-alice"]').waitFor({ state: 'detached' });
    assert.equal(await page.locator('[data-testid="admin-user-alice"]').count(), 0, 'filtered by name');
    await row.locator('[data-testid="admin-block"]').click();
    await row.locator('text=blocked').waitFor();
    assert.equal((await user('bob')).blocked, true);
    await row.locator('[data-testid="admin-block"]').click();
    await row.locator('[data-testid="admin-block"]', { hasText: 'Block' }).waitFor();
    assert.equal((await user('bob')).blocked, false);
    await row.locator('[data-testid="admin-toggle-admin"]').click();
    await row.locator('[data-testid="admin-toggle-admin"]', { hasText: 'Remove admin' }).waitFor();
    assert.equal((await user('bob')).admin, true);
    await row.locator('[data-testid="admin-toggle-admin"]').click();
    await row.locator('[data-testid="admin-toggle-admin"]', { hasText: 'Make admin' }).waitFor();
    assert.equal((await user('bob')).admin, false);
  });

  test('groups: create one, add a member', async () => {
    await page.click('[data-testid="admin-tab-groups"]');
    await page.fill('[data-testid="admin-new-group"]', 'lab-7');
    await page.click('[data-testid="admin-new-group-submit"]');
    const members = page.locator('[data-testid="admin-group-members"]');
    await members.waitFor();
    await page.fill('[data-testid="admin-new-member"]', 'bob');
    await members.locator('button[type="submit"]').click();
    await members.locator('li', { hasText: 'bob' }).waitFor();
    assert.deepEqual((await p.api('GET', '/hub/api/groups/lab-7', { token: admin })).json().users, ['bob']);
  });

  test("running: alice's server with owner, resources and activity; the admin stops it", async () => {
    await page.click('[data-testid="admin-tab-activity"]');
    const row = page.locator('[data-testid="admin-workload-server-alice-work"]');
    await row.waitFor();
    const cells = await row.locator('td, th').allTextContents();
    assert.deepEqual([cells[0], cells[1], cells[2], cells[3], cells[6], cells[7]], ['server', 'alice', 'work', 'Running', '2 cores', '1.9 GiB']);
    assert.equal(cells[4], 'just now', 'started');
    assert.equal(cells[5], 'just now', 'last activity');
    await row.locator('[data-testid="admin-stop"]').click();
    await row.waitFor({ state: 'detached' });
    assert.deepEqual((await user('alice')).servers, {});
  });

  test('audit: every action above, under the admin\'s own name', async () => {
    await page.click('[data-testid="admin-tab-audit"]');
    await page.fill('[data-testid="audit-user"]', 'bob');
    await page.click('[data-testid="audit-submit"]');
    await page.locator('[data-testid="audit-row"][data-action="user.update"]').first().waitFor();
    const entries = (await p.api('GET', '/hub/api/audit?actor=admin&limit=50', { token: admin })).json().items;
    const actions = entries.map((e: any) => `${e.action} ${e.target}`);
    for (const expected of ['user.update bob', 'group.create lab-7', 'group.members.add lab-7', 'server.stop alice/work']) {
      assert.ok(actions.includes(expected), `${expected} in ${actions.join(', ')}`);
    }
    assert.equal(entries.filter((e: any) => e.action === 'user.update').length, 4);
    assert.ok(entries.every((e: any) => e.actor === 'admin' && e.actor_kind === 'user'));
    assert.deepEqual(console.filter((m) => /Content Security Policy|Refused to/i.test(m)), []);
  });

  test('a user without admin rights gets no admin link and the admin API refuses them', async () => {
    assert.equal((await p.api('GET', '/hub/api/admin/activity', { token: await p.token('bob') })).status, 403);
    const context = await browser.newContext();
    try {
      const other = await context.newPage();
      await other.goto(`${p.base}/hub/home`);
      await other.click('[data-testid="login"]');
      await other.waitForURL(/\/oidc\//);
      await other.fill('#username', 'bob');
      await other.fill('#password', 'bob-password');
      await Promise.all([other.waitForURL(`${p.base}/hub/home`), other.click('button[type="submit"]')]);
      assert.equal(await other.locator('[data-testid="nav-admin"]').count(), 0);
      await other.goto(`${p.base}/hub/admin`);
      await other.locator('text=The administration pages are for administrators.').waitFor();
    } finally {
      await context.close();
    }
  });
});
