import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HighrateError } from '../errors/catalogue.js';
import { loadOrCreateCookieKeys, loadOrCreateJwks } from './keys.js';

test('keys are created once (0600) and loaded unchanged; damaged files stop the start', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-keys-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const jwks = await loadOrCreateJwks(dir);
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].alg, 'RS256');
  assert.equal(typeof jwks.keys[0].d, 'string');
  assert.equal(fs.statSync(path.join(dir, 'jwks.json')).mode & 0o777, 0o600);
  assert.deepEqual(await loadOrCreateJwks(dir), jwks);

  const cookieKeys = loadOrCreateCookieKeys(dir);
  assert.equal(fs.statSync(path.join(dir, 'cookie-keys.json')).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateCookieKeys(dir), cookieKeys);

  fs.chmodSync(path.join(dir, 'jwks.json'), 0o644);
  await loadOrCreateJwks(dir);
  assert.equal(fs.statSync(path.join(dir, 'jwks.json')).mode & 0o777, 0o600, 'loosened mode is tightened');

  fs.writeFileSync(path.join(dir, 'jwks.json'), '{"keys":[{"kty":"RSA","n":"x","e":"AQAB"}]}');
  await assert.rejects(loadOrCreateJwks(dir), (err: unknown) => err instanceof HighrateError && err.code === 'CONFIG_INVALID' && /holds no private keys/.test(err.message));
  fs.writeFileSync(path.join(dir, 'cookie-keys.json'), 'nope');
  assert.throws(() => loadOrCreateCookieKeys(dir), (err: unknown) => err instanceof HighrateError && err.code === 'CONFIG_INVALID');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['cookie-keys.json', 'jwks.json'], 'no temp files left behind');
});
