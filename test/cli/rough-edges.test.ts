import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI, freePortPair, ROOT } from '../helpers/platform.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'highrate-cli-'));
  dirs.push(d);
  return d;
}

function highrate(args: string[], opts: { input?: string; stdin?: 'ignore' | 'pipe' } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', timeout: 30_000, input: opts.input,
    stdio: [opts.input === undefined ? (opts.stdin ?? 'ignore') : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, HIGHRATE_LOG_LEVEL: 'warn' },
  });
}

describe('highrate up on a busy hub port', () => {
  test('exits 1 naming the port, the flag and the config key, without a raw EADDRINUSE', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      // The hub binds its own port before it starts the proxy: nothing is left running.
      const r = highrate(['up', '--hub-port', String(port), '--port', String(await freePortPair()), '--data-dir', dataDir()]);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `highrate up: Port ${port} (the hub's own port on 127.0.0.1) is in use by another process. Choose another with --hub-port N or hub.hubPort in the config (0 = any free port); the public port is --port / hub.port.\n`);
      assert.equal(r.stdout, '');
    } finally {
      busy.close();
    }
  });
});

describe('highrate user add without a terminal', () => {
  test('points to --password-stdin and creates nothing', () => {
    const dir = dataDir();
    const r = highrate(['user', 'add', 'bob', '--data-dir', dir]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `highrate user: No terminal to ask for the password. Pass it on standard input with --password-stdin, e.g. printf '%s\\n' "$PASSWORD" | highrate user add bob --password-stdin\n`);
    assert.equal(highrate(['user', 'list', '--data-dir', dir]).stdout, '');
  });

  test('passwd says the same, naming its own verb', () => {
    const r = highrate(['user', 'passwd', 'bob', '--data-dir', dataDir()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /highrate user passwd bob --password-stdin\n$/);
  });

  test('with --password-stdin the account is created', () => {
    const dir = dataDir();
    const r = highrate(['user', 'add', 'bob', '--groups', 'cms', '--password-stdin', '--data-dir', dir], { input: 'bob-password\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Created account bob.\n');
    assert.equal(highrate(['user', 'list', '--data-dir', dir]).stdout, 'bob\tcms\n');
  });
});

describe("oidc-provider's Unsupported runtime warning", () => {
  test('this Node makes oidc-provider print it (so the tests below can fail)', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('oidc-provider')"], { cwd: ROOT, encoding: 'utf8' });
    const runtimeIsOld = Number(process.versions.node.split('.')[0]) < 22;
    assert.equal(/oidc-provider WARNING: Unsupported runtime/.test(r.stderr), runtimeIsOld);
  });

  for (const args of [['--help'], ['user', '--help'], ['up', '--help'], ['cluster', '--help'], ['--version'], ['user', 'list', '--data-dir', '']]) {
    test(`highrate ${args.join(' ')} prints no such line`, () => {
      const a = args.map((x) => (x === '' ? dataDir() : x));
      const r = highrate(a);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /oidc-provider|Unsupported runtime/);
    });
  }

  test('other console warnings still pass once the IdP module is loaded', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e',
      "await import('./dist/src/idp/index.js'); console.warn('oidc-provider WARNING: something else'); console.warn('plain warning')"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'oidc-provider WARNING: something else\nplain warning\n');
  });
});
