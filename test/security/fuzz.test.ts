/**
 * Hostile input to every API endpoint (the route list is the hub's own, so endpoints added later
 * are fuzzed too): names with path traversal, look-alike letters, NUL bytes, markup and huge
 * lengths; bodies that are not JSON, not objects, too big, too deep, or objects whose every
 * known field has the wrong type; junk query parameters and credentials. Every answer must be a
 * 4xx with a catalogue code (never a 500), and the hub and proxy must be alive afterwards.
 * Bounded: about two thousand requests.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createApiRouter } from '../../src/hub/http-app.js';
import { hubParts } from '../../src/platform/start.js';
import { isValidGroupName } from '../../src/auth/index.js';
import { ERRORS } from '../../src/errors/catalogue.js';
import { http, type Reply } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

const HOSTILE_NAMES = [
  '..', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '....//....//etc', '%252e%252e%252f', // traversal, raw and encoded
  'аdmin', 'ａｄｍｉｎ', 'admin\u200b', 'admın', 'ad\u0301min', // Cyrillic а, fullwidth, zero-width space, dotless ı, combining accent
  'al%00ice', 'alice%00', '%00', // NUL bytes
  '<script>alert(1)</script>', "x' OR '1'='1", 'x'.repeat(300), '%ff%fe', ' ', 'UPPER', '-dash', 'a%2Fb',
];

/** Every field name any endpoint reads, each with a value of the wrong type. */
const WRONG_TYPES: Record<string, unknown> = {
  usernames: 5, users: 'alice', scopes: 'servers', roles: 'admin', note: { x: 1 }, expires_in: '3600', admin: 'yes', blocked: 1,
  properties: [1], user_options: [], remove: 'true', groups: 7, description: 42, services: {}, name: ['x'], last_activity: 12,
  servers: 'all', profile: 5, cores: '9999999', memory: 1, image: {}, credential: 'x', user: 1, server: 2,
};

/**
 * One request with the path sent exactly as given: node's URL parsing would resolve "..", which
 * is what a hostile client does not do.
 */
function raw(method: string, base: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const { hostname, port } = new URL(base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function deep(n: number): string {
  return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
}

const HOSTILE_BODIES: Array<[string, string | Buffer]> = [
  ['not JSON', '{"usernames": [alice'],
  ['a JSON array', '["alice"]'],
  ['a JSON string', '"alice"'],
  ['a JSON number', '1e999'],
  ['a JSON boolean', 'true'],
  ['wrong types in every field', JSON.stringify(WRONG_TYPES)],
  ['NUL in strings', JSON.stringify({ usernames: ['al\u0000ice'], users: ['\u0000'], note: 'a\u0000b', scopes: ['servers\u0000'], description: '\u0000', properties: { 'k\u0000': 1 } })],
  ['nested 100 000 deep', deep(100_000)],
  ['2 MiB of JSON', JSON.stringify({ note: 'x'.repeat(2 * 1024 * 1024) })],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
];

describe('fuzz: hostile input to every API endpoint', () => {
  let p: Platform;
  let admin: string;
  let alice: string;
  const routes = createApiRouter(hubParts(null)).list();
  const failures: string[] = [];
  let requests = 0;

  before(async () => {
    p = await Platform.start({ config: { services: [{ name: 'culler', roles: ['idle-culler'] }] } });
    admin = await p.token('admin');
    alice = await p.token('alice');
    assert.equal((await p.api('POST', '/hub/api/users/victim', { token: admin })).status, 201);
    assert.equal((await p.api('POST', '/hub/api/groups/victims', { token: admin }, { users: ['victim'] })).status, 201);
  });
  after(async () => { await p?.close(); });

  /** Records a failure unless the answer is a 4xx whose JSON body carries a catalogue code. */
  function expect4xx(what: string, r: Reply): void {
    requests++;
    let code: unknown;
    try {
      code = JSON.parse(r.text).code;
    } catch {
      code = undefined;
    }
    if (r.status < 400 || r.status >= 500 || typeof code !== 'string' || !(code in ERRORS)) {
      failures.push(`${what} → ${r.status} ${r.text.slice(0, 160)}`);
    }
  }

  /** Values that exist (a user, a group), so hostile bodies reach the handlers' own checks. */
  function fill(path: string, target: 'existing' | 'missing'): string {
    const user = target === 'existing' ? 'victim' : 'nobody-here';
    const group = target === 'existing' ? 'victims' : 'no-such-group';
    return path
      .replace(/\/groups\/:name/, `/groups/${group}`)
      .replace(/\/roles\/:name/, target === 'existing' ? '/roles/user' : '/roles/no-such-role')
      .replace(/\/services\/:name/, target === 'existing' ? '/services/culler' : '/services/no-such-service')
      .replace(/:name/, user)
      .replace(/:server/, 'fuzz')
      .replace(/:[a-z]+/g, 'a0');
  }

  test('the route list covers the API', () => {
    assert.ok(routes.length >= 35, `${routes.length} routes`);
  });

  test('hostile names in every path parameter: 4xx with a code', async () => {
    for (const route of routes) {
      const params = route.path.split('/').filter((s) => s.startsWith(':'));
      for (const param of params) {
        for (const hostile of HOSTILE_NAMES) {
          // Identity providers' group names legitimately hold capitals, "/" and a leading "-".
          if (route.path.startsWith('/hub/api/groups/') && param === ':name' && isValidGroupName(safeDecode(hostile))) continue;
          const encoded = /%[0-9a-fA-F]{2}/.test(hostile) ? hostile : encodeURIComponent(hostile);
          const path = fill(route.path.replace(param, encoded), 'missing');
          for (const token of [admin, null]) {
            const headers: Record<string, string> = token ? { authorization: `token ${token}` } : {};
            const r = await raw(route.method, p.base, path, headers, route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
            expect4xx(`${route.method} ${path} (${token ? 'admin' : 'anonymous'})`, r);
          }
        }
      }
    }
    assert.deepEqual(failures.splice(0), []);
  });

  test('hostile bodies to every endpoint that can take one: 4xx with a code', async () => {
    for (const route of routes) {
      if (route.method === 'GET') continue;
      // DELETEs that ignore bodies would act on an existing target, so those get missing ones.
      const targets: Array<'existing' | 'missing'> = route.method === 'DELETE' ? ['missing'] : ['existing', 'missing'];
      for (const target of targets) {
        const path = fill(route.path, target);
        for (const [what, raw] of HOSTILE_BODIES) {
          // A group's properties are free-form JSON: any object is a valid value.
          if (route.path.endsWith('/properties') && what === 'wrong types in every field') continue;
          const r = await http(route.method, `${p.base}${path}`, { headers: { authorization: `token ${admin}`, 'content-type': 'application/json' }, raw });
          expect4xx(`${route.method} ${path} with ${what}`, r);
        }
      }
    }
    assert.deepEqual(failures.splice(0), []);
    assert.equal((await p.api('GET', '/hub/api/users/victim', { token: admin })).json().blocked, false, 'the existing user was never changed');
  });

  test('junk query parameters on listings: 4xx with a code', async () => {
    const junk = ['limit=-1', 'limit=abc', 'limit=1e400', 'offset=-5', 'offset=1.5', 'offset=%00', 'state=%3Cscript%3E', 'name_filter=' + 'x'.repeat(300),
      'before=-1', 'before=abc', 'since=yesterday', 'until=%00', 'outcome=maybe', 'action=DROP%20TABLE', 'user=%D0%B0dmin', 'actor=' + '%01'.repeat(5)];
    const targets: Record<string, string[]> = {
      '/hub/api/users': ['limit=-1', 'limit=abc', 'offset=-5', 'offset=1.5', 'offset=%00', 'state=%3Cscript%3E'],
      '/hub/api/groups': ['limit=-1', 'limit=abc', 'offset=-5', 'name_filter=' + 'x'.repeat(300)],
      '/hub/api/audit': ['limit=-1', 'limit=abc', 'before=-1', 'before=abc', 'since=yesterday', 'until=%00', 'outcome=maybe', 'action=DROP%20TABLE', 'user=%D0%B0dmin', 'actor=' + '%01'.repeat(5)],
    };
    for (const [path, queries] of Object.entries(targets)) {
      for (const q of queries) expect4xx(`GET ${path}?${q}`, await http('GET', `${p.base}${path}?${q}`, { headers: { authorization: `token ${admin}` } }));
    }
    // Everywhere else junk must at least never be a server error.
    for (const route of routes.filter((r) => r.method === 'GET')) {
      const path = fill(route.path, 'existing');
      const r = await http('GET', `${p.base}${path}?${junk.join('&')}`, { headers: { authorization: `token ${alice}` } });
      requests++;
      if (r.status >= 500) failures.push(`GET ${path} with junk query → ${r.status} ${r.text.slice(0, 160)}`);
    }
    assert.deepEqual(failures.splice(0), []);
  });

  test('hostile credentials: 4xx with a code', async () => {
    const creds: Array<Record<string, string>> = [
      { authorization: `token ${'x'.repeat(8000)}` },
      { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.' },
      { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl' },
      { authorization: `token ${admin}\u0000` .replace('\u0000', '') + 'x' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { cookie: `highrate-session=${'%'.repeat(50)}` },
      { cookie: 'highrate-session=; highrate-session=../../x' },
      { authorization: 'token', cookie: '_xsrf=x' },
    ];
    for (const headers of creds) {
      for (const [method, path] of [['GET', '/hub/api/user'], ['GET', '/hub/api/users'], ['POST', '/hub/api/users/victim/tokens'], ['DELETE', '/hub/api/users/victim']] as const) {
        expect4xx(`${method} ${path} with ${JSON.stringify(headers).slice(0, 80)}`, await http(method, `${p.base}${path}`, { headers, body: method === 'POST' ? {} : undefined }));
      }
    }
    assert.deepEqual(failures.splice(0), []);
  });

  test('afterwards the hub and the proxy are alive and correct', async () => {
    assert.ok(requests > 1000 && requests < 5000, `${requests} requests`);
    assert.equal((await http('GET', `${p.base}/_chp_healthz`)).status, 200);
    const root = await http('GET', `${p.base}/hub/api/`);
    assert.equal(root.status, 200);
    const me = await p.api('GET', '/hub/api/user', { token: alice });
    assert.equal(me.status, 200);
    assert.equal(me.json().name, 'alice');
    assert.deepEqual((await p.api('GET', '/hub/api/groups/victims', { token: admin })).json().users, ['victim']);
    const denied = (await p.api('GET', '/hub/api/audit?action=request.denied&limit=5', { token: admin })).json();
    assert.ok(denied.items.length > 0, 'refusals were audited (within the per-actor budget)');
  });
});
