/**
 * Web security of the hub and portal, against a platform logging in through an INDIGO-IAM-like
 * provider (so the test controls every claim, markup included):
 * - CSRF: every cookie-authenticated state change of the API needs the session's XSRF token;
 * - headers: a CSP without inline scripts, frame-ancestors 'none', nosniff, and HSTS under TLS;
 * - escaping: names and groups an identity provider sends never reach a page as markup
 *   (server-rendered pages, and the admin portal in real Chromium);
 * - open redirects: `next=` can only lead to a path on this platform.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { createApiRouter } from '../../src/hub/http-app.js';
import { hubParts } from '../../src/platform/start.js';
import { http, type CookieJar } from '../helpers/http.js';
import { freePortPair, Platform, ROOT } from '../helpers/platform.js';
import { CLIENT_SECRET, HUB_CLIENT, IamLike, iamLogin } from './iam.js';

const MARKUP_GROUP = '<img src=x onerror="window.__xss=1">';
const SCRIPT_GROUP = '<script>window.__xss=2</script>';

/** A value for each path parameter, so every route reaches its handler. */
function fill(path: string): string {
  return path
    .replace('/users/:name', '/users/alice')
    .replace('/groups/:name', '/groups/physics')
    .replace('/roles/:name', '/roles/some-role')
    .replace('/services/:name', '/services/culler')
    .replace(':server', 'x')
    .replace(':id', 'a1');
}

describe('web security', () => {
  let iam: IamLike;
  let p: Platform;
  let admin: CookieJar;

  before(async () => {
    const port = await freePortPair();
    iam = await IamLike.start(`http://127.0.0.1:${port}/hub/oauth_callback`);
    iam.add('boss', ['/cms', '/cms/admins']);
    iam.add('alice', ['/cms']);
    iam.add('eve', ['/cms', MARKUP_GROUP, SCRIPT_GROUP]);
    p = await Platform.start({
      config: {
        hub: { port },
        auth: {
          kind: 'oidc',
          oidc: { issuer: iam.issuer, clientId: HUB_CLIENT, clientSecret: CLIENT_SECRET, scopes: ['openid', 'profile', 'wlcg.groups'], groupsClaim: 'wlcg.groups' },
          allowedGroups: ['/cms'],
          adminGroups: ['/cms/admins'],
          adminUsers: [],
        },
        services: [{ name: 'culler', roles: ['idle-culler'] }],
      },
    });
    admin = (await iamLogin(p.base, iam, 'boss')).jar;
    assert.ok(admin.get('highrate-session'));
    assert.ok((await iamLogin(p.base, iam, 'alice')).jar.get('highrate-session'));
    assert.ok((await iamLogin(p.base, iam, 'eve')).jar.get('highrate-session'));
  });
  after(async () => {
    await p?.close();
    await iam?.close();
  });

  describe('CSRF', () => {
    const changing = createApiRouter(hubParts(null)).list().filter((r) => !['GET', 'HEAD'].includes(r.method));

    test('the route list is the real one (state-changing routes of users, servers, tokens, groups, roles, services)', () => {
      const paths = changing.map((r) => `${r.method} ${r.path}`);
      for (const expected of ['POST /hub/api/users/:name/server', 'DELETE /hub/api/users/:name', 'POST /hub/api/users/:name/tokens', 'PATCH /hub/api/users/:name', 'POST /hub/api/groups/:name', 'PATCH /hub/api/roles/:name', 'POST /hub/api/services/:name/tokens']) {
        assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
      }
    });

    test("every cookie-authenticated state change without the session's XSRF token is refused (admin session)", async () => {
      const failures: string[] = [];
      for (const route of changing) {
        // The proxy's edge check takes only the proxy's own token; a cookie is not its credential.
        if (route.path === '/hub/api/proxy/authorize') continue;
        // OAuth's token endpoint authenticates the client by its secret (RFC 6749), never a cookie.
        if (route.path === '/hub/api/oauth2/token') continue;
        const url = `${p.base}${fill(route.path)}`;
        for (const [what, extra] of [['no token', {}], ['wrong token', { 'x-xsrftoken': 'not-the-token' }], ['token of another session', { 'x-xsrftoken': 'x'.repeat(32) }]] as const) {
          const r = await http(route.method, url, { headers: { cookie: admin.header(), ...extra }, body: {} });
          const code = r.text ? JSON.parse(r.text).code : undefined;
          if (r.status === 403 && code === 'CSRF_FAILED') continue;
          // An endpoint that takes no session at all (a workload's callback token) refuses the
          // cookie itself; prove it by sending the right XSRF token too: still refused.
          const withXsrf = await http(route.method, url, { headers: { cookie: admin.header(), 'x-xsrftoken': admin.get('_xsrf')! }, body: {} });
          if (r.status === 401 && code === 'UNAUTHENTICATED' && withXsrf.status === 401) continue;
          failures.push(`${route.method} ${route.path} (${what}): ${r.status} ${code}`);
        }
      }
      assert.deepEqual(failures, []);
      assert.equal((await p.api('GET', '/hub/api/users/alice', { jar: admin })).json().blocked, false, 'nothing changed');
    });

    test('with the XSRF token the same session works (header or _xsrf parameter), and bearer tokens need none', async () => {
      const withHeader = await p.api('POST', '/hub/api/users/boss/tokens', { jar: admin }, { note: 'csrf control' });
      assert.equal(withHeader.status, 201);
      const viaQuery = await http('POST', `${p.base}/hub/api/users/boss/tokens?_xsrf=${admin.get('_xsrf')}`, { headers: { cookie: admin.header() }, body: {} });
      assert.equal(viaQuery.status, 201);
      const token = withHeader.json().token;
      assert.equal((await http('POST', `${p.base}/hub/api/users/boss/tokens`, { headers: { authorization: `token ${token}` }, body: {} })).status, 201);
    });

    test('a logout link on another site does not log people out; the portal\'s own link does', async () => {
      const jar = (await iamLogin(p.base, iam, 'alice')).jar;
      const cross = await http('GET', `${p.base}/hub/logout`, { headers: { cookie: jar.header(), 'sec-fetch-site': 'cross-site', accept: 'text/html' } });
      assert.equal(cross.status, 403);
      assert.equal((await p.api('GET', '/hub/api/user', { jar })).status, 200, 'still logged in');
      const own = await http('GET', `${p.base}/hub/logout`, { headers: { cookie: jar.header(), 'sec-fetch-site': 'same-origin', accept: 'text/html' } });
      assert.equal(own.status, 302);
      assert.equal((await p.api('GET', '/hub/api/user', { jar })).status, 403, 'logged out');
    });
  });

  describe('security headers', () => {
    function checkCsp(headers: Record<string, string | string[] | undefined>, where: string) {
      const csp = String(headers['content-security-policy'] ?? '');
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${where}: ${csp}`);
      assert.match(csp, /(^|; )style-src 'self'(;|$)/, where);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, where);
      assert.match(csp, /(^|; )default-src 'self'(;|$)/, where);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, where);
      assert.equal(headers['x-frame-options'], 'DENY', where);
      assert.equal(headers['x-content-type-options'], 'nosniff', where);
      assert.equal(headers['strict-transport-security'], undefined, `${where}: no HSTS over plain http`);
    }

    test('portal, API, static files and server-rendered pages carry the strict CSP', async () => {
      const portal = await http('GET', `${p.base}/hub/home`, { headers: { accept: 'text/html' } });
      assert.equal(portal.status, 200);
      checkCsp(portal.headers, '/hub/home');
      const script = /<script[^>]*src="([^"]+)"/.exec(portal.text)?.[1];
      assert.ok(script, 'the portal loads its script from a file');
      checkCsp((await http('GET', `${p.base}${script}`)).headers, script!);
      checkCsp((await http('GET', `${p.base}/hub/api/`)).headers, '/hub/api/');
      checkCsp((await http('GET', `${p.base}/hub/api/user`)).headers, '/hub/api/user (403)');
      iam.add('outsider', ['/atlas']);
      const refused = await iamLogin(p.base, iam, 'outsider');
      assert.equal(refused.last.status, 403);
      checkCsp(refused.last.headers, 'login refusal page');
    });

    test('the built portal page has no inline script, inline style or style attribute', () => {
      const html = readFileSync(join(ROOT, 'dist', 'ui', 'index.html'), 'utf8');
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="/, tag);
      assert.doesNotMatch(html, /<script\b[^>]*>[^<]+<\/script>/);
      assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
    });

  });

  describe('escaping', () => {
    test('a username with markup from the identity provider is shown as text on the refusal page', async () => {
      iam.add('x<script>alert(1)</script>', ['/cms']);
      const r = await iamLogin(p.base, iam, 'x<script>alert(1)</script>');
      assert.equal(r.last.status, 403);
      assert.match(r.last.text, /Your username &quot;x&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot; cannot be used here/);
      assert.doesNotMatch(r.last.text, /<script>alert/);
    });

    test('a path with markup is never reflected unescaped', async () => {
      const r = await http('GET', `${p.base}/user/%3Cscript%3Ealert(1)%3C%2Fscript%3E/tree`, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 302);
      assert.doesNotMatch(String(r.headers.location), /[<>"]/);
      const api = await http('GET', `${p.base}/hub/api/%3Cscript%3E`);
      assert.equal(api.status, 404);
      assert.equal(api.headers['content-type'], 'application/json; charset=utf-8');
    });

    test('groups with markup are stored as sent and shown as text in the admin portal (real Chromium)', async () => {
      const eve = (await p.api('GET', '/hub/api/users/eve', { jar: admin })).json();
      assert.deepEqual(eve.groups, ['/cms', SCRIPT_GROUP, MARKUP_GROUP].sort());
      const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(30_000);
        const console: string[] = [];
        page.on('console', (m) => console.push(m.text()));
        iam.loginAs = 'boss';
        await page.goto(`${p.base}/hub/login?next=${encodeURIComponent('/hub/admin')}`);
        await page.waitForURL(`${p.base}/hub/admin`);
        const row = page.locator('[data-testid="admin-user-eve"]');
        await row.waitFor();
        const text = await row.textContent();
        assert.ok(text?.includes(MARKUP_GROUP), text ?? '');
        assert.ok(text?.includes(SCRIPT_GROUP), text ?? '');
        assert.equal(await row.locator('img').count(), 0, 'no element was made from the group name');
        await page.click('[data-testid="admin-tab-groups"]');
        await page.locator('[data-testid="admin-group-row"]').first().waitFor();
        const groups = await page.locator('[data-testid="admin-groups"]').textContent();
        assert.ok(groups?.includes(MARKUP_GROUP));
        await page.click('[data-testid="admin-tab-audit"]');
        await page.locator('[data-testid="audit-row"]').first().waitFor();
        assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
        assert.deepEqual(console.filter((m) => /Content Security Policy|Refused to/i.test(m)), []);
      } finally {
        await browser.close();
      }
    });
  });

  describe('open redirects', () => {
    const HOSTILE = ['//evil.example/', 'https://evil.example/', '/\\evil.example', '\\\\evil.example', '/%5Cevil.example', 'javascript:alert(1)',
      '/\t/evil.example', ' //evil.example', '%2F%2Fevil.example', 'http:evil.example', '//evil.example@127.0.0.1/', '/\u3002/evil.example', 'data:text/html,<script>alert(1)</script>'];

    test('a logged-in visit to /hub/login?next= goes only to local paths', async () => {
      for (const next of HOSTILE) {
        const r = await http('GET', `${p.base}/hub/login?next=${encodeURIComponent(next)}`, { headers: { cookie: admin.header(), accept: 'text/html' } });
        assert.equal(r.status, 302, next);
        const location = String(r.headers.location);
        assert.ok(location === '/hub/home' || (location.startsWith('/') && !location.startsWith('//') && !location.includes('\\') && new URL(location, p.base).origin === p.base), `${JSON.stringify(next)} → ${location}`);
      }
      const local = await http('GET', `${p.base}/hub/login?next=${encodeURIComponent('/user/boss/tree?x=1')}`, { headers: { cookie: admin.header() } });
      assert.equal(local.headers.location, '/user/boss/tree?x=1');
    });

    test('after a full login through IAM, a hostile next= still lands on /hub/home', async () => {
      for (const next of ['//evil.example/', 'https://evil.example/x', '/\\evil.example']) {
        const r = await iamLogin(p.base, iam, 'alice', next);
        assert.equal(r.location, '/hub/home', `${next} → ${r.location}`);
      }
    });

    test("the proxy's login redirect keeps the path local", async () => {
      const r = await http('GET', `${p.base}/user/alice//evil.example/`, { headers: { accept: 'text/html' } });
      assert.ok(r.status === 302, String(r.status));
      const location = String(r.headers.location);
      assert.ok(location.startsWith('/hub/'), location);
    });
  });
});

// Its own suite, after the one above has stopped its platform: two hubs in one process would
// contend for the fixed ports some parts default to.
describe('web security under TLS', () => {
  test('under TLS (an https public URL) every answer carries HSTS and cookies are Secure', async () => {
    const port = await freePortPair();
    const tls = await Platform.start({ config: { hub: { port, publicUrl: `https://127.0.0.1:${port}` } } });
    try {
      for (const path of ['/hub/home', '/hub/api/', '/hub/api/user']) {
        const r = await http('GET', `${tls.base}${path}`, { headers: { accept: path === '/hub/home' ? 'text/html' : 'application/json' } });
        assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', path);
      }
      const logout = await http('GET', `${tls.base}/hub/logout`, { headers: { accept: 'text/html' } });
      const cookies = ([] as string[]).concat(logout.headers['set-cookie'] ?? []);
      assert.equal(cookies.length, 2);
      for (const c of cookies) assert.match(c, /; Secure$/, c);
    } finally {
      await tls.close();
    }
  });
});
