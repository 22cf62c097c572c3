/**
 * With no Rucio configured, the Data page browses the embedded storage element (the real XRootD
 * 5.5, XrdHttp's PROPFIND) with the user's own storage token: the hub API and the page in Chromium.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { StorageListing } from '../../src/contracts/storage.js';
import { launchChromium, portalLogin } from '../helpers/chromium.js';
import { Platform } from '../helpers/platform.js';
import { captureStderr, freePort, JWT_PATTERN } from '../storage/helpers.js';

const HAVE_XROOTD = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/lib/x86_64-linux-gnu/libXrdAccSciTokens-5.so');

function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('Data page without Rucio: the embedded storage element (Chromium)', { skip: !HAVE_XROOTD && 'XRootD is not installed (scripts/install-deps.sh)' }, () => {
  let p: Platform;
  let browser: Browser;
  let port: number;
  let alice: string;
  let bob: string;
  const readme = Buffer.from('how to read the runs\n');
  const events = Buffer.alloc(3000, 7);
  const logs = captureStderr();

  function put(rel: string, bytes: Buffer): void {
    const f = path.join(p.dataDir, 'storage', rel);
    fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o755 });
    fs.writeFileSync(f, bytes, { mode: 0o644 });
  }
  const mtime = (rel: string) => new Date(Math.floor(fs.statSync(path.join(p.dataDir, 'storage', rel)).mtimeMs / 1000) * 1000).toISOString();

  before(async () => {
    port = await freePort();
    p = await Platform.start({ users: [{ name: 'alice' }, { name: 'bob' }], config: { storage: { embedded: true, port } } });
    put('public/README.txt', readme);
    put('public/run1/events.root', events);
    put('user/alice/notes.txt', Buffer.from('mine\n'));
    put('user/bob/secret.txt', Buffer.from('not for alice\n'));
    alice = await p.token('alice');
    bob = await p.token('bob');
    browser = await launchChromium();
  });
  after(async () => {
    logs.stop();
    await browser?.close();
    await p?.close();
  });

  test('the hub API lists what the caller\'s own token may read; another user\'s area is the storage\'s 403; bad paths are 400', async () => {
    // Rucio's part still says there is none.
    assert.equal((await p.api('GET', '/hub/api/data', { token: alice })).json().code, 'NOT_FOUND');
    const roots = await p.api('GET', '/hub/api/data/storage', { token: alice });
    assert.equal(roots.status, 200, roots.text);
    assert.deepEqual(roots.json(), {
      rootUrl: `root://127.0.0.1:${port}`, httpsUrl: `https://127.0.0.1:${port}`,
      roots: [{ path: '/public', access: 'read' }, { path: '/user/alice', access: 'read, create, modify' }],
    });

    const pub = await p.api('GET', '/hub/api/data/storage?path=/public', { token: alice });
    assert.equal(pub.status, 200, pub.text);
    assert.deepEqual(pub.json<StorageListing>(), {
      path: '/public', parent: '/', truncated: false,
      entries: [
        { name: 'run1', path: '/public/run1', dir: true, size: null, mtime: mtime('public/run1'), rootUrl: `root://127.0.0.1:${port}//public/run1`, httpsUrl: `https://127.0.0.1:${port}/public/run1` },
        { name: 'README.txt', path: '/public/README.txt', dir: false, size: readme.length, mtime: mtime('public/README.txt'), rootUrl: `root://127.0.0.1:${port}//public/README.txt`, httpsUrl: `https://127.0.0.1:${port}/public/README.txt` },
      ],
    });
    // Trailing and doubled slashes are the same directory.
    assert.deepEqual((await p.api('GET', '/hub/api/data/storage?path=//public/run1/', { token: alice })).json<StorageListing>().entries.map((e) => [e.name, e.size]), [['events.root', 3000]]);
    assert.deepEqual((await p.api('GET', '/hub/api/data/storage?path=/user/alice', { token: alice })).json<StorageListing>().entries.map((e) => e.name), ['notes.txt']);
    assert.deepEqual((await p.api('GET', '/hub/api/data/storage?path=/user/bob', { token: bob })).json<StorageListing>().entries.map((e) => e.name), ['secret.txt']);

    // The URL handed out serves the file's bytes to the user's storage token.
    const ca = fs.readFileSync(p.hub!.hub.storage!.endpoints!.caFile, 'utf8');
    const got = await httpsGet(pub.json<StorageListing>().entries[1]!.httpsUrl, ca, (await p.hub!.hub.storage!.issue('alice', [])).token);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, readme);

    const refused = await p.api('GET', '/hub/api/data/storage?path=/user/bob', { token: alice });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), { status: 403, code: 'STORAGE_FORBIDDEN', message: 'The storage element refused your token for /user/bob. Your token may read /public and /user/alice; ask the facility\'s administrators for access to other areas.' });
    const top = await p.api('GET', '/hub/api/data/storage?path=/', { token: alice });
    assert.equal(top.json().code, 'STORAGE_FORBIDDEN');
    const missing = await p.api('GET', '/hub/api/data/storage?path=/public/run2', { token: alice });
    assert.deepEqual([missing.status, missing.json().code, missing.json().message], [404, 'STORAGE_NOT_FOUND', '/public/run2 does not exist on the storage element.']);

    for (const bad of ['public', '/public/../user/bob', '/public/./run1', '', '/public/%00x', '/user/%0abob']) {
      const r = await p.api('GET', `/hub/api/data/storage?path=${bad}`, { token: alice });
      assert.deepEqual([r.status, r.json().code], [400, 'STORAGE_BAD_PATH'], `path ${JSON.stringify(bad)}: ${r.text}`);
    }
    // A token without read:data: refused before anything is asked of the storage.
    const narrow = await p.token('alice', ['read:servers!user=alice']);
    assert.equal((await p.api('GET', '/hub/api/data/storage?path=/public', { token: narrow })).json().code, 'MISSING_SCOPE');
    assert.equal((await p.api('GET', '/hub/api/data/storage?path=/public', {})).status, 403);
    // The storage tokens the hub used (and the refusals it logged) left no token in its log.
    assert.ok(logs.lines.some((l) => l.includes('STORAGE_FORBIDDEN')), 'the refusal is logged');
    assert.doesNotMatch(logs.lines.join(''), JWT_PATTERN);
  });

  test('the Data page browses: areas, directories, files with root:// and https:// URLs; another user\'s area shows the 403 and its code', async () => {
    const page = await (await browser.newContext()).newPage();
    await portalLogin(page, p.base, 'alice', 'alice-password');
    await page.click('[data-testid="nav-data"]');
    await page.waitForURL(`${p.base}/hub/data`);
    await page.waitForSelector('[data-testid="storage-root"]');
    assert.deepEqual(await page.$$eval('[data-testid="storage-root"]', (bs) => bs.map((b) => b.textContent)), ['/public', '/user/alice']);
    await page.click('[data-testid="storage-root"]:has-text("/public")');
    await page.waitForSelector('[data-testid="storage-listing"] tr[data-path="/public/README.txt"]');
    const rows = () => page.$$eval('[data-testid="storage-listing"] tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
    const r = await rows();
    assert.equal(r.length, 2);
    assert.match(r[0]!, /^run1\/ — /);
    assert.match(r[1]!, new RegExp(`^README\\.txt ${readme.length} B .* root://127\\.0\\.0\\.1:${port}//public/README\\.txt Copy https://127\\.0\\.0\\.1:${port}/public/README\\.txt Copy$`));
    await page.click('text=run1/');
    await page.waitForSelector('[data-testid="storage-listing"] tr[data-path="/public/run1/events.root"]');
    assert.equal(await page.textContent('[data-testid="storage-cwd"]'), '/public/run1');
    assert.match((await rows())[0]!, /^events\.root 2\.9 KiB /);
    await page.click('[data-testid="storage-up"]');
    await page.waitForSelector('[data-testid="storage-listing"] tr[data-path="/public/README.txt"]');

    await page.fill('[data-testid="storage-path"]', '/user/bob');
    await page.click('[data-testid="storage-open"]');
    await page.waitForSelector('[data-testid="storage-error"]');
    assert.equal(await page.textContent('[data-testid="storage-error"]'), 'The storage element refused your token for /user/bob. Your token may read /public and /user/alice; ask the facility\'s administrators for access to other areas. (403 STORAGE_FORBIDDEN)');
    assert.equal(await page.$('[data-testid="storage-listing"]'), null);

    await page.fill('[data-testid="storage-path"]', '/user/../etc');
    await page.click('[data-testid="storage-open"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="storage-error"]')?.textContent?.endsWith('(400 STORAGE_BAD_PATH)'));
    assert.equal(await page.textContent('[data-testid="storage-error"]'), 'The path "/user/../etc" has "." or ".." parts. Give an absolute path like /public or /user/<you>/data (no "." or ".." parts). (400 STORAGE_BAD_PATH)');
    await page.context().close();
  });
});
