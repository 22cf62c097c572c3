/**
 * A full disk under the data directory: writes fail with 507 STORAGE_FULL (a clear message, never a
 * 500), reads keep working, nothing half-written is left, and once space is freed the same store
 * (and the same running hub) writes again and `PRAGMA integrity_check` is ok.
 * The disk is a real small tmpfs (`mount -t tmpfs -o size=…`), which needs root; elsewhere the
 * tests are skipped, saying why.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { HighrateError } from '../../src/errors/catalogue.js';
import { log } from '../../src/log.js';
import { isStorageFull, storageFullError } from '../../src/store/db-errors.js';
import { createStore } from '../../src/store/index.js';
import { CLI, Platform } from '../helpers/platform.js';

const SIZE = '8m';
let root = '';
let mnt = '';
let mounted = false;
let skip: string | false = false;

before(() => {
  log.setLevel('error');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-full-disk-'));
  mnt = path.join(root, 'disk');
  fs.mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0755`, 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    skip = `cannot mount a ${SIZE} tmpfs to fill (needs root and mount): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
});

after(() => {
  if (mounted) {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      // Something still holds a file open there (a failed test's store): detach it anyway.
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

/** Fills the file system of `dir` to the last byte; returns the filler file to delete. */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512, 1]) {
      const buf = Buffer.alloc(size, 120);
      for (;;) {
        try {
          fs.writeSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Enough rows that a write cannot fit in the space the write-ahead log already has. */
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}-${'x'.repeat(40)}`);

describe('a full disk under the store', () => {
  test('recognised on both engines and from the file system, also when wrapped', () => {
    for (const code of ['SQLITE_FULL', '53100', 'ENOSPC', 'EDQUOT']) assert.equal(isStorageFull(Object.assign(new Error('x'), { code })), true, code);
    assert.equal(isStorageFull(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'SQLITE_FULL' }) })), true);
    for (const code of ['SQLITE_BUSY', '23505', 'EACCES', undefined]) assert.equal(isStorageFull(Object.assign(new Error('x'), { code })), false, String(code));
    const other = new Error('other');
    assert.equal(storageFullError(other), other);
  });

  test('SQLite: the write fails as STORAGE_FULL, reads work, nothing half-written; after freeing space it writes again and integrity is ok', async (t) => {
    if (skip) return t.skip(skip);
    const dir = path.join(mnt, 'store-level');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'highrate.sqlite');
    const store = await createStore(`sqlite://${file}`);
    let filler = '';
    try {
      await store.migrate();
      await store.createUsers(['alice', 'bob']);
      filler = fill(mnt);
      let caught: unknown;
      try {
        await store.createUsers(names('big', 4000));
      } catch (err) {
        caught = err;
      }
      assert.ok(caught, 'a 4000-user insert on a full disk must fail');
      assert.equal(isStorageFull(caught), true, `not recognised as a full disk: ${String((caught as { code?: string }).code)} ${String(caught)}`);
      const mapped = storageFullError(caught);
      assert.ok(mapped instanceof HighrateError);
      assert.equal(mapped.code, 'STORAGE_FULL');
      assert.equal(mapped.status, 507);
      assert.match(mapped.message, /storage is full.*free space/);
      // Reads still answer on a full disk, and the failed insert left no row behind.
      assert.equal((await store.getUser('alice'))?.name, 'alice');
      assert.equal((await store.listUsers({ limit: 10 })).total, 2);

      fs.rmSync(filler);
      filler = '';
      // The same open store writes again: the failed transaction did not leave it wedged.
      await store.createUsers(names('after', 4000));
      assert.equal((await store.listUsers({ limit: 10 })).total, 4002);
      await store.upsertUser('carol', { admin: true });
      assert.equal((await store.getUser('carol'))?.admin, true);
    } finally {
      await store.close();
      if (filler) fs.rmSync(filler, { force: true });
    }
    assert.equal(integrity(file), 'ok');
    fs.rmSync(dir, { recursive: true });
  });

  test('backup and restore onto a full disk: STORAGE_FULL with what to do, nothing half-written left', async (t) => {
    if (skip) return t.skip(skip);
    const dataDir = path.join(root, 'data');
    const store = await createStore(`sqlite://${path.join(dataDir, 'highrate.sqlite')}`);
    await store.migrate();
    await store.createUsers(names('user', 2000));
    await store.close();
    const archive = path.join(root, 'ok.tar.gz');
    execFileSync(process.execPath, [CLI, 'backup', '--data-dir', dataDir, '--out', archive], { stdio: 'pipe' });
    const filler = fill(mnt);
    try {
      const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      const b = cli(['backup', '--data-dir', dataDir, '--out', path.join(mnt, 'full.tar.gz')]);
      assert.equal(b.status, 1);
      assert.match(b.stderr, new RegExp(`^highrate backup: No space left for the backup in ${mnt} \\(the archive is staged and written there\\); free space or choose another --out\\. Nothing was written\\.$`, 'm'));
      const r = cli(['restore', '--data-dir', path.join(mnt, 'restored'), '--from', archive]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^highrate restore: No space left in ${mnt} \\(the archive is unpacked and checked there before it is moved into ${mnt}/restored\\); free space and run the restore again\\.$`, 'm'));
      // No partial archive, stage or half-restored directory.
      assert.deepEqual(fs.readdirSync(mnt), ['filler']);
    } finally {
      fs.rmSync(filler, { force: true });
    }
  });

  test('a running hub: API writes answer 507 STORAGE_FULL with a message, reads 200; after freeing space writes work and the store is intact', async (t) => {
    if (skip) return t.skip(skip);
    const p = await Platform.start({ dataParent: path.join(mnt, 'hub') });
    let filler = '';
    t.after(async () => {
      if (filler) fs.rmSync(filler, { force: true });
      await p.close();
    });
    const admin = await p.token('admin');
    assert.equal((await p.api('POST', '/hub/api/users/alice', { token: admin })).status, 201);

    filler = fill(mnt);
    const refused = await p.api('POST', '/hub/api/users', { token: admin }, { usernames: names('u', 3000) });
    assert.equal(refused.status, 507, refused.text);
    const body = JSON.parse(refused.text);
    assert.equal(body.code, 'STORAGE_FULL');
    assert.equal(body.status, 507);
    assert.match(body.message, /^The hub's storage is full, so this change was not saved \(nothing was changed\)\. An operator must free space/);
    // Reads keep working while the disk is full, and the refused request created nobody.
    const list = await p.api('GET', '/hub/api/users?limit=5', { token: admin });
    assert.equal(list.status, 200);
    assert.deepEqual(JSON.parse(list.text).map((u: { name: string }) => u.name).sort(), ['admin', 'alice']);

    fs.rmSync(filler);
    filler = '';
    const created = await p.api('POST', '/hub/api/users', { token: admin }, { usernames: names('u', 3000) });
    assert.equal(created.status, 201, created.text);
    assert.equal((await p.api('GET', '/hub/api/users/u-02999-' + 'x'.repeat(40), { token: admin })).status, 200);
    assert.equal(integrity(path.join(p.dataDir, 'highrate.sqlite')), 'ok');
  });
});
