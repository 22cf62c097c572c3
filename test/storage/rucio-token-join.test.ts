/**
 * Rucio's replicas joined to the token-authorised embedded XRootD: the Rucio test server's
 * facility RSE is the real XRootD the hub runs (`storage.embedded`, WLCG tokens required), under
 * its public area (`/public/rucio/`), and a scratch RSE maps Rucio's user scopes onto users' areas
 * (`user.bob` → `/user/bob/…`, Rucio's `hash` path). In a real kernel of alice's notebook server,
 * `highrate_data` finds the files through the hub and reads them with the pod's token file over
 * root:// and https://; a file Rucio lists under bob's area is refused by the storage, and the
 * helper says so.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { adler32 } from '../../src/data/adler32.js';
import { hashPath } from '../fixtures/rucio-server/pfn.js';
import { demoState, seedContent } from '../fixtures/rucio-server/seed.js';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { startRucioProcess, type RucioProcess } from '../data/rucio-process.js';
import { freePort } from './helpers.js';

const ready = existsSync('/usr/bin/xrootd') && existsSync('/usr/bin/xrdcp') && existsSync('/usr/lib/python3/dist-packages/XRootD');
const PRIVATE = { scope: 'user.bob', name: 'private.root', bytes: 4096 };

describe('Rucio replicas on the token-authorised embedded XRootD', { skip: !ready && 'needs XRootD, xrdcp and python3-xrootd' }, () => {
  let work: string;
  let storageRoot: string;
  let port: number;
  let rucio: RucioProcess;
  let p: Platform;
  let ws: WebSocket;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'highrate-rucio-token-'));
    chmodSync(work, 0o755);
    storageRoot = join(work, 'storage');
    port = await freePort();
    const state = demoState({ facilityRse: 'FACILITY', rootUrl: `root://127.0.0.1:${port}`, httpsUrl: `https://127.0.0.1:${port}`, prefix: '/public/rucio/' });
    // A scratch RSE on the same storage element with an empty prefix: Rucio's `hash` path of a
    // `user.<name>` scope is `user/<name>/…`, so its PFNs fall in the users' own areas.
    state.rses['FACILITY-SCRATCH'] = {
      id: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', attributes: { 'FACILITY-SCRATCH': true, site: 'FACILITY', type: 'SCRATCHDISK' },
      protocols: [{ scheme: 'root', hostname: '127.0.0.1', port, prefix: '//' }, { scheme: 'https', hostname: '127.0.0.1', port, prefix: '/' }],
    };
    state.scopes[PRIVATE.scope] = 'bob';
    const content = seedContent(PRIVATE.scope, PRIVATE.name, PRIVATE.bytes);
    state.dids[`${PRIVATE.scope}:${PRIVATE.name}`] = { ...PRIVATE, type: 'FILE', account: 'bob', adler32: adler32(content), created_at: 'Thu, 03 Dec 2026 09:00:00 UTC' };
    state.replicas.push({ scope: PRIVATE.scope, name: PRIVATE.name, rse: 'FACILITY-SCRATCH', due: 0 });
    rucio = await startRucioProcess({ state, args: ['--replication-seconds', '0.2', '--storage-prefix', '/public/rucio/', '--storage-dir', storageRoot] });
    writeFileSync(join(work, 'pw'), 'hub-secret\n');
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: {
        storage: { embedded: true, port, root: storageRoot },
        data: { rucio: { url: rucio.url, facilityRse: 'FACILITY', username: 'highrate', passwordFile: join(work, 'pw'), schemes: ['root', 'https'] } },
      },
    });
    const bobFile = join(storageRoot, hashPath(PRIVATE.scope, PRIVATE.name));
    mkdirSync(dirname(bobFile), { recursive: true, mode: 0o755 });
    writeFileSync(bobFile, content, { mode: 0o644 });
    const alice = await p.token('alice');
    await p.startServer('alice', alice, {});
    const headers = { authorization: `token ${alice}` };
    ws = await openChannels(p.base, '/user/alice/', await startKernel(p.base, '/user/alice/', headers), headers);
  });

  after(async () => {
    ws?.close();
    await p?.close();
    await rucio?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const dataset2 = [['file4.root', 2048], ['file5.root', 1024]] as const;
  const rootUrl = (path: string) => `root://127.0.0.1:${port}//${path}`;
  const httpsUrl = (path: string) => `https://127.0.0.1:${port}/${path}`;

  test('files() → bytes over root:// and https:// with the pod\'s token: identical, adler32 as Rucio says; download() checks it', async () => {
    const code = `
import json, os, ssl, urllib.request, zlib
import highrate_data as hd
from XRootD import client

def via_root(url):
    f = client.File()
    st, _ = f.open(url)
    assert st.ok, st.message
    st, data = f.read()
    f.close()
    return data

def via_https(url):
    token = open(os.environ["BEARER_TOKEN_FILE"]).read().strip()
    ctx = ssl.create_default_context(cafile=os.environ["HIGHRATE_STORAGE_CA"])
    return urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + token}), context=ctx).read()

rule = hd.stage("data:dataset2", wait=True, poll=0.2)
out = {"state": rule["state"], "files": [], "default": hd.files("data:dataset2")}
for r, h in zip(hd.files("data:dataset2", scheme="root", details=True), hd.files("data:dataset2", scheme="https", details=True)):
    a, b = via_root(r["url"]), via_https(h["url"])
    out["files"].append([r["did"], r["url"], h["url"], len(a), a == b, "%08x" % zlib.adler32(a), r["adler32"], h["adler32"]])
out["downloads"] = {}
for scheme in ("root", "https"):
    paths = hd.download("data:dataset2", "/tmp/dl-" + scheme, scheme=scheme)
    out["downloads"][scheme] = [[p, "%08x" % zlib.adler32(open(p, "rb").read())] for p in paths] + [sorted(os.listdir("/tmp/dl-" + scheme))]
print(json.dumps(out))
`;
    const out = JSON.parse((await execute(ws, code, 120_000)).trim());
    assert.equal(out.state, 'OK');
    const paths = dataset2.map(([n]) => `public/rucio/${hashPath('data', n)}`);
    assert.deepEqual(out.default, paths.map(rootUrl));
    const sums = dataset2.map(([n, size]) => adler32(seedContent('data', n, size)));
    assert.deepEqual(out.files, dataset2.map(([n, size], i) => [`data:${n}`, rootUrl(paths[i]!), httpsUrl(paths[i]!), size, true, sums[i], sums[i], sums[i]]));
    for (const scheme of ['root', 'https']) {
      assert.deepEqual(out.downloads[scheme], [...dataset2.map(([n], i) => [`/tmp/dl-${scheme}/${n}`, sums[i]]), ['file4.root', 'file5.root']]);
    }
  });

  test('download() of a replica whose bytes differ from Rucio\'s: ChecksumMismatch over both protocols, no copy left', async () => {
    // After the first test: the files are at the facility. Same size, other bytes.
    writeFileSync(join(storageRoot, 'public', 'rucio', hashPath('data', 'file5.root')), Buffer.alloc(1024, 7), { mode: 0o644 });
    const code = `
import json, os
import highrate_data as hd
out = {}
for scheme in ("root", "https"):
    try:
        hd.download("data:dataset2", "/tmp/bad-" + scheme, scheme=scheme)
        out[scheme] = "NO ERROR"
    except hd.ChecksumMismatch as e:
        out[scheme] = [e.code, str(e), sorted(os.listdir("/tmp/bad-" + scheme))]
print(json.dumps(out))
`;
    const out = JSON.parse((await execute(ws, code, 60_000)).trim());
    const path = `public/rucio/${hashPath('data', 'file5.root')}`;
    const wrong = adler32(Buffer.alloc(1024, 7));
    const right = adler32(seedContent('data', 'file5.root', 1024));
    assert.deepEqual(out, {
      root: ['CHECKSUM_MISMATCH', `data:file5.root from ${rootUrl(path)} has adler32 ${wrong}, Rucio says ${right}; the copy was removed.`, ['file4.root']],
      https: ['CHECKSUM_MISMATCH', `data:file5.root from ${httpsUrl(path)} has adler32 ${wrong}, Rucio says ${right}; the copy was removed.`, ['file4.root']],
    });
  });

  test('a file Rucio lists under bob\'s area: the storage refuses alice\'s token, the helper says why; bob\'s token reads it', async () => {
    const code = `
import json, os
import highrate_data as hd
out = {"listed": hd.files("${PRIVATE.scope}:${PRIVATE.name}")}
for scheme in ("root", "https"):
    try:
        hd.download("${PRIVATE.scope}:${PRIVATE.name}", "/tmp/bob-" + scheme, scheme=scheme)
        out[scheme] = "READ"
    except hd.StorageRefused as e:
        out[scheme] = [type(e).__name__, isinstance(e, hd.DataError), e.code, e.status, str(e), os.listdir("/tmp/bob-" + scheme)]
print(json.dumps(out))
`;
    const out = JSON.parse((await execute(ws, code, 60_000)).trim());
    const path = hashPath(PRIVATE.scope, PRIVATE.name);
    assert.match(path, /^user\/bob\/[0-9a-f]{2}\/[0-9a-f]{2}\/private\.root$/);
    const did = `${PRIVATE.scope}:${PRIVATE.name}`;
    const why = `your storage token (alice) may read /public, /user/alice, not /${path}.`;
    assert.deepEqual(out, {
      listed: [rootUrl(path)],
      root: ['StorageRefused', true, 'STORAGE_FORBIDDEN', 403, `The storage refused to serve ${did} (${rootUrl(path)}, XRootD error 3010: not authorised): ${why}`, []],
      https: ['StorageRefused', true, 'STORAGE_FORBIDDEN', 403, `The storage refused to serve ${did} (${httpsUrl(path)}, HTTP 403): ${why}`, []],
    });
    // The refusal is the token's: the same URL is served to bob's token.
    const bob = await p.hub!.hub.storage!.issue('bob', []);
    const got = await promisify(execFile)('xrdcp', ['-s', rootUrl(path), '-'], {
      env: { PATH: process.env.PATH!, BEARER_TOKEN: bob.token, X509_CERT_DIR: p.hub!.hub.storage!.endpoints!.caDir },
      encoding: 'buffer', timeout: 30_000,
    });
    assert.ok(got.stdout.equals(seedContent(PRIVATE.scope, PRIVATE.name, PRIVATE.bytes)), 'bob reads his own file');
  });
});
