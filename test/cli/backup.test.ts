/**
 * `highrate backup` of a running platform and `highrate restore` into a fresh data directory, with
 * real processes on both stores (SQLite, and a real PostgreSQL): every user, token (it still
 * authenticates), group, role and IdP account comes back; a server whose pod still runs is
 * re-attached, one whose pod is gone shows as stopped. Also: what restore refuses (a running hub,
 * a non-empty directory, a damaged archive, a database with tables) before writing anything.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { stringify, parse } from 'yaml';
import { log } from '../../src/log.js';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { browserLogin, http } from '../helpers/http.js';
import { CLI, freePortPair, killRecordedProcesses, Platform } from '../helpers/platform.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

log.setLevel('warn');

const TINY = { profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }] };

/** Runs the CLI without blocking this process (an in-process hub must keep answering). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HIGHRATE_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A `highrate up` on a restored data directory; `stop()` kills it and everything it recorded, by PID. */
async function up(dataDir: string, configFile?: string): Promise<{ child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'up', '--data-dir', dataDir, ...(configFile ? ['--config', configFile] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HIGHRATE_LOG_LEVEL: 'warn' },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    killRecordedProcesses(dataDir);
  };
  const deadline = Date.now() + 30_000;
  while (!output.includes('highrate is running at')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`highrate up on ${dataDir} did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stop };
}

const api = (base: string, method: string, p: string, token: string, body?: unknown) =>
  http(method, `${base}${p}`, { headers: { authorization: `token ${token}` }, body });

const json = (r: { text: string }) => JSON.parse(r.text);

/** Seeds a group of two and a role held by a user and that group, through the API. */
async function seedGroupAndRole(base: string, admin: string): Promise<void> {
  assert.equal((await api(base, 'POST', '/hub/api/groups/lab', admin)).status, 201);
  assert.equal((await api(base, 'POST', '/hub/api/groups/lab/users', admin, { users: ['bob', 'alice'] })).status, 200);
  assert.equal((await api(base, 'POST', '/hub/api/roles/auditor', admin, { scopes: ['read:users'], users: ['alice'], groups: ['lab'] })).status, 201);
}

/** What must be found again after a restore: users, the group, the role, the token's owner. */
async function assertStateBack(base: string, admin: string, bobToken: string): Promise<void> {
  const me = await api(base, 'GET', '/hub/api/user', bobToken);
  assert.equal(me.status, 200, me.text);
  assert.equal(json(me).name, 'bob');
  const users = json(await api(base, 'GET', '/hub/api/users?limit=200', admin)).map((u: { name: string }) => u.name);
  for (const name of ['admin', 'alice', 'bob']) assert.ok(users.includes(name), `${name} missing from ${users}`);
  const group = json(await api(base, 'GET', '/hub/api/groups/lab', admin));
  assert.deepEqual([...group.users].sort(), ['alice', 'bob']);
  const role = json(await api(base, 'GET', '/hub/api/roles/auditor', admin));
  assert.deepEqual(role.scopes, ['read:users']);
  assert.deepEqual(role.users, ['alice']);
  assert.deepEqual(role.groups, ['lab']);
}

/** What the archive of a SQLite platform holds: the embedded storage's TLS pair only where it runs (xrootd installed). */
function expectedEntries(dataDir: string): string[] {
  const storageTls = ['xrootd/etc/cert.pem', 'xrootd/etc/key.pem', 'xrootd/etc/cert.sans'].filter((f) => fs.existsSync(path.join(dataDir, f)));
  return [
    'data/config.yaml', 'data/idp/cookie-keys.json', 'data/idp/idp.sqlite', 'data/idp/jwks.json',
    'data/secrets/idp-client-secret', 'data/secrets/proxy-token', 'manifest.json', 'store/highrate.sqlite',
    ...storageTls.map((f) => `data/${f}`),
  ].sort();
}

// The two stores' scenarios run side by side: most of their time is waiting for processes to start.
describe('backup and restore', { concurrency: 2 }, () => {
describe('backup and restore, SQLite store', { concurrency: 1 }, () => {
  let p: Platform;
  let tmp: string;
  let admin: string;
  let bobToken: string;
  const fresh = () => path.join(tmp, 'restored');
  const archive = () => path.join(tmp, 'state.tar.gz');

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-backup-test-'));
    p = await Platform.start({ process: true, config: TINY, users: [{ name: 'bob', password: 'bob-password' }, { name: 'alice', password: 'alice-password' }] });
    admin = await p.token('admin');
    assert.equal((await p.api('POST', '/hub/api/users/alice', { token: admin })).status, 201);
    bobToken = await p.token('bob');
    await seedGroupAndRole(p.base, admin);
    await p.startServer('bob', bobToken, {});
    const r = await http('GET', `${p.base}/user/bob/hello`, { headers: { authorization: `token ${bobToken}` } });
    assert.equal(r.text, '{"ok": true}');
  });
  after(async () => {
    await p?.close();
    if (fs.existsSync(fresh())) killRecordedProcesses(fresh());
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('backup while the hub runs and writes: one 0600 archive with the store, keys, secrets and config; no secret printed', async () => {
    // Writes go on during the backup: the online copy must still be one consistent state.
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) assert.equal((await p.api('POST', `/hub/api/users/w${n++}`, { token: admin })).status, 201);
    })();
    const started = Date.now();
    const r = await cli(['backup', '--data-dir', p.dataDir, '--out', archive()]);
    writing = false;
    await writer;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(n > 0);
    assert.ok(Date.now() - started < 20_000);
    const expected = expectedEntries(p.dataDir);
    assert.match(r.stdout, new RegExp(`^Backup written to .*state\\.tar\\.gz \\(.*, ${expected.length - 1} files, store: sqlite schema \\d+\\)\\.\n$`));
    assert.match(r.stderr, /^backup: store: online copy of /m);
    assert.match(r.stderr, /^backup: not included: homes\/ — users' home directories/m);
    assert.match(r.stderr, /^backup: not included: executors\/ — pod state/m);
    assert.equal(fs.statSync(archive()).mode & 0o777, 0o600);
    const listing = execFileSync('tar', ['-tzf', archive()], { encoding: 'utf8' }).trim().split('\n').sort();
    assert.deepEqual(listing, expected);
    const proxyToken = fs.readFileSync(path.join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim();
    for (const out of [r.stdout, r.stderr]) {
      assert.ok(!out.includes(proxyToken), 'the proxy token was printed');
      assert.ok(!out.includes(bobToken), 'a token was printed');
    }
    // No stage or partial file left beside the archive.
    assert.deepEqual(fs.readdirSync(tmp), ['state.tar.gz']);
    // A second backup never overwrites the first.
    const again = await cli(['backup', '--data-dir', p.dataDir, '--out', archive()]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; choose a new file name/);
  });

  test('restore refuses a running hub, a non-empty directory and a damaged archive, writing nothing', async () => {
    const busy = await cli(['restore', '--data-dir', p.dataDir, '--from', archive(), '--force']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^highrate restore: A hub is running on .*; stop it before restoring\.$/m);

    const other = path.join(tmp, 'other');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'notes.txt'), 'keep me');
    const nonEmpty = await cli(['restore', '--data-dir', other, '--from', archive()]);
    assert.equal(nonEmpty.code, 1);
    assert.match(nonEmpty.stderr, /is not empty; restore into a new directory, or add --force/);
    assert.deepEqual(fs.readdirSync(other), ['notes.txt']);

    // One secret changed inside an otherwise well-formed archive.
    const unpacked = path.join(tmp, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', archive(), '-C', unpacked]);
    fs.writeFileSync(path.join(unpacked, 'data', 'secrets', 'proxy-token'), 'tampered');
    const tampered = path.join(tmp, 'tampered.tar.gz');
    execFileSync('tar', ['-czf', tampered, '-C', unpacked, ...expectedEntries(p.dataDir)]);
    const damaged = await cli(['restore', '--data-dir', path.join(tmp, 'never'), '--from', tampered]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /The archive is damaged: data\/secrets\/proxy-token does not match its checksum in the manifest\. Nothing was restored\./);
    assert.equal(fs.existsSync(path.join(tmp, 'never')), false);

    // Not an archive at all.
    const junk = path.join(tmp, 'junk.tar.gz');
    fs.writeFileSync(junk, 'not a tar');
    const notTar = await cli(['restore', '--data-dir', path.join(tmp, 'never'), '--from', junk]);
    assert.equal(notTar.code, 1);
    assert.match(notTar.stderr, /is damaged or is not a highrate backup/);
    assert.equal(fs.existsSync(path.join(tmp, 'never')), false);
    for (const f of ['other', 'unpacked', 'tampered.tar.gz', 'junk.tar.gz']) fs.rmSync(path.join(tmp, f), { recursive: true });
    // No staging directory left behind.
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['state.tar.gz']);
  });

  test('restore into a fresh directory: the same secrets and keys, 0600 files in 0700 directories', async () => {
    const r = await cli(['restore', '--data-dir', fresh(), '--from', archive()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Restored ${archive()} into ${fresh()}. Start the platform with: highrate up --data-dir ${fresh()}\n`);
    for (const rel of ['secrets/proxy-token', 'secrets/idp-client-secret', 'idp/jwks.json', 'idp/cookie-keys.json', 'config.yaml']) {
      assert.deepEqual(fs.readFileSync(path.join(fresh(), rel)), fs.readFileSync(path.join(p.dataDir, rel)), rel);
      assert.equal(fs.statSync(path.join(fresh(), rel)).mode & 0o777, 0o600, rel);
    }
    for (const dir of ['', 'secrets', 'idp']) assert.equal(fs.statSync(path.join(fresh(), dir)).mode & 0o777, 0o700, dir || 'the data dir');
    assert.equal(fs.statSync(path.join(fresh(), 'highrate.sqlite')).mode & 0o777, 0o600);
    const storageTls = fs.existsSync(path.join(p.dataDir, 'xrootd', 'etc', 'key.pem'));
    assert.deepEqual(fs.readdirSync(fresh()).sort(), ['config.yaml', 'highrate.sqlite', 'idp', 'secrets', ...(storageTls ? ['xrootd'] : [])]);
    if (storageTls) {
      const [from, to] = [path.join(p.dataDir, 'xrootd', 'etc', 'key.pem'), path.join(fresh(), 'xrootd', 'etc', 'key.pem')];
      assert.deepEqual(fs.readFileSync(to), fs.readFileSync(from));
      assert.deepEqual([fs.statSync(to).uid, fs.statSync(to).gid, fs.statSync(to).mode & 0o777], [fs.statSync(from).uid, fs.statSync(from).gid, 0o600]);
    }
    // A process with the store open (a hub whose proxy record is gone, here this test) stops even --force.
    const holder = new Database(path.join(fresh(), 'highrate.sqlite'), { readonly: true });
    try {
      const held = await cli(['restore', '--data-dir', fresh(), '--from', archive(), '--force']);
      assert.equal(held.code, 1);
      assert.match(held.stderr, new RegExp(`The store ${fresh()}/highrate\\.sqlite is open in process ${process.pid} \\(.*\\) \\(a running hub\\?\\); stop it before restoring\\.`));
    } finally {
      holder.close();
    }
  });

  test('store lost while the server runs: restore --force into the same data directory, the hub re-attaches to the running server', async () => {
    await p.killHub();
    for (const side of ['', '-wal', '-shm']) fs.rmSync(path.join(p.dataDir, `highrate.sqlite${side}`), { force: true });
    const refused = await cli(['restore', '--data-dir', p.dataDir, '--from', archive()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not empty/);
    const r = await cli(['restore', '--data-dir', p.dataDir, '--from', archive(), '--force']);
    assert.equal(r.code, 0, r.stderr);
    await p.startProcess();
    const bob = json(await p.api('GET', '/hub/api/users/bob', { token: admin }));
    assert.equal(bob.servers['']?.ready, true, JSON.stringify(bob.servers));
    // The same pod answers through the proxy, for the restored token.
    const through = await http('GET', `${p.base}/user/bob/again`, { headers: { authorization: `token ${bobToken}` } });
    assert.equal(through.status, 200);
    assert.equal(through.text, '{"ok": true}');
    await assertStateBack(p.base, admin, bobToken);
  });

  test('a fresh data directory after the old platform is gone: everything found again, the server whose pod is gone shown stopped', async () => {
    await p.close();
    const restored = await up(fresh());
    try {
      await assertStateBack(p.base, admin, bobToken);
      // Its pod state is not in the archive and the pod is gone: the reconciler marks it stopped.
      const bob = json(await api(p.base, 'GET', '/hub/api/users/bob', admin));
      assert.deepEqual(bob.servers, {});
      assert.equal(bob.server, null);
      const link = await http('GET', `${p.base}/user/bob/api/x`, { headers: { authorization: `token ${bobToken}` } });
      assert.equal(link.status, 424);
      assert.equal(json(link).code, 'SERVER_NOT_RUNNING');
      // The identity provider's accounts and keys came back: bob logs in with his password.
      const jar = await browserLogin(p.base, 'bob', 'bob-password');
      assert.ok(jar.get('highrate-session'));
      // And the restored store takes writes.
      assert.equal((await api(p.base, 'POST', '/hub/api/users/newcomer', admin)).status, 201);
    } finally {
      await restored.stop();
    }
  });
});

describe('backup and restore, PostgreSQL store', { concurrency: 1 }, () => {
  let pgServer: TestPostgres;
  let p: Platform;
  let tmp: string;
  let admin: string;
  let bobToken: string;
  let sourceDb: string;
  let targetDb: string;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-backup-pg-test-'));
    pgServer = await startPostgres();
    sourceDb = await pgServer.createDatabase('source');
    targetDb = await pgServer.createDatabase('target');
    p = await Platform.start({ config: { ...TINY, hub: { db: sourceDb } }, users: [{ name: 'bob', password: 'bob-password' }, { name: 'alice', password: 'alice-password' }] });
    admin = await p.token('admin');
    for (const name of ['alice', 'bob']) assert.equal((await p.api('POST', `/hub/api/users/${name}`, { token: admin })).status, 201);
    bobToken = await p.token('bob');
    await seedGroupAndRole(p.base, admin);
    await p.startServer('bob', bobToken, {});
  });
  after(async () => {
    await p?.close();
    await pgServer?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('backup while the hub runs, restore into another database, the hub there finds everything', async () => {
    const archive = path.join(tmp, 'pg.tar.gz');
    const b = await cli(['backup', '--data-dir', p.dataDir, '--config', p.configFile, '--out', archive]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /^backup: store: PostgreSQL export in one REPEATABLE READ snapshot$/m);
    assert.match(b.stderr, /^backup: store: users: 3 rows$/m);
    const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n');
    for (const entry of ['manifest.json', 'store/postgres/users.ndjson', 'store/postgres/tokens.ndjson', 'store/postgres/audit_log.ndjson', 'data/idp/jwks.json', 'data/secrets/proxy-token']) {
      assert.ok(listing.includes(entry), `${entry} missing from ${listing}`);
    }
    assert.ok(!listing.some((e) => e.startsWith('store/highrate.sqlite')));

    // The archived config names the source database, which has tables and the hub's connections.
    const intoSource = await cli(['restore', '--data-dir', path.join(tmp, 'd1'), '--from', archive]);
    assert.equal(intoSource.code, 1);
    assert.match(intoSource.stderr, /other connection\(s\) to the PostgreSQL database are open \(a running hub\?\)/);
    assert.equal(fs.existsSync(path.join(tmp, 'd1')), false);

    const port = await freePortPair();
    const config = parse(fs.readFileSync(p.configFile, 'utf8')) as Record<string, any>;
    config.hub = { ...config.hub, port, db: targetDb };
    const targetConfig = path.join(tmp, 'target.yaml');
    fs.writeFileSync(targetConfig, stringify(config));
    const dataDir = path.join(tmp, 'd2');
    const r = await cli(['restore', '--data-dir', dataDir, '--config', targetConfig, '--from', archive]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^restore: store: users: 3 rows$/m);
    assert.match(r.stdout, new RegExp(`Start the platform with: highrate up --data-dir ${dataDir} --config ${targetConfig}\n$`));
    // A second restore into the now filled database is refused without --force.
    const twice = await cli(['restore', '--data-dir', path.join(tmp, 'd3'), '--config', targetConfig, '--from', archive]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /The PostgreSQL database already has \d+ table\(s\)/);

    const base = `http://127.0.0.1:${port}`;
    const restored = await up(dataDir, targetConfig);
    try {
      await assertStateBack(base, admin, bobToken);
      // bob's pod runs under the other data directory: this one has no record of it, so stopped.
      assert.deepEqual(json(await api(base, 'GET', '/hub/api/users/bob', admin)).servers, {});
      // Writes append audit rows: their id sequence was moved past the restored ids.
      assert.equal((await api(base, 'POST', '/hub/api/users/newcomer', admin)).status, 201);
      assert.equal((await api(base, 'POST', '/hub/api/users/second', admin)).status, 201);
    } finally {
      await restored.stop();
    }
    // --force replaces the store's tables in one transaction: the users made since are gone again.
    const forced = await cli(['restore', '--data-dir', path.join(tmp, 'd3'), '--config', targetConfig, '--from', archive, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    const client = new pg.Client({ connectionString: targetDb });
    await client.connect();
    try {
      const names = (await client.query<{ name: string }>('select name from users order by name')).rows.map((r) => r.name);
      assert.deepEqual(names, ['admin', 'alice', 'bob']);
    } finally {
      await client.end();
    }
  });
});
});
