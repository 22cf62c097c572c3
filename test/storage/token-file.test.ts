/**
 * The token file pods read (BEARER_TOKEN_FILE): the hub rewrites it before its token expires, so
 * a reader that takes the file's current token for each request is never refused by the real
 * XRootD, over several lifetimes of a short-lived token. The file is 0600 and owned by the user
 * (XRootD's client refuses others' files), replaced atomically, and removed when the user has no
 * running workload any more.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { validateConfig } from '../../src/config/load.js';
import { StorageService, type TokenOwner } from '../../src/storage/index.js';
import { freePort, stopXrootd } from './helpers.js';

const HAVE_XROOTD = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/lib/x86_64-linux-gnu/libXrdAccSciTokens-5.so');
const LIFETIME = 4;


function get(url: string, ca: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}

describe('storage token files', { skip: !HAVE_XROOTD && 'XRootD is not installed (scripts/install-deps.sh)' }, () => {
  let tmp: string;
  let service: StorageService;
  let pid = 0;
  let port: number;
  let ca: string;
  // As root the file is handed to another uid, as to a pod's user; otherwise it stays the hub's.
  const owner: TokenOwner = process.getuid?.() === 0 ? { uid: 200_987, gid: 200_987 } : { uid: process.getuid!(), gid: process.getgid!() };
  const wanted = new Set<string>(['alice']);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-btfile-'));
    port = await freePort();
    const config = validateConfig({ storage: { embedded: true, port, tokenLifetime: LIFETIME, refreshAt: 0.5 } }, 'test');
    service = await StorageService.create({
      config, dataDir: path.join(tmp, 'data'), publicUrl: 'http://127.0.0.1:18001', embedded: true,
      wanted: async () => [...wanted].map((user) => ({ user, groups: [], owner })),
    });
    await service.start();
    pid = service.endpoints!.pid;
    ca = fs.readFileSync(service.endpoints!.caFile, 'utf8');
    fs.writeFileSync(path.join(tmp, 'data', 'storage', 'public', 'f.txt'), 'fresh\n', { mode: 0o644 });
  });

  after(async () => {
    await service?.close();
    await stopXrootd(pid);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the file is rewritten before expiry; every read with its current token succeeds', async () => {
    const access = await service.podAccess('alice', [], owner, true);
    assert.equal(access.mountPath, '/run/wlcg-token');
    assert.deepEqual(access.env.find((e) => e.name === 'BEARER_TOKEN_FILE'), { name: 'BEARER_TOKEN_FILE', value: '/run/wlcg-token/bt' });
    const file = path.join(access.hostDir, 'bt');
    const seen = new Map<string, number>(); // jti → exp
    const end = Date.now() + LIFETIME * 2.5 * 1000;
    let reads = 0;
    while (Date.now() < end) {
      const st = fs.statSync(file);
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(st.uid, owner.uid);
      const dir = fs.statSync(access.hostDir);
      assert.equal(dir.mode & 0o777, 0o700);
      assert.equal(dir.uid, owner.uid);
      const token = fs.readFileSync(file, 'utf8').trim();
      const claims = decodeJwt(token);
      // Never a token in its last half of life: the refresher rewrites at 50 %.
      const left = claims.exp! - Date.now() / 1000;
      assert.ok(left > LIFETIME * 0.5 - 1.2, `token with ${left.toFixed(2)} s left`);
      seen.set(claims.jti!, claims.exp!);
      assert.equal(await get(`https://127.0.0.1:${port}/public/f.txt`, ca, token), 200);
      reads++;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(reads > 10);
    assert.ok(seen.size >= 4, `only ${seen.size} tokens over ${2.5 * LIFETIME} s`);
    // No temporary files left behind by the atomic rewrites.
    assert.deepEqual(fs.readdirSync(access.hostDir).sort(), ['bt', 'ca']);
    // The storage's CA travels with the token: X509_CERT_DIR for root://, a PEM for https clients.
    assert.deepEqual(access.env.find((e) => e.name === 'X509_CERT_DIR'), { name: 'X509_CERT_DIR', value: '/run/wlcg-token/ca' });
    assert.equal(fs.readFileSync(path.join(access.hostDir, 'ca', 'storage-ca.pem'), 'utf8'), ca);
  });

  test('a token from the file, kept past its expiry, is refused: the refresh is what keeps reads working', async () => {
    const file = path.join(service.refresher.dirOf('alice'), 'bt');
    // A token XRootD has not seen yet: its SciTokens plugin (5.5) keeps a token it accepted for
    // about 60 s from first use, past `exp` (measured), so only an unused token shows expiry.
    const current = fs.readFileSync(file, 'utf8').trim();
    let stale = current;
    for (let i = 0; i < 100 && stale === current; i++) {
      await new Promise((r) => setTimeout(r, 50));
      stale = fs.readFileSync(file, 'utf8').trim();
    }
    assert.notEqual(stale, current, 'the file was not rewritten');
    await new Promise((r) => setTimeout(r, (decodeJwt(stale).exp! - Date.now() / 1000 + 1) * 1000));
    assert.equal(await get(`https://127.0.0.1:${port}/public/f.txt`, ca, stale), 403);
    assert.equal(await get(`https://127.0.0.1:${port}/public/f.txt`, ca, fs.readFileSync(file, 'utf8').trim()), 200);
  });

  test('a user with no running workload loses the file', async () => {
    wanted.delete('alice');
    const dir = service.refresher.dirOf('alice');
    const end = Date.now() + 5000;
    while (fs.existsSync(dir) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(service.refresher.tracked(), []);
  });
});
