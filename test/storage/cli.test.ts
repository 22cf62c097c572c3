/**
 * `highrate token issue USER --storage`: one WLCG token on the last line, verifiable with the IdP's
 * public keys, scopes by the configured policy and the user's groups, audited by jti only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createStore } from '../../src/store/index.js';
import { publicJwk } from '../../src/storage/tokens.js';

const CLI = fileURLToPath(new URL('../../../bin/highrate.js', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-stcli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('token issue --storage prints a WLCG token; unknown users are refused', async () => {
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'hub:\n  publicUrl: https://hub.example.org\nstorage:\n  tokenLifetime: 300\n  groups:\n    cms:\n      read: [/cms]\n');
  const store = await createStore(`sqlite://${dir}/highrate.sqlite`);
  await store.migrate();
  await store.upsertUser('alice', { groups: ['cms'] });
  await store.close();

  const r = spawnSync(process.execPath, [CLI, 'token', 'issue', 'alice', '--storage', '--data-dir', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const token = r.stdout.trim().split('\n').pop()!;
  const jwks = JSON.parse(fs.readFileSync(path.join(dir, 'idp', 'jwks.json'), 'utf8')) as { keys: Parameters<typeof publicJwk>[0][] };
  const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: jwks.keys.map(publicJwk) }), { issuer: 'https://hub.example.org/oidc', audience: 'https://wlcg.cern.ch/jwt/v1/any' });
  assert.equal(payload.scope, 'storage.read:/public storage.read:/user/alice storage.create:/user/alice storage.modify:/user/alice storage.read:/cms');
  assert.equal(payload.exp! - payload.iat!, 300);
  // Never in its output's other lines, nor its logs.
  assert.equal(r.stderr.includes(token), false);

  const store2 = await createStore(`sqlite://${dir}/highrate.sqlite`);
  try {
    const audit = await store2.queryAudit({ action: 'storage-token.issue', limit: 10 });
    assert.equal(audit.length, 1);
    const text = JSON.stringify(audit);
    assert.ok(text.includes(String(payload.jti)), 'audited by jti');
    assert.equal(text.includes(token), false);
  } finally {
    await store2.close();
  }

  const bad = spawnSync(process.execPath, [CLI, 'token', 'issue', 'nobody', '--storage', '--data-dir', dir], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /No such user: nobody/);
});
