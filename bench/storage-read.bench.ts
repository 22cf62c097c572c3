/**
 * Reading a 1 GiB file through the embedded XRootD from Dask workers, side by side with reading
 * the same file from local disk (issue 12).
 *
 * The whole platform as the other benchmarks run it: `storage.embedded` (the real XRootD 5.5
 * with WLCG token authorisation), alice's notebook server, and from its kernel a Dask cluster of
 * 8 workers (`dask_gateway`, 1 core and 1 GiB each, sandboxed pods as alice's uid, each with its
 * own token file through BEARER_TOKEN_FILE). The file is written under the storage's public area
 * and hard-linked to `.tmp/storage-read-XXXXXX/` in the repository (pods see the host's file system
 * read-only, not the data dir), so a worker reads *the same inode* from local disk and through the
 * storage (`/public/…`). Every read runs inside one worker (the first)
 * and is timed there, 8 MiB at a time into the same kind of loop:
 *   local     open(~/file).readinto()
 *   root://   XRootD.client.File.read (python3-xrootd; TLS and the ztn token protocol)
 *   xrdcp     `xrdcp -f root://… /dev/null` in the worker (process start included)
 *   https://  urllib with `Authorization: Bearer <token file>`, trusting HIGHRATE_STORAGE_CA
 * Two page-cache modes, each stated in the output: **warm** (every kind reads the file while it is
 * in the page cache, after a first read) and **cold** (`posix_fadvise(POSIX_FADV_DONTNEED)` on the
 * file right before each read: only that file's pages leave the cache, nothing else on the
 * shared machine). Rounds alternate the kinds; medians. Then all 8 workers read the whole file at
 * once over root:// (warm), each checking its adler32 against the file's; a failure is an
 * exception or different bytes.
 * Bars: root:// ≥ 0.5× local, in both modes; 8 concurrent readers: 0 failures.
 * Usage: node dist/bench/storage-read.bench.js [--json FILE] [--rounds N] [--mib N]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Platform, ROOT } from '../test/helpers/platform.js';
import { execute, openChannels, startKernel } from '../test/helpers/kernel.js';
import { stopAllClusters } from '../test/clusters/helpers.js';
import { freePort } from '../src/http/ports.js';
import { skipBench } from './skip.js';

const BAR_RATIO = 0.5;
const WORKERS = 8;
const FILE = 'bench-read.bin';
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

/** Defined in the kernel, shipped to workers by value (cloudpickle); each returns {"s": seconds, "bytes": n} timed inside the worker. */
const WORKER_CODE = `
import json, os, subprocess, time, ssl, urllib.request, zlib
from XRootD import client as xrd_client
CHUNK = 8 << 20

def drop_cache(local):
    # Only this file's pages (POSIX_FADV_DONTNEED on the inode): fair to both sides, nothing else evicted.
    fd = os.open(local, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)

def read_local(local, cold, check=False):
    if cold: drop_cache(local)
    buf = bytearray(CHUNK); view = memoryview(buf); n = 0; a = 1
    t0 = time.perf_counter()
    with open(local, "rb", buffering=0) as f:
        while True:
            k = f.readinto(view)
            if not k: break
            if check: a = zlib.adler32(view[:k], a)
            n += k
    return {"s": time.perf_counter() - t0, "bytes": n, "adler32": "%08x" % a if check else None}

def read_root(url, local, cold, check=False):
    if cold: drop_cache(local)
    t0 = time.perf_counter(); start = time.time()
    f = xrd_client.File()
    st, _ = f.open(url)
    if not st.ok: raise IOError("open %s: %s" % (url, st.message))
    n = 0; a = 1
    while True:
        st, data = f.read(n, CHUNK)
        if not st.ok: raise IOError("read %s at %d: %s" % (url, n, st.message))
        if not data: break
        if check: a = zlib.adler32(data, a)
        n += len(data)
    f.close()
    return {"s": time.perf_counter() - t0, "bytes": n, "adler32": "%08x" % a if check else None, "start": start, "end": time.time()}

def read_xrdcp(url, local, cold):
    if cold: drop_cache(local)
    t0 = time.perf_counter()
    p = subprocess.run(["xrdcp", "-f", "-s", url, "/dev/null"], capture_output=True, text=True)
    s = time.perf_counter() - t0
    if p.returncode != 0: raise IOError("xrdcp: " + p.stderr[-300:])
    return {"s": s, "bytes": os.path.getsize(local)}

def read_https(url, local, cold):
    if cold: drop_cache(local)
    t0 = time.perf_counter()
    token = open(os.environ["BEARER_TOKEN_FILE"]).read().strip()
    ctx = ssl.create_default_context(cafile=os.environ["HIGHRATE_STORAGE_CA"])
    buf = bytearray(CHUNK); view = memoryview(buf); n = 0
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + token}), context=ctx) as res:
        while True:
            k = res.readinto(view)
            if not k: break
            n += k
    return {"s": time.perf_counter() - t0, "bytes": n}

def concurrent_root(url, local, expect):
    try:
        r = read_root(url, local, False, check=True)
        r["ok"] = r["adler32"] == expect
        if not r["ok"]: r["error"] = "adler32 %s, expected %s" % (r["adler32"], expect)
    except Exception as e:
        r = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    r["token_file"] = os.environ.get("BEARER_TOKEN_FILE")
    r["uid"] = os.getuid()
    return r
`;

interface Sample { s: number; bytes: number }

async function main(): Promise<void> {
  const args = process.argv;
  const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
  const mib = args.includes('--mib') ? Number(args[args.indexOf('--mib') + 1]) : 1024;
  if (!existsSync('/usr/bin/xrootd') || !existsSync('/usr/bin/xrdcp') || !existsSync('/usr/lib/python3/dist-packages/XRootD')) {
    skipBench('storage read', 'needs XRootD (xrootd-server, xrootd-client, python3-xrootd, xrootd-scitokens-plugins): scripts/install-deps.sh');
  }
  if (process.getuid?.() !== 0) skipBench('storage read', 'the embedded XRootD and sandboxed workers run as other uids: run it as root');
  const size = mib * 1024 * 1024;
  const results: Record<string, any> = { cpus: cpus().length, fileBytes: size, workers: WORKERS, rounds, uptimeBefore: uptime(), loadAverage1mBefore: loadavg()[0] };
  const storagePort = await freePort();
  let p: Platform;
  let linkDir: string | undefined;
  try {
    p = await Platform.start({ users: [{ name: 'alice' }], config: { storage: { embedded: true, port: storagePort }, clusters: { daskPort: 0, idleTimeout: 0 } } });
  } catch (err) {
    skipBench('storage read', `the platform does not start here: ${String(err).slice(0, 300)}`);
  }
  try {
    // Random bytes (nothing compresses them); the expected adler32 from the host's zlib.
    const file = join(p.dataDir, 'storage', 'public', FILE);
    const fd = openSync(file, 'w', 0o644);
    const block = 64 * 1024 * 1024;
    for (let off = 0; off < size; off += block) writeSync(fd, randomBytes(Math.min(block, size - off)));
    closeSync(fd);
    const adler = execFileSync('/usr/bin/python3', ['-c', `import zlib\na=1\nwith open(${JSON.stringify(file)},'rb') as f:\n  for c in iter(lambda: f.read(1<<24), b''): a=zlib.adler32(c,a)\nprint('%08x'%a)`], { encoding: 'utf8' }).trim();
    execFileSync('sync');

    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    await p.startServer('alice', token, {});
    // The same inode outside the data dir (which pods do not see; the host's root file system they
    // see read-only): the workers' local reads are of this very file, from the same disk.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    linkDir = mkdtempSync(join(ROOT, '.tmp', 'storage-read-'));
    chmodSync(linkDir, 0o755);
    linkSync(file, join(linkDir, FILE));
    const ws = await openChannels(p.base, '/user/alice/', await startKernel(p.base, '/user/alice/', auth), auth);
    try {
      await execute(ws, [
        'import json, os',
        'from dask_gateway import Gateway',
        'gateway = Gateway()',
        'opts = gateway.cluster_options(); opts.worker_cores = 1; opts.worker_memory = "1G"',
        'cluster = gateway.new_cluster(opts)',
        `cluster.scale(${WORKERS})`,
        'c = cluster.get_client()',
        `c.wait_for_workers(${WORKERS}, timeout=240)`,
        WORKER_CODE,
        'W = sorted(c.scheduler_info()["workers"])',
        `ROOT = os.environ["HIGHRATE_STORAGE_ROOT_URL"] + "//public/${FILE}"`,
        `HTTPS = os.environ["HIGHRATE_STORAGE_HTTPS_URL"] + "/public/${FILE}"`,
        `LOCAL = ${JSON.stringify(join(linkDir, FILE))}`,
        'def on(w, fn, *a): return c.submit(fn, *a, workers=[w], pure=False).result()',
        'print(json.dumps({"workers": len(W), "local": LOCAL}))',
      ].join('\n'), 300_000);
      const kinds = [
        ['local', 'read_local', 'LOCAL'],
        ['root', 'read_root', 'ROOT, LOCAL'],
        ['xrdcp', 'read_xrdcp', 'ROOT, LOCAL'],
        ['https', 'read_https', 'HTTPS, LOCAL'],
      ] as const;
      const samples: Record<string, Record<string, Sample[]>> = { warm: {}, cold: {} };
      for (const mode of ['warm', 'cold'] as const) {
        const cold = mode === 'cold' ? 'True' : 'False';
        // Warm: one untimed read puts the file in the page cache first.
        if (mode === 'warm') await execute(ws, `on(W[0], read_local, LOCAL, False)`, 300_000);
        for (let r = 0; r < rounds; r++) {
          for (const [kind, fn, a] of kinds) {
            const out = JSON.parse((await execute(ws, `print(json.dumps(on(W[0], ${fn}, ${a}, ${cold})))`, 600_000)).trim()) as Sample;
            if (out.bytes !== size) throw new Error(`${kind} (${mode}) read ${out.bytes} bytes, not ${size}`);
            (samples[mode]![kind] ??= []).push(out);
          }
        }
      }
      await execute(ws, `on(W[0], read_local, LOCAL, False)`, 300_000);
      const conc = JSON.parse((await execute(ws, [
        'import time',
        `fs = [c.submit(concurrent_root, ROOT, LOCAL, ${JSON.stringify(adler)}, workers=[w], pure=False) for w in W]`,
        'res = c.gather(fs)',
        'print(json.dumps(res))',
      ].join('\n'), 900_000)).trim()) as Array<{ ok: boolean; error?: string; s?: number; bytes?: number; start?: number; end?: number; token_file: string; uid: number }>;
      await execute(ws, 'c.close(); cluster.shutdown()', 120_000);

      const rate = (xs: Sample[]) => median(xs.map((x) => x.bytes / x.s / 2 ** 20));
      for (const mode of ['warm', 'cold'] as const) {
        const m: Record<string, number> = {};
        for (const [kind] of kinds) m[kind] = rate(samples[mode]![kind]!);
        // The machine is shared: the fastest round of each kind is the least disturbed one.
        const best = (xs: Sample[]) => Math.max(...xs.map((x) => x.bytes / x.s / 2 ** 20));
        results[mode] = {
          mibPerSecond: m, ratioRootToLocal: m.root! / m.local!, ratioHttpsToLocal: m.https! / m.local!,
          ratioRootToLocalFastest: best(samples[mode]!.root!) / best(samples[mode]!.local!),
          seconds: Object.fromEntries(Object.entries(samples[mode]!).map(([k, v]) => [k, v.map((x) => x.s)])),
        };
      }
      const okRuns = conc.filter((r) => r.ok);
      const span = okRuns.length ? Math.max(...okRuns.map((r) => r.end!)) - Math.min(...okRuns.map((r) => r.start!)) : NaN;
      results.concurrent = {
        readers: conc.length, failures: conc.filter((r) => !r.ok).length, errors: conc.filter((r) => !r.ok).map((r) => r.error),
        aggregateMiBPerSecond: (okRuns.length * size) / span / 2 ** 20, perReaderMiBPerSecond: okRuns.map((r) => r.bytes! / r.s! / 2 ** 20),
        slowestSeconds: Math.max(...okRuns.map((r) => r.s!)), tokenFiles: [...new Set(conc.map((r) => r.token_file))], uids: [...new Set(conc.map((r) => r.uid))],
      };
    } finally {
      ws.close();
    }
  } finally {
    results.uptimeAfter = uptime();
    results.loadAverage1mAfter = loadavg()[0];
    await stopAllClusters(p).catch(() => undefined);
    await p.close();
    if (linkDir) rmSync(linkDir, { recursive: true, force: true });
  }
  const f0 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const f2 = (x: number) => x.toFixed(2);
  const w = results.warm;
  const c = results.cold;
  const cc = results.concurrent;
  // The bar holds in both modes: warm compares the storage path with memory-speed reads, cold with the disk.
  const passRatio = w.ratioRootToLocal >= BAR_RATIO && c.ratioRootToLocal >= BAR_RATIO;
  const passConc = cc.failures === 0 && cc.readers === WORKERS;
  const rows = [
    ['local disk, the same file (a hard link the worker sees), 1 worker', f0(w.mibPerSecond.local), f0(c.mibPerSecond.local), ''],
    ['root:// XRootD.client with the pod\'s token, 1 worker', f0(w.mibPerSecond.root), f0(c.mibPerSecond.root), ''],
    ['root:// `xrdcp … /dev/null` in the worker (process start included)', f0(w.mibPerSecond.xrdcp), f0(c.mibPerSecond.xrdcp), ''],
    ['https:// urllib, Bearer token, 1 worker', f0(w.mibPerSecond.https), f0(c.mibPerSecond.https), ''],
    ['**root:// / local**', f2(w.ratioRootToLocal), f2(c.ratioRootToLocal), `≥ ${BAR_RATIO}${w.ratioRootToLocal >= BAR_RATIO ? '' : ' **missed** warm'}${c.ratioRootToLocal >= BAR_RATIO ? '' : ' **missed** cold'}`],
    ['root:// / local, fastest round of each', f2(w.ratioRootToLocalFastest), f2(c.ratioRootToLocalFastest), ''],
    ['https:// / local', f2(w.ratioHttpsToLocal), f2(c.ratioHttpsToLocal), ''],
    [`${WORKERS} workers at once, each the whole file over root:// with adler32 check: failures`, `${cc.failures} of ${cc.readers}`, '', `0${passConc ? '' : ' **missed**'}`],
    [`${WORKERS} workers at once: aggregate MiB/s (first start → last end); slowest reader`, `${f0(cc.aggregateMiBPerSecond)}; ${f2(cc.slowestSeconds)} s`, '', ''],
  ];
  process.stdout.write([
    `\n### Storage read: ${mib} MiB through the embedded XRootD vs local disk (MiB/s, median of ${rounds})\n`,
    '| measurement | warm page cache | cold (fadvise DONTNEED before each read) | bar |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `workers: ${WORKERS} × 1 core, 1 GiB, token file ${cc.tokenFiles.join(', ')}, uid ${cc.uids.join(', ')}; machine: ${results.cpus} CPUs`,
    `uptime before: ${results.uptimeBefore}`,
    `uptime after:  ${results.uptimeAfter}`,
    ...(cc.errors.length ? ['errors: ' + cc.errors.join('; ')] : []),
  ].join('\n') + '\n');
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
  process.exitCode = passRatio && passConc ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
