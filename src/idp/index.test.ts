import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HighrateError } from '../errors/catalogue.js';
import { createEmbeddedIdp, type EmbeddedIdpOptions } from './index.js';

test('bad options are refused before anything is written', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-idp-opts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good: EmbeddedIdpOptions = {
    issuer: 'http://127.0.0.1:8000/oidc',
    dataDir: path.join(dir, 'idp'),
    clients: [{ client_id: 'hub', client_secret: 'x'.repeat(32), redirect_uris: ['http://127.0.0.1:8000/hub/oauth_callback'] }],
  };
  const cases: [Partial<EmbeddedIdpOptions>, RegExp][] = [
    [{ issuer: 'ftp://x/oidc' }, /must be a plain http\(s\) URL/],
    [{ issuer: 'http://127.0.0.1:8000/oidc?x=1' }, /must be a plain http\(s\) URL/],
    [{ clients: [] }, /at least one client/],
    [{ clients: [{ ...good.clients[0], client_secret: 'short' }] }, /secret of at least 32 characters/],
    [{ clients: [{ ...good.clients[0], redirect_uris: ['/relative'] }] }, /"\/relative" is not an absolute http\(s\) URL/],
    [{ clients: [{ ...good.clients[0], post_logout_redirect_uris: ['javascript:alert(1)'] }] }, /is not an absolute http\(s\) URL/],
    [{ groupsClaim: 'sub' }, /cannot be used as the groups claim name/],
  ];
  for (const [change, message] of cases) {
    await assert.rejects(createEmbeddedIdp({ ...good, ...change }), (err: unknown) => err instanceof HighrateError && err.code === 'CONFIG_INVALID' && message.test(err.message), JSON.stringify(change));
  }
  assert.equal(fs.existsSync(good.dataDir), false);
});
