import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { validateConfig } from '../config/load.js';
import { loadOrCreateJwks } from '../idp/keys.js';
import { loadStorageSigner, signStorageToken, WLCG_ANY_AUDIENCE } from './tokens.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-stok-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a WLCG-profile token signed with the IdP\'s key, verifiable with its public JWKS', async () => {
  const signer = await loadStorageSigner(dir, 'https://hub.example/oidc');
  const idpKeys = await loadOrCreateJwks(path.join(dir, 'idp'));
  assert.equal(signer.kid, idpKeys.keys[0]!.kid, 'the IdP\'s own key, not a second one');
  assert.equal(signer.publicJwks.keys[0]!.d, undefined, 'no private part in the published keys');
  const storage = validateConfig({}, 'test').storage;
  const now = Math.floor(Date.now() / 1000);
  const t = await signStorageToken(signer, { user: 'alice', groups: [], policy: storage, audience: storage.audience, lifetime: storage.tokenLifetime, now });
  const { payload } = await jwtVerify(t.token, createLocalJWKSet(signer.publicJwks), { issuer: 'https://hub.example/oidc', audience: WLCG_ANY_AUDIENCE });
  assert.deepEqual(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sub', 'wlcg.ver']);
  assert.equal(payload['wlcg.ver'], '1.0');
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.scope, 'storage.read:/public storage.read:/user/alice storage.create:/user/alice storage.modify:/user/alice');
  assert.equal(payload.iat, now);
  assert.equal(payload.exp, now + 1200);
  assert.ok(payload.nbf! <= now);
  assert.equal(payload.jti, t.jti);
  assert.deepEqual(decodeProtectedHeader(t.token), { alg: 'RS256', kid: signer.kid, typ: 'JWT' });
  const again = await signStorageToken(signer, { user: 'alice', groups: [], policy: storage, audience: storage.audience, lifetime: 60 });
  assert.notEqual(again.jti, t.jti);
});
