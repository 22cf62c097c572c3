import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTarget, RouteTable, routeJson } from './routes.js';

describe('parseTarget', () => {
  test('parses host, port, path prefix and pool key once', () => {
    assert.deepEqual(parseTarget('http://127.0.0.1:9001'), {
      href: 'http://127.0.0.1:9001',
      secure: false,
      hostname: '127.0.0.1',
      port: 9001,
      pathPrefix: '',
      hostHeader: '127.0.0.1:9001',
      poolKey: 'http://127.0.0.1:9001',
    });
    const t = parseTarget('https://[::1]/base/')!;
    assert.equal(t.secure, true);
    assert.equal(t.hostname, '::1');
    assert.equal(t.port, 443);
    assert.equal(t.pathPrefix, '/base');
    assert.equal(t.hostHeader, '[::1]');
  });

  test('refuses what cannot be proxied to', () => {
    assert.equal(parseTarget('not a url'), null);
    assert.equal(parseTarget('ftp://host/'), null);
    assert.equal(parseTarget('unix:/tmp/sock'), null);
  });
});

describe('RouteTable', () => {
  test('stores data as given but the upstream token, shown as its SHA-256; normalised prefix, lifted edge-auth fields', () => {
    const table = new RouteTable();
    const given = { target: 'http://127.0.0.1:9', user: 'alice', server_name: 'gpu', upstream_token: 'T0k', last_activity: 'x' };
    const route = table.add('/user/alice/', given, 1_000);
    assert.equal(route.prefix, '/user/alice');
    assert.equal(route.user, 'alice');
    assert.equal(route.serverName, 'gpu');
    assert.equal(route.upstreamToken, 'T0k');
    assert.equal(table.get('user/alice'), route);
    assert.deepEqual(routeJson(route), {
      target: 'http://127.0.0.1:9',
      user: 'alice',
      server_name: 'gpu',
      // `printf T0k | sha256sum`
      upstream_token_sha256: '7a806086e27a2b7c480918bf38db5fa212743ccab9695f0429855a9f0cba47b2',
      last_activity: '1970-01-01T00:00:01.000Z',
    });
    assert.ok(!JSON.stringify(routeJson(route)).includes('T0k'));
    assert.equal(given.upstream_token, 'T0k', "the caller's object is not changed");
  });

  test('a route without a string upstream token is shown exactly as given', () => {
    const table = new RouteTable();
    const data = { target: 'http://127.0.0.1:9', user: 'bob', upstream_token: null, upstream_token_sha256: 'mine', n: [1] };
    assert.equal(table.add('/user/bob', data).data, data);
    assert.equal(table.get('/user/bob')!.upstreamToken, undefined);
  });

  test('an own __proto__ key in JSON data stays plain data', () => {
    const table = new RouteTable();
    const data = JSON.parse('{"target":"http://127.0.0.1:9","upstream_token":"t","__proto__":{"polluted":1}}') as Record<string, unknown>;
    const shown = routeJson(table.add('/x', data, 0));
    assert.equal((shown as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(shown)).__proto__, { polluted: 1 });
  });

  test('routes without user need no credential; a given last_activity is not kept', () => {
    const table = new RouteTable();
    const route = table.add('/', { target: 'http://hub:8081', last_activity: '2000-01-01T00:00:00Z' }, 5);
    assert.equal(route.user, undefined);
    assert.equal(route.serverName, '');
    assert.deepEqual(routeJson(route), { target: 'http://hub:8081', last_activity: '1970-01-01T00:00:00.005Z' });
  });

  test('match is longest prefix; replace and delete work by normalised prefix', () => {
    const table = new RouteTable();
    table.add('/', { target: 'http://hub:1' });
    table.add('/user/alice', { target: 'http://a:1' });
    assert.equal(table.match('/user/alice/x')!.target.hostname, 'a');
    assert.equal(table.match('/user/bob/x')!.target.hostname, 'hub');
    table.add('/user/alice/', { target: 'http://a2:1' });
    assert.equal(table.size, 2);
    assert.equal(table.match('/user/alice/x')!.target.hostname, 'a2');
    assert.equal(table.delete('/user/alice/'), true);
    assert.equal(table.delete('/user/alice'), false);
    assert.equal(table.match('/user/alice/x')!.target.hostname, 'hub');
    assert.deepEqual([...table.values()].map((r) => r.prefix), ['/']);
  });

  test('refuses a missing or unusable target and a token that could split a header', () => {
    const table = new RouteTable();
    assert.throws(() => table.add('/x', {}), /Must specify 'target' as string/);
    assert.throws(() => table.add('/x', { target: 42 }), /Must specify 'target' as string/);
    assert.throws(() => table.add('/x', { target: 'nope' }), /absolute http/);
    assert.throws(() => table.add('/x', { target: 'http://a:1', upstream_token: 'a\r\nX-Evil: 1' }), /upstream_token/);
    assert.throws(() => table.add('/x', { target: 'http://a:1', upstream_token: 5 }), /upstream_token/);
    assert.equal(table.size, 0);
  });
});
