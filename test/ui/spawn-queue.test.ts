/**
 * The portal's start page under the spawn limit, in real Chromium: instead of spinning it shows the
 * place in line the hub's 429 gives, asks again after Retry-After, and opens the server once in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { Platform } from '../helpers/platform.js';

/** The tiny server, ready only after 3 s, so a start holds its slot long enough to queue behind it. */
const SLOW = ['/bin/sh', '-c', 'sleep 3; exec "$0" "$@"', ...tinyServerCommand()];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('start page in the spawn line', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;
  let admin: string;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice' }],
      config: {
        hub: { concurrentSpawnLimit: 1, spawnRetryAfterMin: 1, spawnRetryAfterMax: 2 },
        profiles: [{ name: 'slow', default: true, command: SLOW }],
      },
    });
    admin = await p.token('admin');
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: ['blocker', 'bob'] })).status, 201);
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    await portalLogin(page, p.base, 'alice', 'alice-password');
  });
  after(async () => {
    await browser?.close();
    await p?.close();
  });

  test('Start shows "Waiting to start: 1 ahead of you", then "you are next", then opens the server', async () => {
    const admission = p.hub!.hub.servers.admission;
    const blocker = p.api('POST', '/hub/api/users/blocker/server', { token: admin }, {});
    while (admission.starting < 1) await sleep(20);
    const bob = await p.api('POST', '/hub/api/users/bob/server', { token: admin }, {});
    assert.equal(bob.status, 429);
    assert.equal(bob.json().position, 1);

    await page.goto(`${p.base}/hub/spawn`);
    await page.click('[data-testid="spawn-submit"]');
    const queue = page.locator('[data-testid="spawn-queue"]');
    await page.getByText('Waiting to start: 1 ahead of you').waitFor();
    assert.equal(await queue.getAttribute('data-position'), '2');
    assert.match((await queue.textContent())!, /^Too many users trying to log in right now\. Try again in 10 seconds\. 1 user is ahead of you\. Trying again in [0-3] s\.$/);

    assert.equal((await blocker).status, 201);
    // Bob, first in line, gets the free slot; while he starts, alice's page (asking again by itself) moves up.
    const bobStart = p.api('POST', '/hub/api/users/bob/server', { token: admin }, {});
    await page.getByText('Waiting to start: you are next').waitFor();
    assert.equal((await bobStart).status, 201);
    // Then alice is in: the page follows the start and opens her server.
    await page.waitForURL(`${p.base}/user/alice/`, { timeout: 30_000 });
    assert.match((await page.textContent('body'))!, /"ok": true/);
  });

  test('"Stop waiting" gives the place in line back and shows the form again', async () => {
    const admission = p.hub!.hub.servers.admission;
    assert.equal((await p.api('DELETE', '/hub/api/users/blocker/server', { token: admin })).status, 204);
    const blocker = p.api('POST', '/hub/api/users/blocker/server', { token: admin }, {});
    while (admission.starting < 1) await sleep(20);
    await page.goto(`${p.base}/hub/spawn/alice/second`);
    await page.click('[data-testid="spawn-submit"]');
    await page.getByText('Waiting to start: you are next').waitFor();
    assert.equal(admission.waiting, 1);
    await page.click('[data-testid="spawn-queue-cancel"]');
    await page.locator('[data-testid="spawn-submit"]').waitFor();
    const waiting = () => admission.waiting;
    for (let i = 0; i < 100 && waiting() !== 0; i++) await sleep(20);
    assert.equal(waiting(), 0);
    assert.equal((await blocker).status, 201);
    const second = (await p.api('GET', '/hub/api/users/alice', { token: admin })).json().servers.second;
    assert.equal(second, undefined, 'the named server was never created');
  });
});
