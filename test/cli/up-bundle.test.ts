/**
 * The bundled `highrate up` (scripts/bundle-up.mjs, made by `npm run build`): built here into a
 * directory of its own beside dist/src/up-bundle, started as `highrate up` starts it (loadUp, with
 * V8's code cache), and used the way a user does: the hub answers through the public port, the
 * proxy it starts runs (its main.js is found relative to the bundle), a browser login goes through
 * the embedded IdP (evaluated lazily), and the version comes from package.json. The code cache is
 * written, accepted by the next start, ignored when damaged and never used for another source. A
 * bundle older than any of its inputs is not used (a later `tsc` alone would otherwise run old code).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshUpBundle, loadCompiledBundle } from '../../src/cli/up-bundle.js';
import { browserLogin, http } from '../helpers/http.js';
import { freePortPair, killRecordedProcesses, ROOT } from '../helpers/platform.js';

const outdir = `dist/src/up-bundle-test-${process.pid}`;
const bundleDir = join(ROOT, outdir);
const dataDir = mkdtempSync(join(tmpdir(), 'highrate-up-bundle-'));
let hub: ChildProcess | undefined;
let output = '';

function proxyPid(): number {
  try { return (JSON.parse(readFileSync(join(dataDir, 'run', 'proxy.json'), 'utf8')) as { pid: number }).pid; } catch { return 0; }
}

before(() => {
  const r = spawnSync(process.execPath, ['scripts/bundle-up.mjs', '--outdir', outdir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
});
after(async () => {
  if (hub && hub.exitCode === null && hub.signalCode === null) {
    hub.kill('SIGKILL');
    await new Promise((r) => hub!.once('exit', r));
  }
  // The proxy and the embedded storage element outlive the hub: both by their recorded pids.
  killRecordedProcesses(dataDir);
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the bundled highrate up', () => {
  test('one CommonJS file with the IdP inside; the Kubernetes client stays outside', () => {
    assert.deepEqual(readdirSync(bundleDir).sort(), ['inputs.json', 'up.cjs']);
    const text = readFileSync(join(bundleDir, 'up.cjs'), 'utf8');
    assert.doesNotMatch(text, /import\.meta/);
    assert.doesNotMatch(text, /\/\/ node_modules\/@kubernetes\/client-node\//);
    assert.match(text, /require\("@kubernetes\/client-node"\)/);
    assert.match(text, /\/\/ node_modules\/oidc-provider\//);
  });

  test('starts the platform: running only once the public port answers; the proxy runs; a browser login through the IdP works; the version is the package\'s', { timeout: 90_000 }, async () => {
    const port = await freePortPair();
    // As `highrate up` does (src/cli/main.ts → loadUp), on this test's bundle; its code cache is
    // written once the hub has started (here 2 s after loading).
    hub = spawn(process.execPath, ['--input-type=module', '-e', 'const { loadUp } = await import(process.argv[1]); const up = await loadUp(process.argv[2], 2000); process.exitCode = await up(process.argv.slice(3));',
      join(ROOT, 'dist/src/cli/up-bundle.js'), bundleDir, '--port', String(port), '--hub-port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HIGHRATE_LOG_LEVEL: 'warn', HIGHRATE_ADMIN_PASSWORD: 'bundle-admin-pw' },
    });
    hub.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    hub.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const until = Date.now() + 60_000;
    while (!output.includes('highrate is running at')) {
      assert.ok(hub.exitCode === null && Date.now() < until, `highrate up: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const base = `http://127.0.0.1:${port}`;
    assert.ok(proxyPid() > 0, 'the proxy was started');
    const info = await http('GET', `${base}/hub/api/`);
    assert.equal(info.status, 200, info.text);
    const jar = await browserLogin(base, 'admin', 'bundle-admin-pw');
    const me = await http('GET', `${base}/hub/api/user`, { headers: { cookie: jar.header() } });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json().name, 'admin');
    const about = await http('GET', `${base}/hub/api/info`, { headers: { cookie: jar.header() } });
    assert.equal(about.json().highrate?.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, `packageVersion() found package.json from the bundle: ${about.text}`);
    const cacheUntil = Date.now() + 30_000;
    while (!readdirSync(bundleDir).some((f) => f.endsWith('.v8cache'))) {
      assert.ok(Date.now() < cacheUntil, `no code cache beside the bundle: ${readdirSync(bundleDir).join(' ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    hub.kill('SIGTERM');
    const code = await new Promise((r) => hub!.once('exit', r));
    assert.equal(code, 0, output);
  });

  test('the code cache: accepted by the next start, ignored when damaged, never used for another source', () => {
    const entry = join(bundleDir, 'up.cjs');
    const load = (save = false): { up: string; cache: string; cacheFile: string } => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e',
        'const { loadCompiledBundle } = await import(process.argv[1]); const b = loadCompiledBundle(process.argv[2]); if (process.argv[3]) b.saveCache(); console.log(JSON.stringify({ up: typeof b.exports.up, cache: b.cache, cacheFile: b.cacheFile }));',
        join(ROOT, 'dist/src/cli/up-bundle.js'), entry, ...(save ? ['save'] : [])], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { up: string; cache: string; cacheFile: string };
    };
    const caches = () => readdirSync(bundleDir).filter((f) => f.endsWith('.v8cache'));
    const first = load();
    assert.deepEqual({ up: first.up, cache: first.cache }, { up: 'function', cache: 'accepted' });
    assert.deepEqual(caches(), [first.cacheFile.slice(bundleDir.length + 1)]);
    assert.match(first.cacheFile, /up\.cjs\.[0-9a-f]{32}\.v8cache$/);
    // Damaged (a disk error, a partial copy): V8 rejects it and the bundle runs compiled from source.
    writeFileSync(first.cacheFile, Buffer.alloc(4096, 7));
    assert.deepEqual({ ...load(), cacheFile: undefined }, { up: 'function', cache: 'rejected', cacheFile: undefined });
    // Another source of the same length would pass V8's own check: the cache is named by the source's hash.
    appendFileSync(entry, '\n');
    // A writer killed between its write and its rename left a temporary file; a live writer's stays.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    writeFileSync(`${first.cacheFile}.${dead.stdout.trim()}.tmp`, 'partial');
    writeFileSync(`${first.cacheFile}.${process.pid}.tmp`, 'in progress');
    const changed = load(true);
    assert.equal(changed.cache, 'absent');
    assert.notEqual(changed.cacheFile, first.cacheFile);
    assert.deepEqual(caches(), [changed.cacheFile.slice(bundleDir.length + 1)], 'the old source\'s cache was removed when the new one was written');
    assert.deepEqual(readdirSync(bundleDir).filter((f) => f.endsWith('.tmp')), [`${first.cacheFile.slice(bundleDir.length + 1)}.${process.pid}.tmp`], 'the dead writer\'s file was removed');
    rmSync(`${first.cacheFile}.${process.pid}.tmp`);
    assert.equal(load().cache, 'accepted');
  });

  test('a script with non-ASCII text runs with its text intact (only an ASCII source is read as latin1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'highrate-cjs-'));
    try {
      writeFileSync(join(dir, 'ascii.cjs'), 'module.exports.s = "\\u2192 ok";\n');
      writeFileSync(join(dir, 'utf8.cjs'), 'module.exports.s = "\u2192 \u2264 ok"; // \u2014\n');
      assert.equal(loadCompiledBundle(join(dir, 'ascii.cjs')).exports.s, '\u2192 ok');
      assert.equal(loadCompiledBundle(join(dir, 'utf8.cjs')).exports.s, '\u2192 \u2264 ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('used only while it is newer than every input: older (as after a later tsc) it is stale', () => {
    assert.equal(freshUpBundle(bundleDir), join(bundleDir, 'up.cjs'));
    utimesSync(join(bundleDir, 'up.cjs'), new Date('2001-01-01'), new Date('2001-01-01'));
    assert.equal(freshUpBundle(bundleDir), null);
    assert.equal(freshUpBundle(join(bundleDir, 'absent')), null);
    assert.ok(existsSync(join(bundleDir, 'up.cjs')));
  });
});
