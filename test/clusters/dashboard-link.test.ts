import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters, connection, daskClient, gw, waitRunning, waitWorkers } from './helpers.js';

/**
 * The dashboard link every client shows (dask-gateway's `dashboard_link`, `client.dashboard_link`:
 * `<public>/clusters/<name>/status`) leads somewhere in a browser: without bokeh (Debian's Dask)
 * the scheduler's guard sends the owner on to the cluster's live dashboard in the portal; another
 * user is refused at the proxy's edge.
 */
describe('a cluster\'s dashboard link in Chromium', () => {
  let p: Platform;
  let browser: Browser;
  let name: string;
  let cluster: any;
  let token: string;

  before(async () => {
    p = await Platform.start({
      config: { clusters: { daskPort: 0, idleTimeout: 0 } },
      users: [{ name: 'alice', password: 'alice-secret-pw' }, { name: 'bob', password: 'bob-secret-pw' }],
    });
    token = await p.token('alice');
    const created = await gw(p, 'POST', '/api/v1/clusters/', token, { cluster_options: {} });
    assert.equal(created.status, 201, created.text);
    name = created.json().name;
    cluster = await waitRunning(p, token, name);
    assert.equal(cluster.status, 'RUNNING');
    assert.equal(cluster.dashboard_route, `/clusters/${name}/status`);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await closeWithClusters(p);
  });

  test('the owner lands on the cluster\'s live dashboard, whose task stream shows finished tasks by prefix', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      page.setDefaultTimeout(60_000);
      await portalLogin(page, p.base, 'alice', 'alice-secret-pw');
      await page.goto(`${p.base}/clusters/${name}/status`);
      await page.waitForURL(`${p.base}/hub/clusters/${name}`);
      assert.equal(await page.textContent('[data-testid="cluster-name"]'), name);
      await page.waitForSelector('[data-testid="dash-workers"]');

      const scaled = await gw(p, 'POST', `/api/v1/clusters/${name}/scale`, token, { count: 1 });
      assert.equal(scaled.status, 200, scaled.text);
      await waitWorkers(p, token, name, 1);
      const done = await daskClient({ ...connection(p, cluster), job: 'busy', seconds: 0.2, tasks: 20 });
      assert.equal(done.result, 20 * 19 / 2);
      // The tasks of `slow` (test/fixtures/dask_client.py) appear as their prefix, full name on hover.
      await page.waitForSelector('[data-testid="chart-task-stream"] rect[data-prefix="slow"]', { timeout: 30_000 });
      assert.equal(await page.getAttribute('[data-testid="chart-task-stream"] li[title="slow"]', 'title'), 'slow');
    } finally {
      await ctx.close();
    }
  });

  test('another user is refused at the edge; without a credential a browser is sent to log in', async () => {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      page.setDefaultTimeout(60_000);
      await portalLogin(page, p.base, 'bob', 'bob-secret-pw');
      const refused = await page.goto(`${p.base}/clusters/${name}/status`);
      assert.equal(refused!.status(), 403);
    } finally {
      await ctx.close();
    }
    const anonymous = await http('GET', `${p.base}/clusters/${name}/status`, { headers: { accept: 'text/html' } });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.location, `/hub/login?next=${encodeURIComponent(`/clusters/${name}/status`)}`);
  });
});
