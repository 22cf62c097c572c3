import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters, daskProcesses, waitFor } from './helpers.js';
import { portalLogin } from '../helpers/chromium.js';

/**
 * The Clusters page in real Chromium: create a cluster with the form, watch it come up, scale it
 * to 2 and see the live dashboard count 2 workers and 2 cores, switch to adaptive, shut it down.
 */
describe('Clusters page in Chromium', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice', password: 'alice-secret-pw' }] });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(60_000);
  });
  after(async () => {
    await browser?.close();
    await closeWithClusters(p);
  });

  test('create, watch, scale, adapt and shut down a cluster', async () => {
    const cspViolations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    await portalLogin(page, p.base, 'alice', 'alice-secret-pw');

    await page.click('[data-testid="nav-clusters"]');
    await page.waitForURL(`${p.base}/hub/clusters`);
    await page.waitForSelector('[data-testid="no-clusters"]');
    assert.deepEqual(await page.locator('select[name="worker_memory"] option').allTextContents(), ['954 MiB', '1.9 GiB', '3.7 GiB']);
    await page.fill('input[name="worker_cores"]', '1');
    await page.fill('input[name="workers"]', '1');
    await page.click('[data-testid="create-cluster"]');
    await page.waitForURL(/\/hub\/clusters\/[0-9a-f]{32}$/);
    const name = page.url().split('/').pop()!;

    await page.waitForSelector('[data-testid="cluster-status"]:has-text("running")', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="dash-workers"]:has-text("1")', { timeout: 60_000 });
    await page.fill('#scale-count', '2');
    await page.click('[data-testid="scale"]');
    await page.waitForSelector('[data-testid="dash-workers"]:has-text("2")', { timeout: 60_000 });
    assert.equal(await page.textContent('[data-testid="dash-threads"]'), '2');
    assert.equal(await page.locator('[data-testid="chart-memory"] li').count(), 2);
    assert.match((await page.textContent('[data-testid="connect-code"]'))!, new RegExp(`connect\\("${name}"\\)`));

    await page.fill('#adapt-min', '0');
    await page.fill('#adapt-max', '3');
    await page.click('[data-testid="adapt"]');
    await page.waitForSelector('[data-testid="cluster-workers"]:has-text("adaptive 0–3")');

    await page.click('[data-testid="stop-cluster"]');
    await page.waitForSelector('[data-testid="cluster-status"]:has-text("stopped")');
    await waitFor('no Dask process left', async () => daskProcesses(name).length === 0, 15_000);
    await page.click('[data-testid="nav-clusters"]');
    await page.waitForSelector('[data-testid="no-clusters"]');
    assert.deepEqual(cspViolations, []);
  });
});
