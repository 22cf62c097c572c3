/**
 * The bundled `highrate up` (scripts/bundle-up.mjs, made by `npm run build`): built here into a
 * directory of its own beside dist/src/up-bundle, started as `highrate up` is, and used the way a
 * user does: the hub answers through the public port, the proxy it starts runs (its main.js is
 * found relative to the bundle), a browser login goes through the embedded IdP (a lazily loaded
 * chunk), and the version comes from package.json. A bundle older than any of its inputs is not
 * used (a later `tsc` alone would otherwise run old code).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshUpBundle } from '../../src/cli/up-bundle.js';
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
  test('one entry file; the IdP and the Kubernetes client are chunks loaded only when used', () => {
    const files = readdirSync(bundleDir);
    assert.ok(files.includes('up.js') && files.includes('inputs.json'), files.join(' '));
    assert.ok(files.some((f) => /^idp-\w+\.js$/.test(f)) && files.some((f) => /^kubernetes-\w+\.js$/.test(f)), files.join(' '));
    const entry = readFileSync(join(bundleDir, 'up.js'), 'utf8');
    assert.doesNotMatch(entry, /from ["']@kubernetes\/client-node["']/);
    assert.doesNotMatch(entry, /from ["']oidc-provider["']|node_modules\/oidc-provider/);
  });

  test('starts the platform: running only once the public port answers; the proxy runs; a browser login through the IdP works; the version is the package\'s', { timeout: 90_000 }, async () => {
    const port = await freePortPair();
    hub = spawn(process.execPath, ['--input-type=module', '-e', 'const { up } = await import(process.argv[1]); process.exitCode = await up(process.argv.slice(2));',
      join(bundleDir, 'up.js'), '--port', String(port), '--hub-port', '0', '--data-dir', dataDir], {
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
    hub.kill('SIGTERM');
    const code = await new Promise((r) => hub!.once('exit', r));
    assert.equal(code, 0, output);
  });

  test('used only while it is newer than every input: older (as after a later tsc) it is stale', () => {
    assert.equal(freshUpBundle(bundleDir), join(bundleDir, 'up.js'));
    utimesSync(join(bundleDir, 'up.js'), new Date('2001-01-01'), new Date('2001-01-01'));
    assert.equal(freshUpBundle(bundleDir), null);
    assert.equal(freshUpBundle(join(bundleDir, 'absent')), null);
    assert.ok(existsSync(join(bundleDir, 'up.js')));
  });
});
