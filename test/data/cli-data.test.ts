import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashPath } from '../fixtures/rucio-server/pfn.js';
import { CLI, Platform } from '../helpers/platform.js';
import { startRucioProcess, type RucioProcess } from './rucio-process.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'data', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('highrate data (CLI) against a platform with the Rucio test server', () => {
  let rucio: RucioProcess;
  let p: Platform;
  let secrets: string;
  let as: (user: 'alice' | 'bob') => Record<string, string>;

  before(async () => {
    rucio = await startRucioProcess({ args: ['--replication-seconds', '0.3', '--storage-root', 'root://127.0.0.1:31094', '--storage-https', 'https://127.0.0.1:31094'] });
    secrets = mkdtempSync(join(tmpdir(), 'highrate-data-cli-'));
    writeFileSync(join(secrets, 'pw'), 'hub-secret\n');
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: { data: { rucio: { url: rucio.url, facilityRse: 'FACILITY', username: 'highrate', passwordFile: join(secrets, 'pw') } } },
    });
    const tokens = { alice: await p.token('alice'), bob: await p.token('bob') };
    as = (user) => ({ HIGHRATE_URL: p.base, HIGHRATE_TOKEN: tokens[user] });
  });
  after(async () => {
    await p?.close();
    await rucio?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  test('search, ls, replicas, stage --wait, rules, urls, quota', async () => {
    const help = await run(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: highrate data COMMAND/);

    const found = await run(['search', 'data:dataset*', '--type', 'dataset'], as('alice'));
    assert.equal(found.stdout, 'data:dataset1  DATASET  28 KiB  3 files\ndata:dataset2  DATASET  3 KiB  2 files\n');
    const ls = await run(['ls', 'data:dataset2'], as('alice'));
    assert.match(ls.stdout, /^data:dataset2  DATASET  3 KiB in 2 files\n  data:file4\.root  2 KiB  adler32:[0-9a-f]{8}\n  data:file5\.root  1 KiB  adler32:[0-9a-f]{8}\n$/);
    const where = await run(['replicas', 'data:dataset2'], as('alice'));
    assert.equal(where.stdout, 'SITE-DISK  2/2 files  3 KiB  complete\nNot (all) at this facility (FACILITY): `highrate data stage data:dataset2` brings it here.\n');

    const staged = await run(['stage', 'data:dataset2', '--wait'], as('alice'));
    assert.equal(staged.code, 0, staged.stderr);
    const id = staged.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.match(staged.stderr, new RegExp(`^Rule ${id} to FACILITY: REPLICATING 0/2 files\n`));
    assert.match(staged.stderr, /OK 2\/2 files\n$/);

    assert.equal((await run(['rules'], as('alice'))).stdout, `${id}  data:dataset2  → FACILITY  OK 2/2 files\n`);
    assert.match((await run(['rules', id], as('alice'))).stdout, /\n  data:file4\.root  FACILITY  OK\n  data:file5\.root  FACILITY  OK\n$/);
    assert.equal((await run(['urls', 'data:dataset2'], as('alice'))).stdout, ['file4.root', 'file5.root'].map((n) => `root://127.0.0.1:31094//rucio/${hashPath('data', n)}\n`).join(''));
    assert.equal((await run(['replicas', 'data:dataset2'], as('alice'))).stdout.split('\n').at(-2), 'Available at this facility (FACILITY).');
    assert.equal((await run(['quota'], as('alice'))).stdout, 'alice at FACILITY: 3 KiB of 64 MiB used, 2 files\n');

    // bob may not see it, nor delete it.
    const notHis = await run(['rules', id, '--delete'], as('bob'));
    assert.equal(notHis.code, 1);
    assert.match(notHis.stderr, /No such rule of yours.*\(404 DATA_NOT_FOUND\)/);
    assert.equal((await run(['rules', id, '--delete'], as('alice'))).stdout, `Deleted rule ${id}.\n`);
  });

  test('errors: no quota, unknown DID, no token', async () => {
    const noQuota = await run(['stage', 'data:dataset1'], as('bob'));
    assert.equal(noQuota.code, 1);
    assert.equal(noQuota.stderr, 'highrate data: Your Rucio account "bob" has not enough quota left at FACILITY for data:dataset1. Delete rules you no longer need (`highrate data rules`), or ask the facility\'s data managers to raise your limit. (409 DATA_QUOTA_EXCEEDED)\n');
    const unknown = await run(['ls', 'data:nope'], as('alice'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /data:nope does not exist in Rucio.*\(404 DATA_NOT_FOUND\)/);
    const noToken = await run(['rules'], { HIGHRATE_TOKEN: '', JUPYTERHUB_API_TOKEN: '' });
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /No API token/);
  });
});
