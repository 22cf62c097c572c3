import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Platform } from '../helpers/platform.js';
import { portalLogin } from '../helpers/chromium.js';

/**
 * The whole user path in real Chromium: log in through the embedded IdP's page, start a server
 * with 1 core, run `print(6*7)` in a notebook and see 42, stop the server, log out.
 */
describe('end to end in Chromium', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;

  before(async () => {
    p = await Platform.start({ users: [{ name: 'alice', password: 'alice-secret-pw' }] });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      // Playwright gives the browser a fresh temporary profile and removes it on close.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(60_000);
  });
  after(async () => {
    await browser?.close();
    await p?.close();
  });

  test('log in, start a server with 1 core, run print(6*7), stop, log out', async () => {
    const cspViolations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });

    await portalLogin(page, p.base, 'alice', 'alice-secret-pw');

    await page.click('[data-testid="start-default"]');
    await page.waitForURL(/\/hub\/spawn/);
    await page.selectOption('select[name="cores"]', '1');
    await page.click('[data-testid="spawn-submit"]');
    await page.waitForURL(`${p.base}/user/alice/**`, { timeout: 90_000 });

    // A notebook to type into, made through Jupyter's contents API from the page (same origin, the
    // server's own login cookie from the OAuth flow, and its XSRF cookie as Jupyter's pages send it).
    const path = await page.evaluate(async () => {
      const xsrf = /(?:^|; )_xsrf=([^;]*)/.exec(document.cookie)?.[1] ?? '';
      const r = await fetch('/user/alice/api/contents', { method: 'POST', headers: { 'content-type': 'application/json', 'x-xsrftoken': decodeURIComponent(xsrf) }, body: JSON.stringify({ type: 'notebook' }) });
      return (await r.json()).path as string;
    });
    await page.goto(`${p.base}/user/alice/notebooks/${path}`);
    await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 90_000 });
    await page.click('.CodeMirror');
    await page.keyboard.type('print(6*7)');
    await page.keyboard.press('Shift+Enter');
    const out = await page.waitForSelector('.output_subarea.output_stream');
    assert.equal((await out.textContent())?.trim(), '42');

    await page.goto(`${p.base}/hub/home`);
    const row = page.locator('[data-testid="server-row-default"]');
    await row.locator('[data-testid="stop"]').click();
    await row.locator('[data-testid="start"]').waitFor({ timeout: 60_000 });
    const model = await p.api('GET', '/hub/api/users/alice', { token: await p.token('admin') });
    assert.deepEqual(model.json().servers, {});

    await page.click('[data-testid="logout"]');
    await page.waitForSelector('[data-testid="login"]');
    const me = await page.evaluate(async () => (await fetch('/hub/api/user')).status);
    assert.equal(me, 403);
    assert.deepEqual(cspViolations, []);
  });
});
