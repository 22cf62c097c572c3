import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { EmbeddedIdp } from '../idp/index.js';
import { LazyIdp } from './embedded-idp.js';

/** An IdP double: the loader is what LazyIdp calls; the real IdP is covered by test/auth. */
function fakeIdp(log: string[]): EmbeddedIdp {
  return {
    issuer: 'http://127.0.0.1/oidc',
    accounts: undefined as unknown as EmbeddedIdp['accounts'],
    handle(_req: IncomingMessage, res: ServerResponse) { log.push('handle'); res.end('idp'); },
    endSessions(username: string) { log.push(`end ${username}`); return 1; },
    async close() { log.push('close'); },
  };
}

async function serve(idp: LazyIdp): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(idp.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oidc/.well-known/openid-configuration`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('loaded once, on first use: concurrent requests share the load', async () => {
  const log: string[] = [];
  let loads = 0;
  const idp = new LazyIdp(async () => { loads++; await new Promise((r) => setTimeout(r, 20)); return fakeIdp(log); });
  assert.equal(loads, 0, 'nothing loads before it is used');
  const s = await serve(idp);
  try {
    const bodies = await Promise.all([1, 2, 3].map(async () => (await fetch(s.url)).text()));
    assert.deepEqual(bodies, ['idp', 'idp', 'idp']);
    idp.endSessions('alice');
    await idp.get();
    assert.equal(loads, 1);
    assert.deepEqual(log, ['handle', 'handle', 'handle', 'end alice']);
  } finally {
    await s.close();
    await idp.close();
  }
  assert.equal(log.at(-1), 'close');
});

test('a load that fails: 503 UPSTREAM_UNAVAILABLE, and the next use tries again', async () => {
  const log: string[] = [];
  let loads = 0;
  const idp = new LazyIdp(async () => { if (++loads === 1) throw new Error('idp keys unreadable'); return fakeIdp(log); });
  const s = await serve(idp);
  try {
    const first = await fetch(s.url);
    assert.equal(first.status, 503);
    assert.equal((await first.json() as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
    const browser = await fetch(s.url, { headers: { accept: 'text/html' } });
    assert.equal(browser.status, 200, 'the second use loaded it');
    assert.equal(await browser.text(), 'idp');
    assert.equal(loads, 2);
  } finally {
    await s.close();
    await idp.close();
  }
});

test('after close nothing loads; an IdP loading while the hub closes is closed when it arrives', async () => {
  const log: string[] = [];
  let release!: () => void;
  const idp = new LazyIdp(async () => { await new Promise<void>((r) => { release = r; }); return fakeIdp(log); });
  idp.warm();
  const closing = idp.close();
  release();
  await closing;
  assert.deepEqual(log, ['close']);
  await assert.rejects(idp.get(), /shutting down/);
});
