/**
 * Storage elements' health on the Resources page, against real XRootD 5.5 processes: the hub's
 * embedded one, a second xrootd on another port as an "external" element (root:// and https://),
 * and a URL on a closed port. The probes are real xrdfs and PROPFIND exchanges.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { StorageElementModel } from '../../src/contracts/storage.js';
import { ensureXrootd, isXrootd } from '../../src/storage/index.js';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { Platform } from '../helpers/platform.js';
import { captureStderr, freePort, JWT_PATTERN, stopXrootd } from './helpers.js';

const HAVE_XROOTD = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/bin/xrdfs') && fs.existsSync('/usr/lib/x86_64-linux-gnu/libXrdAccSciTokens-5.so');

describe('storage elements: health probes and the Resources page', { skip: !HAVE_XROOTD && 'XRootD is not installed (scripts/install-deps.sh)' }, () => {
  let p: Platform;
  let browser: Browser;
  let ext: string;
  let extPid = 0;
  let embeddedPort: number;
  let extPort: number;
  let closedPort: number;
  let token: string;
  const logs = captureStderr();
  // `xrootd -v` prints its version (v5.5.3 from Debian 12) on stderr.
  const version = HAVE_XROOTD ? (() => { const r = spawnSync('/usr/bin/xrootd', ['-v'], { encoding: 'utf8' }); return (r.stderr + r.stdout).trim(); })() : '';

  async function elements(refresh: boolean): Promise<StorageElementModel[]> {
    const r = await p.api('GET', `/hub/api/storage${refresh ? '?refresh=1' : ''}`, { token });
    assert.equal(r.status, 200, r.text);
    // Facility health: no token of any kind travels in it.
    assert.doesNotMatch(r.text, JWT_PATTERN);
    return r.json<{ elements: StorageElementModel[] }>().elements;
  }

  /** The fields a user reads, without the times and latency (asserted apart). */
  function seen(els: StorageElementModel[]) {
    return els.map((e) => ({ name: e.name, url: e.url, kind: e.kind, state: e.state, version: e.version, message: e.message, lastError: e.lastError?.message ?? null }));
  }

  before(async () => {
    ext = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-ext-se-'));
    embeddedPort = await freePort();
    extPort = await freePort();
    closedPort = await freePort();
    p = await Platform.start({
      users: [{ name: 'alice' }],
      config: {
        storage: {
          embedded: true, port: embeddedPort,
          // Latency on a shared 2-core machine says nothing here; the slow rule is not under test.
          probeSlowMs: 60_000,
          elements: [
            { name: 'tier2-root', url: `root://127.0.0.1:${extPort}//store`, caFile: path.join(ext, 'storage-ca', 'storage-ca.pem') },
            { name: 'tier2-https', url: `https://127.0.0.1:${extPort}/public`, kind: 'xrootd', caFile: path.join(ext, 'storage-ca', 'storage-ca.pem') },
            { name: 'gone', url: `root://127.0.0.1:${closedPort}`, kind: 'eos' },
          ],
        },
      },
    });
    token = await p.token('alice');
    browser = await launchChromium();
  });

  after(async () => {
    logs.stop();
    await browser?.close();
    await p?.close();
    await stopXrootd(extPid);
    if (ext) fs.rmSync(ext, { recursive: true, force: true });
  });

  test('before the external element exists: its CA file is missing (degraded), the closed port is unreachable, the embedded one is ok', async () => {
    const els = await elements(true);
    assert.deepEqual(seen(els), [
      { name: 'embedded', url: `root://127.0.0.1:${embeddedPort}`, kind: 'xrootd', state: 'ok', version, message: `answers root:// queries (XRootD ${version})`, lastError: null },
      { name: 'tier2-root', url: `root://127.0.0.1:${extPort}//store`, kind: 'xrootd', state: 'degraded', version: null, message: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.`, lastError: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.` },
      { name: 'tier2-https', url: `https://127.0.0.1:${extPort}/public`, kind: 'xrootd', state: 'degraded', version: null, message: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.`, lastError: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.` },
      { name: 'gone', url: `root://127.0.0.1:${closedPort}`, kind: 'eos', state: 'unreachable', version: null, message: `Connection to 127.0.0.1:${closedPort} refused: nothing listens there. Is the storage element running, and is the port in its url right?`, lastError: `Connection to 127.0.0.1:${closedPort} refused: nothing listens there. Is the storage element running, and is the port in its url right?` },
    ]);
    for (const e of els) {
      assert.ok(e.checked && Date.now() - Date.parse(e.checked) < 30_000, `${e.name} checked ${e.checked}`);
      assert.ok(typeof e.latencyMs === 'number' && e.latencyMs >= 0 && e.latencyMs < 5000, `${e.name} latency ${e.latencyMs}`);
    }
    // Without credentials: refused like every hub API.
    assert.equal((await p.api('GET', '/hub/api/storage', {})).status, 403);
  });

  test('a second real xrootd as the external element: root:// (xrdfs query config version) and https:// (PROPFIND) are ok, with its version', async () => {
    const storage = p.hub!.hub.storage!;
    // It trusts the hub's storage issuer, as a site's element would be configured to: the probe's
    // login token (audience https://127.0.0.1:<its port>) is accepted, so it tells its version.
    const h = await ensureXrootd({
      dataDir: ext, storageRoot: path.join(ext, 'storage'), port: extPort, host: '127.0.0.1',
      issuer: storage.issuer, publicJwks: storage.publicJwks, audiences: [`https://127.0.0.1:${extPort}`],
    });
    extPid = h.pid;
    // A refresh within 2 s of the last probe gets that probe's answer (the page's button cannot flood elements).
    await new Promise((r) => setTimeout(r, 2100));
    const els = await elements(true);
    assert.deepEqual(seen(els).slice(1, 3), [
      { name: 'tier2-root', url: `root://127.0.0.1:${extPort}//store`, kind: 'xrootd', state: 'ok', version, message: `answers root:// queries (XRootD ${version})`, lastError: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.` },
      // No token is sent over https: XrdHttp's 403 says it serves and wants one.
      { name: 'tier2-https', url: `https://127.0.0.1:${extPort}/public`, kind: 'xrootd', state: 'ok', version, message: `answers HTTP 403 to PROPFIND /public (XrootD/${version})`, lastError: `caFile ${path.join(ext, 'storage-ca', 'storage-ca.pem')} cannot be read (ENOENT): fix the path in storage.elements, or make it readable by the hub.` },
    ]);
    assert.equal(els[3]!.state, 'unreachable');
  });

  test('the Resources page shows a Storage section: state badges, latency, version, errors; Refresh probes again and shows a killed element unreachable', async () => {
    const page = await (await browser.newContext()).newPage();
    await portalLogin(page, p.base, 'alice', 'alice-password');
    await page.click('[data-testid="nav-resources"]');
    await page.waitForURL(`${p.base}/hub/resources`);
    await page.waitForSelector('[data-testid="storage-table"]');
    const rows = () => page.$$eval('[data-testid="storage-table"] tbody tr', (trs) => trs.map((tr) => ({
      name: tr.getAttribute('data-testid'),
      state: tr.getAttribute('data-state'),
      badge: tr.querySelector('[data-testid="storage-state"]')!.textContent,
      message: tr.querySelector('[data-testid="storage-message"]')!.textContent,
      latency: tr.querySelector('[data-testid="storage-latency"]')!.textContent,
      version: tr.querySelector('[data-testid="storage-version"]')!.textContent,
      error: tr.querySelector('[data-testid="storage-error"]')!.textContent,
    })));
    const before = await rows();
    assert.deepEqual(before.map((r) => [r.name, r.state, r.badge, r.version]), [
      ['storage-row-embedded', 'ok', 'OK', version],
      ['storage-row-tier2-root', 'ok', 'OK', version],
      ['storage-row-tier2-https', 'ok', 'OK', version],
      ['storage-row-gone', 'unreachable', 'Unreachable', '—'],
    ]);
    for (const r of before) assert.match(r.latency!, /^\d+ ms$/);
    assert.equal(before[0]!.error, 'none');
    assert.equal(before[3]!.message, `Connection to 127.0.0.1:${closedPort} refused: nothing listens there. Is the storage element running, and is the port in its url right?`);
    assert.match(before[3]!.error!, new RegExp(`^Connection to 127\\.0\\.0\\.1:${closedPort} refused: nothing listens there\\. Is the storage element running, and is the port in its url right\\?`));

    // The external element dies; the Refresh button asks the hub to probe now.
    process.kill(extPid, 'SIGKILL');
    for (let i = 0; i < 50 && isXrootd(extPid); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2100));
    await page.click('[data-testid="refresh"]');
    await page.waitForSelector('[data-testid="storage-row-tier2-root"][data-state="unreachable"]', { timeout: 15_000 });
    const afterKill = await rows();
    assert.deepEqual(afterKill.map((r) => [r.name, r.state, r.badge]), [
      ['storage-row-embedded', 'ok', 'OK'],
      ['storage-row-tier2-root', 'unreachable', 'Unreachable'],
      ['storage-row-tier2-https', 'unreachable', 'Unreachable'],
      ['storage-row-gone', 'unreachable', 'Unreachable'],
    ]);
    assert.equal(afterKill[1]!.message, `Connection to 127.0.0.1:${extPort} refused: nothing listens there. Is the storage element running, and is the port in its url right?`);
    assert.match(afterKill[1]!.error!, new RegExp(`^Connection to 127\\.0\\.0\\.1:${extPort} refused`));
    // Probe tokens went to xrdfs in its environment only: none in the hub's log, which did record the changes of state.
    assert.ok(logs.lines.some((l) => l.includes('"msg":"storage element not ok"') && l.includes('"element":"tier2-root"') && l.includes('"state":"unreachable"')));
    assert.doesNotMatch(logs.lines.join(''), JWT_PATTERN);
    await page.context().close();
  });
});
