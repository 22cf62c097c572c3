/**
 * The whole path through the hub: `storage.embedded: true` starts the real XRootD, a notebook
 * server started through the API gets its user's token file and the storage's CA, and code in its
 * kernel reads the same file over root:// (XRootD's Python client, BEARER_TOKEN_FILE) and https
 * (urllib with the token from the file), and writes the user's area.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { closeWithClusters } from '../clusters/helpers.js';
import { freePort } from './helpers.js';

const ready = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/lib/python3/dist-packages/XRootD');


describe('storage from a notebook kernel', { skip: !ready && 'needs XRootD and python3-xrootd' }, () => {
  let p: Platform;
  let alice: string;
  const bytes = randomBytes(1024 * 1024 + 3);

  before(async () => {
    const storagePort = await freePort();
    p = await Platform.start({ users: [{ name: 'alice' }], config: { storage: { embedded: true, port: storagePort }, clusters: { daskPort: 0, idleTimeout: 0 } } });
    fs.writeFileSync(path.join(p.dataDir, 'storage', 'public', 'events.bin'), bytes, { mode: 0o644 });
    alice = await p.token('alice');
    await p.startServer('alice', alice, {});
  });

  after(async () => {
    await closeWithClusters(p);
  });

  test('the kernel reads by root:// and https with the pod\'s token, identical bytes, and writes /user/alice/', async () => {
    const headers = { authorization: `token ${alice}` };
    const kernel = await startKernel(p.base, '/user/alice/', headers);
    const ws = await openChannels(p.base, '/user/alice/', kernel, headers);
    try {
      const code = [
        'import hashlib, os, ssl, urllib.request',
        'from XRootD import client',
        'from XRootD.client.flags import OpenFlags',
        "f = client.File(); st, _ = f.open(os.environ['HIGHRATE_STORAGE_ROOT_URL'] + '//public/events.bin'); assert st.ok, st.message",
        'st, viaroot = f.read(); f.close()',
        "token = open(os.environ['BEARER_TOKEN_FILE']).read().strip()",
        "ctx = ssl.create_default_context(cafile=os.environ['HIGHRATE_STORAGE_CA'])",
        "req = urllib.request.Request(os.environ['HIGHRATE_STORAGE_HTTPS_URL'] + '/public/events.bin', headers={'Authorization': 'Bearer ' + token})",
        'viahttps = urllib.request.urlopen(req, context=ctx).read()',
        "w = client.File(); st, _ = w.open(os.environ['HIGHRATE_STORAGE_ROOT_URL'] + '//user/alice/from-kernel.txt', OpenFlags.NEW | OpenFlags.MAKEPATH); assert st.ok, st.message",
        "w.write(b'written by the kernel'); w.close()",
        "print(os.environ['BEARER_TOKEN_FILE'], hashlib.sha256(viaroot).hexdigest(), viaroot == viahttps)",
      ].join('\n');
      const out = await execute(ws, code, 60_000);
      assert.equal(out, `/run/wlcg-token/bt ${createHash('sha256').update(bytes).digest('hex')} True\n`);
      assert.equal(fs.readFileSync(path.join(p.dataDir, 'storage', 'user', 'alice', 'from-kernel.txt'), 'utf8'), 'written by the kernel');
    } finally {
      ws.close();
    }
  });

  test('Dask workers read by root:// with their own token file (their owner\'s uid)', async () => {
    const headers = { authorization: `token ${alice}` };
    const kernel = await startKernel(p.base, '/user/alice/', headers);
    const ws = await openChannels(p.base, '/user/alice/', kernel, headers);
    try {
      const code = [
        'import json, os',
        'from dask_gateway import Gateway',
        'cluster = Gateway().new_cluster()',
        'cluster.scale(2)',
        'c = cluster.get_client()',
        'c.wait_for_workers(2, timeout=90)',
        'def read(url):',
        '    import hashlib, os',
        '    from XRootD import client',
        '    f = client.File(); st, _ = f.open(url)',
        '    assert st.ok, st.message',
        '    st, data = f.read(); f.close()',
        "    return [os.environ['BEARER_TOKEN_FILE'], hashlib.sha256(data).hexdigest(), os.getuid()]",
        "url = os.environ['HIGHRATE_STORAGE_ROOT_URL'] + '//public/events.bin'",
        'futures = [c.submit(read, url, pure=False, workers=[w]) for w in c.scheduler_info()["workers"]]',
        'res = c.gather(futures)',
        'c.close(); cluster.shutdown()',
        'print(json.dumps({"results": res, "me": os.getuid()}))',
      ].join('\n');
      const out = JSON.parse((await execute(ws, code, 150_000)).trim()) as { results: Array<[string, string, number]>; me: number };
      assert.equal(out.results.length, 2);
      for (const [file, digest, uid] of out.results) {
        assert.equal(file, '/run/wlcg-token/bt');
        assert.equal(digest, createHash('sha256').update(bytes).digest('hex'));
        assert.equal(uid, out.me);
      }
    } finally {
      ws.close();
    }
  });
});
