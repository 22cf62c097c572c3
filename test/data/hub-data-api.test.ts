import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adler32 } from '../../src/data/adler32.js';
import { hashPath } from '../fixtures/rucio-server/pfn.js';
import { seedContent } from '../fixtures/rucio-server/seed.js';
import { Platform } from '../helpers/platform.js';
import { startRucioProcess, type RucioProcess } from './rucio-process.js';

/**
 * The data API of a whole platform whose config points at the Rucio test server (its own
 * process). The hub logs in to Rucio with one userpass identity, per user account.
 */
describe('hub data API against the Rucio test server', () => {
  let rucio: RucioProcess;
  let p: Platform;
  let secrets: string;
  let alice: string;
  let bob: string;
  const api = (method: string, path: string, token: string, body?: unknown) => p.api(method, path, { token }, body);

  before(async () => {
    rucio = await startRucioProcess({ storage: true, args: ['--replication-seconds', '0.4', '--storage-root', 'root://127.0.0.1:31094', '--storage-https', 'https://127.0.0.1:31094'] });
    secrets = mkdtempSync(join(tmpdir(), 'highrate-data-secrets-'));
    writeFileSync(join(secrets, 'rucio-password'), 'hub-secret\n');
    p = await Platform.start({
      users: [{ name: 'alice' }, { name: 'bob' }],
      config: { data: { rucio: { url: rucio.url, facilityRse: 'FACILITY', auth: 'userpass', username: 'highrate', passwordFile: join(secrets, 'rucio-password'), ruleLifetime: 86400, schemes: ['root', 'https'] } } },
    });
    alice = await p.token('alice');
    bob = await p.token('bob');
  });
  after(async () => {
    await p?.close();
    await rucio?.stop();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  test('search → detail → replicas → stage with progress → rule OK → URLs at the facility', async () => {
    const info = await api('GET', '/hub/api/data', alice);
    assert.equal(info.status, 200, info.text);
    assert.deepEqual([info.json().account, info.json().facility_rse], ['alice', 'FACILITY']);

    const found = await api('GET', '/hub/api/data/search?did=data:dataset*&type=dataset', alice);
    assert.deepEqual(found.json().dids.map((d: any) => [d.did, d.bytes, d.length]), [['data:dataset1', 28672, 3], ['data:dataset2', 3072, 2]]);

    const detail = (await api('GET', `/hub/api/data/dids/${encodeURIComponent('data:dataset1')}`, alice)).json();
    assert.deepEqual([detail.type, detail.bytes, detail.files_count, detail.parents.map((x: any) => x.did)], ['DATASET', 28672, 3, ['data:container1']]);
    assert.deepEqual(detail.files.map((f: any) => [f.did, f.bytes]), [['data:file1.root', 4096], ['data:file2.root', 8192], ['data:file3.root', 16384]]);

    const before = (await api('GET', `/hub/api/data/dids/${encodeURIComponent('data:dataset1')}/replicas`, alice)).json();
    assert.deepEqual(before.rses, [{ rse: 'SITE-DISK', files: 3, bytes: 28672, complete: true }]);
    assert.deepEqual(before.facility, { rse: 'FACILITY', files: 0, bytes: 0, complete: false });

    const staged = await api('POST', '/hub/api/data/rules', alice, { did: 'data:dataset1' });
    assert.equal(staged.status, 201, staged.text);
    const rule = staged.json();
    assert.deepEqual([rule.did, rule.account, rule.rse_expression, rule.state, rule.locks], ['data:dataset1', 'alice', 'FACILITY', 'REPLICATING', { ok: 0, replicating: 3, stuck: 0, total: 3 }]);
    assert.ok(rule.expires_at, 'the configured lifetime is set');

    const seen: number[] = [];
    let r: any;
    for (let i = 0; i < 60; i++) {
      r = (await api('GET', `/hub/api/data/rules/${rule.id}`, alice)).json();
      if (seen.at(-1) !== r.progress) seen.push(r.progress);
      if (r.state === 'OK') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(r.state, 'OK');
    assert.deepEqual(seen, [0, 1 / 3, 2 / 3, 1], 'files arrive one after another');
    assert.deepEqual(r.files.map((f: any) => `${f.did}@${f.rse}:${f.state}`), ['data:file1.root@FACILITY:OK', 'data:file2.root@FACILITY:OK', 'data:file3.root@FACILITY:OK']);

    const afterward = (await api('GET', `/hub/api/data/dids/${encodeURIComponent('data:dataset1')}/replicas`, alice)).json();
    assert.deepEqual(afterward.facility, { rse: 'FACILITY', files: 3, bytes: 28672, complete: true });
    assert.equal(afterward.rses[0].rse, 'FACILITY', 'the facility first');

    const urls = (await api('GET', `/hub/api/data/dids/${encodeURIComponent('data:dataset1')}/files`, alice)).json();
    assert.deepEqual(urls.missing, []);
    assert.deepEqual(urls.files.map((f: any) => f.url), ['file1.root', 'file2.root', 'file3.root'].map((n) => `root://127.0.0.1:31094//rucio/${hashPath('data', n)}`));
    // The bytes arrived where the facility's storage serves them, with the catalogue's checksum.
    const onDisk = readFileSync(join(rucio.storageDir!, 'rucio', hashPath('data', 'file2.root')));
    assert.equal(existsSync(join(rucio.storageDir!, 'rucio', hashPath('data', 'file4.root'))), false, 'only staged files arrive');
    assert.equal(adler32(onDisk), adler32(seedContent('data', 'file2.root', 8192)));
    assert.equal(urls.files[1].adler32, adler32(onDisk));

    // Asking again is not an error: the same rule.
    const again = await api('POST', '/hub/api/data/rules', alice, { did: 'data:dataset1' });
    assert.equal(again.status, 200);
    assert.equal(again.json().id, rule.id);

    assert.deepEqual((await api('GET', '/hub/api/data/rules', alice)).json().rules.map((x: any) => [x.id, x.state]), [[rule.id, 'OK']]);
    const quota = (await api('GET', '/hub/api/data/quota', alice)).json();
    assert.deepEqual(quota.facility, { bytes_limit: 64 * 1024 * 1024, bytes: 28672, files: 3, bytes_remaining: 64 * 1024 * 1024 - 28672 });

    // Another user neither sees nor deletes it.
    for (const method of ['GET', 'DELETE']) {
      const other = await api(method, `/hub/api/data/rules/${rule.id}`, bob);
      assert.equal(other.status, 404, `${method}: ${other.text}`);
      assert.equal(other.json().code, 'DATA_NOT_FOUND');
    }
    assert.deepEqual((await api('GET', '/hub/api/data/rules', bob)).json().rules, []);

    const del = await api('DELETE', `/hub/api/data/rules/${rule.id}`, alice);
    assert.equal(del.status, 204);
    assert.equal((await api('GET', `/hub/api/data/rules/${rule.id}`, alice)).json().code, 'DATA_NOT_FOUND');
  });

  test('errors say what to do: unknown DID, no quota, bad input, a missing scope', async () => {
    const unknown = await api('GET', `/hub/api/data/dids/${encodeURIComponent('data:nope')}`, alice);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().code, 'DATA_NOT_FOUND');
    assert.match(unknown.json().message, /data:nope does not exist in Rucio/);
    const unknownStage = await api('POST', '/hub/api/data/rules', alice, { did: 'data:nope' });
    assert.equal(unknownStage.json().code, 'DATA_NOT_FOUND');

    const noQuota = await api('POST', '/hub/api/data/rules', bob, { did: 'data:dataset2' });
    assert.equal(noQuota.status, 409);
    assert.equal(noQuota.json().code, 'DATA_QUOTA_EXCEEDED');
    assert.match(noQuota.json().message, /Your Rucio account "bob" has not enough quota left at FACILITY for data:dataset2/);
    const tooBig = await api('POST', '/hub/api/data/rules', alice, { did: 'data:big' });
    assert.equal(tooBig.json().code, 'DATA_QUOTA_EXCEEDED');

    const bad = await api('GET', '/hub/api/data/search?did=nocolon', alice);
    assert.equal(bad.status, 400);
    assert.match(bad.json().message, /scope:name/);
    assert.equal((await api('GET', '/hub/api/data/rules/xyz', alice)).status, 400);

    const readOnly = await p.token('alice', ['read:data!user']);
    assert.equal((await api('GET', '/hub/api/data/rules', readOnly)).status, 200);
    const refused = await api('POST', '/hub/api/data/rules', readOnly, { did: 'data:dataset2' });
    assert.equal(refused.status, 403);
    assert.equal(refused.json().code, 'MISSING_SCOPE');
    assert.equal((await p.api('GET', '/hub/api/data/rules', {})).status, 403);
  });

  test('an expired Rucio token is renewed; a refused login and an unreachable Rucio are 502 DATA_UPSTREAM', async () => {
    assert.equal((await api('GET', '/hub/api/data/quota', alice)).status, 200);
    const expired = await fetch(`${rucio.url}/_test/expire-tokens`, { method: 'POST' });
    assert.equal((await expired.json()).expired > 0, true);
    assert.equal((await api('GET', '/hub/api/data/quota', alice)).status, 200, 'the hub logged in again by itself');

    await fetch(`${rucio.url}/_test/expire-tokens`, { method: 'POST' });
    writeFileSync(join(secrets, 'rucio-password'), 'rotated-wrongly\n');
    const refused = await api('GET', '/hub/api/data/quota', alice);
    assert.equal(refused.status, 502);
    assert.equal(refused.json().code, 'DATA_UPSTREAM');
    assert.match(refused.json().message, /Rucio refused the hub's login as account "alice".*tell the facility's administrators/);
    writeFileSync(join(secrets, 'rucio-password'), 'hub-secret\n');
    assert.equal((await api('GET', '/hub/api/data/quota', alice)).status, 200);

    await rucio.stop();
    const down = await api('GET', '/hub/api/data/rules', alice);
    assert.equal(down.status, 502);
    assert.equal(down.json().code, 'DATA_UPSTREAM');
    assert.match(down.json().message, /is not reachable\. Try again in a few minutes/);
  });
});
