import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { http } from '../helpers/http.js';
import { readProgress, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { launchChromium, portalLogin } from '../helpers/chromium.js';

/**
 * Cross-site WebSocket hijacking and CSRF against a logged-in user's notebook, from a page on
 * another origin of the same site (another port of the same host: "same-site", so the browser
 * sends the SameSite=Lax session cookie), in real Chromium. The proxy swaps the cookie for the
 * server's token, so without its Origin check the notebook would take these requests as the
 * user's own. The same requests from the platform's own origin work (the control).
 */
describe('cross-origin pages cannot drive a logged-in user\'s kernels (Chromium)', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;
  let evil: Server;
  let evilBase: string;
  let token: string;
  let kernel: string;

  const kernels = async () => (await http('GET', `${p.base}/user/alice/api/kernels`, { headers: { authorization: `token ${token}` } })).json().length as number;

  before(async () => {
    // Token mode: the proxy swaps the session cookie for the server's token, the case the
    // Origin check exists for (a jupyterhub-singleuser server also checks Origin itself).
    p = await Platform.start({ users: [{ name: 'alice', password: 'alice-secret-pw' }], config: { profiles: [{ name: 'default', default: true, auth: 'token' }] } });
    token = await p.token('alice');
    const r = await p.api('POST', '/hub/api/users/alice/server', { token }, { cores: 1 });
    assert.ok([201, 202].includes(r.status), r.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${token}` });
    assert.equal(events.at(-1).ready, true);
    kernel = await startKernel(p.base, '/user/alice/', { authorization: `token ${token}` });

    // The attacker's page: same host, another port.
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>cat pictures</title>');
    });
    await new Promise<void>((ok) => evil.listen(0, '127.0.0.1', ok));
    evilBase = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;

    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(60_000);
    await portalLogin(page, p.base, 'alice', 'alice-secret-pw');
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (evil ? evil.close(() => ok()) : ok()));
    await p?.close();
  });

  /** Opens the kernel's WebSocket from the current page: 'open', or the handshake's failure as Chromium reports it. */
  async function webSocketFromPage(): Promise<{ result: string; handshake: string }> {
    const url = `${p.base.replace('http', 'ws')}/user/alice/api/kernels/${kernel}/channels`;
    const failure = new Promise<string>((resolve) => {
      page.once('websocket', (ws) => {
        ws.on('socketerror', (e) => resolve(e));
        ws.on('framereceived', () => resolve('frames'));
      });
    });
    const result = await page.evaluate((u) => new Promise<string>((resolve) => {
      const ws = new WebSocket(u);
      ws.onopen = () => { ws.close(); resolve('open'); };
      ws.onerror = () => resolve('error');
    }), url);
    const handshake = result === 'open' ? 'open' : await failure;
    return { result, handshake };
  }

  test('a WebSocket to the kernel from another origin is refused with 403; from the platform\'s own page it opens', async () => {
    await page.goto(`${evilBase}/`);
    const hijack = await webSocketFromPage();
    assert.equal(hijack.result, 'error');
    assert.match(hijack.handshake, /Unexpected response code: 403/);

    await page.goto(`${p.base}/hub/home`);
    assert.deepEqual(await webSocketFromPage(), { result: 'open', handshake: 'open' });
  });

  test('a POST that starts a kernel from another origin is refused (ORIGIN_REFUSED) and starts nothing', async () => {
    const before = await kernels();
    await page.goto(`${evilBase}/`);
    const responded = page.waitForResponse((r) => r.url().endsWith('/user/alice/api/kernels') && r.request().method() === 'POST');
    await page.evaluate((u) => fetch(u, { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' }).then(() => 'sent', () => 'failed'), `${p.base}/user/alice/api/kernels`);
    assert.equal((await responded).status(), 403);
    assert.equal(await kernels(), before);
    // The answer's body is opaque to the page; the same request with the browser's cookie shows it.
    const cookie = (await page.context().cookies(p.base)).map((c) => `${c.name}=${c.value}`).join('; ');
    const replay = await http('POST', `${p.base}/user/alice/api/kernels`, { headers: { cookie, origin: evilBase }, body: {} });
    assert.equal(replay.status, 403);
    assert.equal(replay.json().code, 'ORIGIN_REFUSED');
    assert.equal(replay.json().message, `Cross-origin request refused: Origin ${evilBase} is not this site (${new URL(p.base).host}). Open the notebook from the platform's own address, or use a token.`);

    // A form post (no JavaScript needed by an attacker) is refused the same way.
    await page.setContent(`<form method="POST" action="${p.base}/user/alice/api/kernels" enctype="text/plain"><input name='{"a":"' value='"}'></form>`);
    const [navigation] = await Promise.all([page.waitForNavigation(), page.evaluate(() => (document.forms[0] as HTMLFormElement).submit())]);
    assert.equal(navigation?.status(), 403);
    assert.equal(await kernels(), before);

    // The control: the platform's own page starts a kernel with the same cookie.
    await page.goto(`${p.base}/hub/home`);
    const own = await page.evaluate(async () => (await fetch('/user/alice/api/kernels', { method: 'POST', body: '{}' })).status);
    assert.equal(own, 201);
    assert.equal(await kernels(), before + 1);
  });
});
