import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DATA_PYTHON_DIR } from '../../src/data/index.js';
import { hashPath } from '../fixtures/rucio-server/pfn.js';
import { freePortPair, Platform } from '../helpers/platform.js';
import { startRucioProcess, type RucioProcess } from './rucio-process.js';

/** Runs Python code with highrate_data importable, as a notebook kernel would; returns its last stdout line as JSON. */
function python(code: string, env: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', code], { env: { ...process.env, PYTHONPATH: DATA_PYTHON_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/**
 * The notebook helper against the Rucio test server whose facility RSE is a real XRootD server
 * (Debian's xrootd, no authorisation here: token authorisation is the storage part's).
 */
describe('highrate_data (Python) against the Rucio test server and a real XRootD', () => {
  let rucio: RucioProcess;
  let xrootd: ChildProcess;
  let p: Platform;
  let work: string;
  let env: (user: string) => Record<string, string>;
  const tokens: Record<string, string> = {};

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'highrate-data-py-'));
    chmodSync(work, 0o755);
    const storage = join(work, 'storage');
    const admin = join(work, 'xrd-admin');
    mkdirSync(join(storage, 'rucio'), { recursive: true });
    mkdirSync(admin);
    chmodSync(admin, 0o777);
    const port = await freePortPair();
    writeFileSync(join(work, 'xrootd.cfg'), `all.export /rucio\noss.localroot ${storage}\nxrootd.chksum adler32\nall.adminpath ${admin}\nall.pidpath ${admin}\n`);
    // xrootd refuses to run as root: -R drops to nobody, which may read the (world-readable) storage.
    xrootd = spawn('xrootd', ['-p', String(port), '-c', join(work, 'xrootd.cfg'), '-l', join(admin, 'xrootd.log'), '-n', 'highrate-test', '-R', 'nobody'], { stdio: 'ignore' });
    rucio = await startRucioProcess({ args: ['--replication-seconds', '0.2', '--storage-root', `root://127.0.0.1:${port}`, '--storage-https', `https://127.0.0.1:${port}`, '--storage-dir', storage] });
    writeFileSync(join(work, 'pw'), 'hub-secret\n');
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: { data: { rucio: { url: rucio.url, facilityRse: 'FACILITY', username: 'highrate', passwordFile: join(work, 'pw'), schemes: ['root', 'https'] } } },
    });
    tokens.alice = await p.token('alice');
    tokens.bob = await p.token('bob');
    env = (user) => ({ JUPYTERHUB_API_URL: `${p.base}/hub/api`, JUPYTERHUB_API_TOKEN: tokens[user]! });
    for (let i = 0; i < 50; i++) {
      // xrootd answers once its port is open.
      const ok = await fetch(`http://127.0.0.1:${port}/`).then(() => true, (e: Error) => !/ECONNREFUSED/.test(String((e as { cause?: Error }).cause ?? e)));
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await p?.close();
    await rucio?.stop();
    if (xrootd?.pid && xrootd.exitCode === null) xrootd.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
    // xrootd run as nobody cannot write its environment file beside its pid (a root-owned dir): it puts it in /tmp.
    rmSync('/tmp/xrootd.highrate-test.env', { force: true });
  });

  test('files → stage(wait) → files at the facility → download with adler32 check', async () => {
    const r = await python(`
import json, highrate_data as hd
remote = hd.files("data:dataset2")
rule = hd.stage("data:dataset2", wait=True, poll=0.2)
here = hd.files("data:dataset2")
paths = hd.download("data:dataset2", ${JSON.stringify(join(work, 'dl'))})
print(json.dumps({"remote": remote, "state": rule["state"], "here": here, "paths": paths, "sizes": [len(open(x, "rb").read()) for x in paths]}))
`, env('alice'));
    assert.ok(r.remote.every((u: string) => u.startsWith('root://xrootd.site.example.org:1094//rucio/data/')), r.remote.join());
    assert.equal(r.state, 'OK');
    assert.deepEqual(r.here, ['file4.root', 'file5.root'].map((n) => `root://127.0.0.1:${new URL(r.here[0].replace('root:', 'http:')).port}//rucio/${hashPath('data', n)}`));
    assert.deepEqual(r.paths, [join(work, 'dl', 'file4.root'), join(work, 'dl', 'file5.root')]);
    assert.deepEqual(r.sizes, [2048, 1024]);
  });

  test('a corrupted replica is refused; unknown DID and no quota raise DataError with the hub\'s code', async () => {
    writeFileSync(join(work, 'storage', 'rucio', hashPath('data', 'file5.root')), Buffer.alloc(1024, 7));
    const r = await python(`
import json, os, highrate_data as hd
out = {}
try:
    hd.download("data:dataset2", ${JSON.stringify(join(work, 'dl2'))})
except hd.ChecksumMismatch as e:
    out["mismatch"] = str(e)
out["left"] = sorted(os.listdir(${JSON.stringify(join(work, 'dl2'))}))
try:
    hd.files("data:nope")
except hd.DataError as e:
    out["unknown"] = [e.code, e.status, str(e)]
print(json.dumps(out))
`, env('alice'));
    assert.match(r.mismatch, /^data:file5\.root from root:\/\/.* has adler32 [0-9a-f]{8}, Rucio says [0-9a-f]{8}; the copy was removed\.$/);
    assert.deepEqual(r.left, ['file4.root'], 'no partial or bad file is left');
    assert.deepEqual(r.unknown.slice(0, 2), ['DATA_NOT_FOUND', 404]);
    assert.match(r.unknown[2], /data:nope does not exist in Rucio/);
    const b = await python(`
import json, highrate_data as hd
try:
    hd.stage("data:dataset1")
except hd.DataError as e:
    print(json.dumps([e.code, str(e)]))
`, env('bob'));
    assert.equal(b[0], 'DATA_QUOTA_EXCEEDED');
    assert.match(b[1], /Your Rucio account "bob" has not enough quota/);
  });
});
