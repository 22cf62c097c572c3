/**
 * Route-API behaviour that our proxy and configurable-http-proxy 5 must share, so the hub can
 * drive either. `chp-compat.test.ts` runs it against both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProxyClient } from '../../src/proxy/index.js';
import { startBackend, type Backend } from './peers.js';
import { call } from './tools.js';

export interface ProxyUnderTest {
  publicUrl: string;
  apiUrl: string;
  stop(): Promise<void>;
}

export function describeRouteApi(name: string, token: string, start: () => Promise<ProxyUnderTest>): void {
  describe(`route API conformance: ${name}`, () => {
    let proxy: ProxyUnderTest;
    let backend: Backend;
    const auth = { authorization: `token ${token}` };
    const api = (p: string) => `${proxy.apiUrl}/api/routes${p}`;

    before(async () => {
      backend = await startBackend(`backend-${name}`);
      proxy = await start();
    });
    after(async () => {
      await proxy?.stop();
      await backend?.close();
    });

    test('no token or a wrong token: 403', async () => {
      assert.equal((await call(api(''))).status, 403);
      assert.equal((await call(api(''), { headers: { authorization: 'token wrong' } })).status, 403);
      assert.equal((await call(api('/x'), { method: 'POST', headers: { authorization: 'token wrong' }, body: JSON.stringify({ target: backend.url }) })).status, 403);
      assert.equal((await call(api('/x'), { method: 'DELETE' })).status, 403);
    });

    test('POST → 201; GET lists it under the normalised prefix with its data and last_activity', async () => {
      const before = Date.now();
      const res = await call(api('/user/alice/'), { method: 'POST', headers: auth, body: JSON.stringify({ target: backend.url, user: 'alice', server_name: '', extra: { n: 1 } }) });
      assert.equal(res.status, 201);
      const all = await call(api(''), { headers: auth });
      assert.equal(all.status, 200);
      assert.match(String(all.headers['content-type']), /^application\/json/);
      const route = JSON.parse(all.body)['/user/alice'];
      assert.equal(route.target, backend.url);
      assert.equal(route.user, 'alice');
      assert.equal(route.server_name, '');
      assert.deepEqual(route.extra, { n: 1 });
      const activity = Date.parse(route.last_activity);
      assert.ok(activity >= before - 1000 && activity <= Date.now() + 1000, `last_activity ${route.last_activity}`);
      assert.match(route.last_activity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    test('GET one route: 200 with the same object; unknown: 404', async () => {
      const one = await call(api('/user/alice'), { headers: auth });
      assert.equal(one.status, 200);
      assert.equal(JSON.parse(one.body).target, backend.url);
      const slash = await call(api('/user/alice/'), { headers: auth });
      assert.equal(slash.status, 200, 'a trailing slash names the same route');
      assert.equal((await call(api('/user/nobody'), { headers: auth })).status, 404);
    });

    test('bad JSON and a missing target: 400', async () => {
      assert.equal((await call(api('/user/bad'), { method: 'POST', headers: auth, body: '{not json' })).status, 400);
      assert.equal((await call(api('/user/bad'), { method: 'POST', headers: auth, body: '{"user":"x"}' })).status, 400);
      assert.equal((await call(api('/user/bad'), { headers: auth })).status, 404, 'nothing was added');
    });

    test('unsupported method: 405; unknown API path: 404', async () => {
      assert.equal((await call(api('/user/alice'), { method: 'PUT', headers: auth, body: '{}' })).status, 405);
      assert.equal((await call(`${proxy.apiUrl}/api/other`, { headers: auth })).status, 404);
    });

    test('inactive_since lists only routes idle since before then; a bad date is 400', async () => {
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const past = new Date(Date.now() - 3_600_000).toISOString();
      const idle = JSON.parse((await call(api(`?inactive_since=${encodeURIComponent(future)}`), { headers: auth })).body);
      assert.ok('/user/alice' in idle);
      const none = JSON.parse((await call(api(`?inactive_since=${encodeURIComponent(past)}`), { headers: auth })).body);
      assert.ok(!('/user/alice' in none));
      assert.equal((await call(api('?inactive_since=yesterday-ish'), { headers: auth })).status, 400);
    });

    test('the public port forwards by longest prefix and answers the health check', async () => {
      assert.equal((await call(api('/svc'), { method: 'POST', headers: auth, body: JSON.stringify({ target: backend.url }) })).status, 201);
      const res = await call(`${proxy.publicUrl}/svc/deep/path?q=1`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-backend'], `backend-${name}`);
      const health = await call(`${proxy.publicUrl}/_chp_healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), { status: 'OK' });
    });

    test('DELETE → 204, then 404; the route is gone', async () => {
      assert.equal((await call(api('/svc'), { method: 'DELETE', headers: auth })).status, 204);
      assert.equal((await call(api('/svc'), { method: 'DELETE', headers: auth })).status, 404);
      assert.equal((await call(api('/svc'), { headers: auth })).status, 404);
    });

    test('ProxyClient drives it: add, get, list, inactive filter, delete', async () => {
      const client = new ProxyClient(proxy.apiUrl, token);
      try {
        await client.addRoute('/user/carol/', backend.url, { user: 'carol', server_name: 'gpu' });
        const route = await client.getRoute('/user/carol/');
        assert.equal(route?.target, backend.url);
        assert.equal(route?.server_name, 'gpu');
        assert.equal(await client.getRoute('/user/nobody/'), undefined);
        const all = await client.getRoutes();
        assert.deepEqual(Object.keys(all).filter((k) => k.startsWith('/user/')).sort(), ['/user/alice', '/user/carol']);
        assert.deepEqual(Object.keys(await client.getRoutes(new Date(Date.now() - 3_600_000))), []);
        assert.equal(await client.deleteRoute('/user/carol/'), true);
        assert.equal(await client.deleteRoute('/user/carol/'), false);
        await assert.rejects(new ProxyClient(proxy.apiUrl, 'wrong').addRoute('/x', backend.url), { code: 'UPSTREAM_UNAVAILABLE' });
      } finally {
        client.close();
      }
    });
  });
}
