/**
 * storage.tokenSource oidc: the embedded XRootD trusts the external issuer's keys, fetched from
 * its jwks_uri when the storage element starts. An issuer that cannot be reached at a later start
 * leaves the storage trusting the keys fetched last time (the hub and its storage still start);
 * with no keys ever fetched for that issuer, the start fails and says so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { fail } from '../../src/errors/catalogue.js';
import { StorageService } from '../../src/storage/index.js';
import type { IssuerStorageTokens } from '../../src/storage/issuer-tokens.js';
import { freePort, stopXrootd } from './helpers.js';

const ready = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/lib/x86_64-linux-gnu/libXrdAccSciTokens-5.so');
const ISSUER = 'https://iam.example.org/';
const KEYS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', alg: 'ES256', use: 'sig', x: 'SCS98ivbQei61cIUiVLfZ1CcoR4zvB4DTTXHV8w4wwM', y: '10bOiU3BRQIZQuDIE_BR4a8t-pF0yb0WO-GEahxgInc' }] };
const down = async (): Promise<never> => { throw fail('UPSTREAM_UNAVAILABLE', 'The identity provider\'s signing keys could not be fetched. Try again in a moment.'); };

describe('the external issuer\'s keys for the embedded XRootD', { skip: !ready && 'XRootD is not installed (scripts/install-deps.sh)' }, () => {
  let dataDir: string;
  let port: number;
  let pid = 0;
  const services: StorageService[] = [];

  async function service(issuer: string, jwks: () => Promise<{ keys: Array<Record<string, unknown>> }>): Promise<StorageService> {
    const config = validateConfig({ auth: { kind: 'oidc', oidc: { issuer, clientId: 'hub' } }, storage: { embedded: true, port, tokenSource: 'oidc' } }, 'test');
    const s = await StorageService.create({ config, dataDir, publicUrl: 'http://127.0.0.1:18003', embedded: true, fromIssuer: { tokens: {} as IssuerStorageTokens, issuer, jwks } });
    services.push(s);
    return s;
  }
  const cachedIssuer = () => {
    const db = fs.readFileSync(path.join(dataDir, 'xrootd', 'cache', 'scitokens', 'scitokens_cpp.sqllite'));
    return db.includes(Buffer.from(ISSUER)) && db.includes(Buffer.from('"kid":"k1"'));
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-issuer-keys-'));
    port = await freePort();
  });
  after(async () => {
    for (const s of services) await s.close();
    await stopXrootd(pid);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('fetched at start and provisioned for the issuer', async () => {
    const s = await service(ISSUER, async () => KEYS);
    await s.start();
    pid = s.endpoints!.pid;
    assert.ok(cachedIssuer());
    assert.equal(s.issuer, ISSUER);
  });

  test('an issuer that cannot be reached at the next start: the keys fetched last time are trusted; xrootd re-attached', async () => {
    await services[0]!.close();
    const s = await service(ISSUER, down);
    await s.start();
    assert.equal(s.endpoints!.pid, pid, 'the same xrootd');
    assert.equal(s.endpoints!.reused, true);
    assert.ok(cachedIssuer());
  });

  test('another issuer never fetched: the start fails with the fetch error', async () => {
    await services[1]!.close();
    const s = await service('https://other-iam.example.org/', down);
    await assert.rejects(s.start(), (err: any) => err.code === 'UPSTREAM_UNAVAILABLE' && /signing keys could not be fetched/.test(err.message));
  });
});
