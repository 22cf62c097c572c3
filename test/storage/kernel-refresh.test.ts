/**
 * A kernel keeps reading while its token file is refreshed: with 6-second storage tokens, code in a
 * real notebook kernel reads a file over https with the token from BEARER_TOKEN_FILE, re-read for
 * each request, for 15 seconds — more than two token lifetimes. Every read succeeds with the same
 * bytes, and the kernel sees the file change (new tokens) before the old one expires. Also an
 * XRootD File opened at the start keeps reading after its token expired (root:// authenticates
 * once per connection). (That an expired token is refused is token-file.test.ts's: XRootD 5.5's
 * SciTokens plugin keeps a token it accepted for about a minute, so a used one cannot show it.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { freePort } from './helpers.js';

const ready = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/lib/python3/dist-packages/XRootD');

describe('a kernel reading while its token file is refreshed', { skip: !ready && 'needs XRootD and python3-xrootd' }, () => {
  let p: Platform;
  let alice: string;

  before(async () => {
    const storagePort = await freePort();
    p = await Platform.start({ users: [{ name: 'alice' }], config: { storage: { embedded: true, port: storagePort, tokenLifetime: 6 } } });
    fs.writeFileSync(path.join(p.dataDir, 'storage', 'public', 'events.bin'), Buffer.alloc(256 * 1024, 7), { mode: 0o644 });
    alice = await p.token('alice');
    await p.startServer('alice', alice, {});
  });

  after(async () => {
    await p?.close();
  });

  test('15 s of reads over https, the token re-read from the file each time: none fails, the token changes under the kernel', async () => {
    const headers = { authorization: `token ${alice}` };
    const kernel = await startKernel(p.base, '/user/alice/', headers);
    const ws = await openChannels(p.base, '/user/alice/', kernel, headers);
    try {
      const code = [
        'import json, os, ssl, time, urllib.request, urllib.error',
        'from XRootD import client',
        "ctx = ssl.create_default_context(cafile=os.environ['HIGHRATE_STORAGE_CA'])",
        "url = os.environ['HIGHRATE_STORAGE_HTTPS_URL'] + '/public/events.bin'",
        'def token(): return open(os.environ["BEARER_TOKEN_FILE"]).read().strip()',
        'def get(t):',
        '    try:',
        "        return urllib.request.urlopen(urllib.request.Request(url, headers={'Authorization': 'Bearer ' + t}), context=ctx).read()",
        '    except urllib.error.HTTPError as e:',
        '        return e.code',
        "f = client.File(); st, _ = f.open(os.environ['HIGHRATE_STORAGE_ROOT_URL'] + '//public/events.bin'); assert st.ok, st.message",
        'seen = [token()]; ok = 0; bad = []; start = time.time()',
        'while time.time() - start < 15:',
        '    t = token()',
        '    if t != seen[-1]: seen.append(t)',
        '    body = get(t)',
        '    if isinstance(body, bytes) and len(body) == 256 * 1024 and body[:1] == bytes([7]): ok += 1',
        '    else: bad.append(body if isinstance(body, int) else len(body))',
        '    time.sleep(0.2)',
        'st, late = f.read(0, 1024); f.close()',
        'print(json.dumps({"ok": ok, "bad": bad, "tokens": len(seen), "root_late": st.ok and late == bytes([7]) * 1024}))',
      ].join('\n');
      const out = JSON.parse((await execute(ws, code, 60_000)).trim()) as { ok: number; bad: unknown[]; tokens: number; root_late: boolean };
      assert.deepEqual(out.bad, [], 'no read failed');
      assert.ok(out.ok >= 30, `reads: ${out.ok}`);
      assert.ok(out.tokens >= 4, `the kernel saw ${out.tokens} tokens in 15 s of 6-second tokens refreshed at half life`);
      assert.equal(out.root_late, true, 'the root:// file opened at the start still reads');
    } finally {
      ws.close();
    }
  });
});
