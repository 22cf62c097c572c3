import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { Platform } from '../helpers/platform.js';

/** A notebook as Jupyter saves it (nbformat 4), one markdown cell to recognise it by. */
const NOTEBOOK = JSON.stringify({
  cells: [{ cell_type: 'markdown', id: 'deep-link', metadata: {}, source: ['# Dimuon analysis'] }],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});

/**
 * A link to a notebook on a stopped server, opened in real Chromium against the real default
 * server (jupyterhub-singleuser, which logs the browser in through the hub's OAuth flow): the
 * portal says the server is not running, Start leads through the start form and its progress,
 * and the browser ends on the notebook the link named.
 */
describe('deep link to a stopped server in Chromium', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;

  before(async () => {
    p = await Platform.start({ users: [{ name: 'bob', password: 'bob-secret-pw' }] });
    // bob's notebook, in the home his server serves (handed over to his pod's identity at start).
    const dir = join(p.dataDir, 'homes', 'bob', 'sub');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Analysis.ipynb'), NOTEBOOK);
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(60_000);
  });
  after(async () => {
    await browser?.close();
    await p?.close();
  });

  test('the link → "not running" with Start → start form and progress → back at the notebook', async () => {
    const cspViolations: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
    const link = `${p.base}/user/bob/notebooks/sub/Analysis.ipynb`;

    await portalLogin(page, p.base, 'bob', 'bob-secret-pw');
    await page.goto(link);
    await page.waitForURL(`${p.base}/hub/home?**`);
    const notice = page.locator('[data-testid="alert-warning"]');
    assert.equal(await notice.locator('.alert-title').textContent(), 'Your server is not running');
    assert.equal(
      await page.locator('[data-testid="not-running"]').textContent(),
      'The link /user/bob/notebooks/sub/Analysis.ipynb leads into it. Start the server and you will be taken there once it is ready.',
    );

    await page.click('[data-testid="not-running-start"]');
    await page.waitForURL(`${p.base}/hub/spawn?next=%2Fuser%2Fbob%2Fnotebooks%2Fsub%2FAnalysis.ipynb`);
    await page.selectOption('select[name="cores"]', '1');
    await page.click('[data-testid="spawn-submit"]');
    // Through the progress page and the server's OAuth login, to the very link.
    await page.waitForURL(link, { timeout: 120_000 });
    await page.waitForSelector('#notebook_name');
    assert.equal(page.url(), link);
    assert.equal((await page.locator('#notebook_name').textContent())?.trim(), 'Analysis');
    // Its content, as the notebook rendered it (the heading carries Jupyter's "¶" anchor).
    const heading = await page.locator('.text_cell_render h1').first().textContent();
    assert.match(heading ?? '', /^Dimuon analysis/);
    assert.deepEqual(cspViolations, []);
  });

  test('the start page follows next only into the server: never another site or a hub page', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/hub/logout', '/user/bob/../../hub/logout', '/user/someone-else/tree']) {
      await page.goto(`${p.base}/hub/spawn?next=${encodeURIComponent(next)}`);
      await page.locator('[data-testid="open"]').waitFor();
      assert.equal(new URL(page.url()).pathname, '/hub/spawn', next);
      assert.equal(await page.locator('[data-testid="open"]').getAttribute('href'), '/user/bob/', next);
    }
    // A link inside the running server is followed at once, as JupyterHub's spawn page does.
    await page.goto(`${p.base}/hub/spawn?next=${encodeURIComponent('/user/bob/tree/sub?x=1')}`);
    await page.waitForURL(`${p.base}/user/bob/tree/sub?x=1`);
  });
});
