import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { Platform } from '../helpers/platform.js';
import { startRucioProcess, type RucioProcess } from './rucio-process.js';

/** The portal's Data page in Chromium, against a platform with the Rucio test server. */
describe('Data page (Chromium)', () => {
  let rucio: RucioProcess;
  let p: Platform;
  let browser: Browser;
  let secrets: string;

  before(async () => {
    rucio = await startRucioProcess({ args: ['--replication-seconds', '0.5'] });
    secrets = mkdtempSync(join(tmpdir(), 'highrate-data-ui-'));
    writeFileSync(join(secrets, 'pw'), 'hub-secret\n');
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: { data: { rucio: { url: rucio.url, facilityRse: 'FACILITY', username: 'highrate', passwordFile: join(secrets, 'pw') } } },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await p?.close();
    await rucio?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  test('search, open a dataset, make it available here with live progress; no quota is shown clearly', async () => {
    const page = await (await browser.newContext()).newPage();
    await portalLogin(page, p.base, 'alice', 'alice-password');
    await page.click('[data-testid="nav-data"]');
    await page.waitForURL(`${p.base}/hub/data`);
    await page.waitForSelector('[data-testid="data-quota"]');
    assert.equal(await page.textContent('[data-testid="data-quota"]'), 'Rucio account alice: 0 B of 64 MiB used at FACILITY');
    await page.fill('[data-testid="data-query"]', 'data:dataset*');
    await page.selectOption('select[aria-label="Type"]', 'dataset');
    await page.click('[data-testid="data-search"]');
    await page.waitForSelector('[data-testid="data-hits"] tbody tr');
    const rows = await page.$$eval('[data-testid="data-hits"] tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    assert.deepEqual(rows, ['data:dataset1 DATASET 28 KiB 3', 'data:dataset2 DATASET 3.0 KiB 2']);
    await page.click('text=data:dataset2');
    await page.waitForSelector('[data-testid="data-stage"]');
    assert.match((await page.textContent('[data-testid="data-facility"]'))!, /^0 of 2 files at this facility \(FACILITY\)\./);
    await page.click('[data-testid="data-stage"]');
    await page.waitForSelector('[data-testid="data-rules"] [data-testid="rule-state"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="data-rules"] [data-testid="rule-state"]')?.textContent === 'OK', undefined, { timeout: 15_000 });
    assert.match(await page.$eval('[data-testid="data-rules"] tbody tr', (tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()), /^data:dataset2 FACILITY OK 2\/2 files Delete$/);

    const bobPage = await (await browser.newContext()).newPage();
    await portalLogin(bobPage, p.base, 'bob', 'bob-password');
    await bobPage.goto(`${p.base}/hub/data`);
    await bobPage.fill('[data-testid="data-query"]', 'data:dataset1');
    await bobPage.click('[data-testid="data-search"]');
    await bobPage.click('text=data:dataset1');
    await bobPage.click('[data-testid="data-stage"]');
    await bobPage.waitForSelector('[data-testid="data-error"]');
    assert.match((await bobPage.textContent('[data-testid="data-error"]'))!, /^Your Rucio account "bob" has not enough quota left at FACILITY for data:dataset1\./);
    // bob sees none of alice's rules.
    assert.equal(await bobPage.textContent('section[aria-label="Your rules"] p'), 'No rules.');
  });
});
