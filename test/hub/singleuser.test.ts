import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserLogin, http, type CookieJar } from '../helpers/http.js';
import type { LocalExecutor } from '../../src/executors/local/index.js';
import { execute, openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { Platform } from '../helpers/platform.js';
import { launchChromium, portalLogin } from '../helpers/chromium.js';

/**
 * Debian's real `jupyterhub-singleuser` (JupyterHub 3.0 over notebook 6), spawned by highrate as
 * the embedded default: it logs browsers in through the hub's OAuth provider, checks API tokens
 * with the hub itself, and reports activity. The proxy passes users' credentials through.
 */
describe('jupyterhub-singleuser behind highrate', () => {
  let p: Platform;
  let browser: Browser;
  let alice: string;
  let bob: string;
  let serverUrl: string;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice', password: 'alice-secret-pw' }, { name: 'bob', password: 'bob-secret-pw' }],
      // Activity every second instead of JupyterHub's five minutes, so the test sees it.
      config: { profiles: [{ name: 'default', default: true, env: { JUPYTERHUB_ACTIVITY_INTERVAL: '1' } }] },
    });
    alice = await p.token('alice');
    bob = await p.token('bob');
    const r = await p.api('POST', '/hub/api/users/alice/server', { token: alice }, {});
    assert.ok([201, 202].includes(r.status), r.text);
    const events = await readProgress(p.base, '/hub/api/users/alice/server/progress', { authorization: `token ${alice}` });
    assert.equal(events.at(-1).ready, true, JSON.stringify(events.at(-1)));
    const store = await p.openStore();
    try {
      serverUrl = (await store.getServer('alice', ''))!.url!;
    } finally {
      await store.close();
    }
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await p?.close();
  });

  test('the spawner environment is JupyterHub\'s, and the route carries no upstream token', async () => {
    const store = await p.openStore();
    try {
      const row = (await store.getServer('alice', ''))!;
      assert.equal(row.spawnState.auth, 'jupyterhub');
      assert.equal(row.secret, null);
      const pod = row.spawnState.pod as { spec: { containers: Array<{ command: string[]; env: Array<{ name: string; value: string }> }> } };
      const c = pod.spec.containers[0]!;
      assert.equal(c.command[0], 'jupyterhub-singleuser');
      const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
      assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice');
      assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/oauth_callback');
      assert.deepEqual(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES!), ['access:servers!server=alice/', 'access:servers!user=alice']);
      assert.equal(env.JUPYTERHUB_OAUTH_SCOPES, env.JUPYTERHUB_OAUTH_ACCESS_SCOPES);
      assert.equal(env.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, '[]');
      assert.equal(env.JUPYTERHUB_ACTIVITY_URL, `${p.base}/hub/api/users/alice/activity`);
      assert.equal(env.JUPYTERHUB_BASE_URL, '/');
      assert.equal(env.JUPYTERHUB_HOST, '');
      assert.equal(env.JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED, '0');
      assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
      assert.equal(env.JUPYTERHUB_API_TOKEN, undefined, 'the token is in the Secret, not the spec');
      assert.equal(env.JUPYTER_TOKEN_FILE, undefined);
    } finally {
      await store.close();
    }
    const routes = (await http('GET', `http://127.0.0.1:${p.port + 1}/api/routes`, { headers: { authorization: `token ${readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim()}` } })).json();
    assert.deepEqual(Object.keys(routes['/user/alice']).sort(), ['last_activity', 'server_name', 'target', 'user']);
  });

  test('API tokens through the proxy: the owner\'s → 200, another user\'s → 403, one without access:servers → 403', async () => {
    const status = async (token: string) => (await http('GET', `${p.base}/user/alice/api/status`, { headers: { authorization: `token ${token}` } })).status;
    assert.equal(await status(alice), 200);
    assert.equal(await status(bob), 403);
    assert.equal(await status(await p.token('alice', ['read:users:name!user'])), 403);
  });

  test('the server itself refuses: no token → 403, another user\'s token → 403 on its own port; the owner\'s kernel runs code', async () => {
    assert.equal((await http('GET', `${serverUrl}/user/alice/api/status`)).status, 403);
    assert.equal((await http('GET', `${serverUrl}/user/alice/api/status`, { headers: { authorization: `token ${bob}` } })).status, 403);
    assert.equal((await http('GET', `${serverUrl}/user/alice/api/status`, { headers: { authorization: `token ${alice}` } })).status, 200);
    const kernel = await startKernel(p.base, '/user/alice/', { authorization: `token ${alice}` });
    const ws = await openChannels(p.base, '/user/alice/', kernel, { authorization: `token ${alice}` });
    try {
      assert.equal(await execute(ws, 'print(6 * 7)'), '42\n');
    } finally {
      ws.close();
    }
  });

  test('activity reaches the hub with the server\'s own token', async () => {
    const read = async () => (await p.api('GET', '/hub/api/users/alice', { token: alice })).json().servers[''].last_activity as string;
    const before = await read();
    // A request Jupyter counts as activity (its /api/status is not one).
    await http('GET', `${p.base}/user/alice/api/contents`, { headers: { authorization: `token ${alice}` } });
    const deadline = Date.now() + 20_000;
    let now = before;
    while (now === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      now = await read();
    }
    assert.ok(now > before, `last_activity moved: ${before} → ${now}`);
  });

  describe('in Chromium', () => {
    let ctx: BrowserContext;
    let page: Page;
    before(async () => {
      ctx = await browser.newContext();
      page = await ctx.newPage();
      page.setDefaultTimeout(60_000);
    });
    after(async () => ctx?.close());

    test('alice logs in to highrate and lands in her server through the OAuth flow, with the control panel link', async () => {
      await portalLogin(page, p.base, 'alice', 'alice-secret-pw');
      const hops: string[] = [];
      page.on('request', (r) => { if (r.isNavigationRequest()) hops.push(new URL(r.url()).pathname); });
      await page.goto(`${p.base}/user/alice/tree`);
      await page.waitForURL(`${p.base}/user/alice/tree`);
      assert.ok(hops.includes('/hub/api/oauth2/authorize') && hops.includes('/user/alice/oauth_callback'), hops.join(' → '));
      await page.waitForSelector('#notebook_list');
      const panel = await page.getAttribute('a:has-text("Control Panel")', 'href');
      assert.equal(panel, '/hub/home');
      const cookies = (await ctx.cookies()).map((c) => c.name);
      assert.ok(cookies.includes('jupyterhub-user-alice'), cookies.join(','));
    });

    test('the OAuth token the server got is alice\'s, scoped to her server and identity', async () => {
      const store = await p.openStore();
      try {
        const tokens = (await store.listTokens('alice')).filter((t) => t.oauthClient === 'jupyterhub-user-alice');
        assert.equal(tokens.length, 1);
        assert.deepEqual(tokens[0]!.scopes.sort(), ['access:servers!server=alice/', 'access:servers!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
        assert.ok(tokens[0]!.sessionId);
        const listed = (await p.api('GET', '/hub/api/users/alice/tokens', { token: alice })).json().api_tokens;
        const model = listed.find((t: any) => t.oauth_client === 'jupyterhub-user-alice');
        assert.equal(model.session_id, tokens[0]!.sessionId);
        assert.equal(model.note, 'OAuth: Server at /user/alice/');
      } finally {
        await store.close();
      }
    });

    test('logout through the hub ends the server\'s login too', async () => {
      await Promise.all([page.waitForURL(/\/hub\//), page.click('#logout')]);
      await page.goto(`${p.base}/user/alice/tree`);
      await page.waitForURL(/\/oidc\/|\/hub\/login|\/hub\/home/);
      assert.ok(!page.url().includes('/user/alice/tree'), page.url());
      const store = await p.openStore();
      try {
        assert.equal((await store.listTokens('alice')).filter((t) => t.oauthClient).length, 0, 'the session\'s OAuth tokens are revoked');
      } finally {
        await store.close();
      }
    });

    test('bob\'s browser is refused: by the proxy in front of alice\'s server, and by the hub\'s authorize page', async () => {
      const bobCtx = await browser.newContext();
      try {
        const bobPage = await bobCtx.newPage();
        bobPage.setDefaultTimeout(60_000);
        await portalLogin(bobPage, p.base, 'bob', 'bob-secret-pw');
        const viaProxy = await bobPage.goto(`${p.base}/user/alice/tree`);
        assert.equal(viaProxy!.status(), 403);
        const authorize = await bobPage.goto(`${p.base}/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&redirect_uri=${encodeURIComponent('/user/alice/oauth_callback')}&response_type=code&state=s`);
        assert.equal(authorize!.status(), 403);
        assert.match(await bobPage.textContent('body') ?? '', /You do not have permission to access Server at \/user\/alice\//);
      } finally {
        await bobCtx.close();
      }
    });
  });

  test('the OAuth endpoints answer as OAuth 2: login first, errors on the page for bad clients, codes once, client secrets checked', async () => {
    const row = (await p.hub!.hub.store.getServer('alice', ''))!;
    const pid = (p.hub!.hub.executors.get('local') as LocalExecutor).inspect(row.podUid!)!.processes.at(-1)!;
    const secret = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('JUPYTERHUB_API_TOKEN='))!.split('=')[1]!;
    const cb = '/user/alice/oauth_callback';
    const authorize = (q: Record<string, string>, jar?: CookieJar) => http('GET', `${p.base}/hub/api/oauth2/authorize?${new URLSearchParams(q)}`, { headers: { accept: 'text/html', ...(jar ? { cookie: jar.header() } : {}) } });
    const good = { client_id: 'jupyterhub-user-alice', redirect_uri: cb, response_type: 'code', state: 's1' };

    const anonymous = await authorize(good);
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.location, `/hub/login?next=${encodeURIComponent(`/hub/api/oauth2/authorize?${new URLSearchParams(good)}`)}`);
    const jar = await browserLogin(p.base, 'alice', 'alice-secret-pw');
    const unknown = await authorize({ ...good, client_id: 'jupyterhub-user-nobody' }, jar);
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /No OAuth client named &quot;jupyterhub-user-nobody&quot;/);
    const elsewhere = await authorize({ ...good, redirect_uri: 'https://evil.example/cb' }, jar);
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.headers.location, undefined, 'never redirected to an unregistered URI');
    const implicit = await authorize({ ...good, response_type: 'token' }, jar);
    assert.equal(implicit.status, 302);
    assert.equal(implicit.headers.location, `${cb}?error=unsupported_response_type&error_description=Only+response_type%3Dcode+is+supported.&state=s1`);

    const granted = await authorize(good, jar);
    assert.equal(granted.status, 302);
    const back = new URL(String(granted.headers.location), p.base);
    assert.equal(back.pathname, cb);
    assert.equal(back.searchParams.get('state'), 's1');
    const code = back.searchParams.get('code')!;
    const exchange = (form: Record<string, string>, headers: Record<string, string> = {}) => http('POST', `${p.base}/hub/api/oauth2/token`, { raw: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    const form = { grant_type: 'authorization_code', code, client_id: 'jupyterhub-user-alice', client_secret: secret, redirect_uri: cb };

    const wrongSecret = await exchange({ ...form, client_secret: 'guess' });
    assert.equal(wrongSecret.status, 401);
    assert.deepEqual(wrongSecret.json(), { error: 'invalid_client', error_description: 'Unknown client or wrong client secret.', status: 401, message: 'Unknown client or wrong client secret.', code: 'OAUTH_INVALID_CLIENT' });
    assert.equal((await exchange({ ...form, grant_type: 'password' })).json().error, 'unsupported_grant_type');
    assert.equal((await exchange({ ...form, code: 'made-up' })).json().error, 'invalid_grant');
    // HTTP Basic client authentication, as RFC 6749 prefers.
    const basic = Buffer.from(`jupyterhub-user-alice:${secret}`).toString('base64');
    const ok = await exchange({ grant_type: 'authorization_code', code, redirect_uri: cb }, { authorization: `Basic ${basic}` });
    assert.equal(ok.status, 200, ok.text);
    const body = ok.json();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(body.token_type, 'Bearer');
    assert.ok(body.expires_in > 0 && body.expires_in <= 86_400, String(body.expires_in));
    assert.deepEqual(body.scope.split(' ').sort(), ['access:servers!server=alice/', 'access:servers!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    const reused = await exchange(form);
    assert.equal(reused.status, 400);
    assert.equal(reused.json().error, 'invalid_grant');

    const me = (await http('GET', `${p.base}/hub/api/user`, { headers: { authorization: `token ${body.access_token}` } })).json();
    assert.equal(me.name, 'alice');
    assert.ok(me.scopes.includes('access:servers!server=alice/'), JSON.stringify(me.scopes));
    assert.equal((await http('GET', `${p.base}/hub/api/users/alice/tokens`, { headers: { authorization: `token ${body.access_token}` } })).status, 403, 'an OAuth token is no API token of its owner');
  });

  test('stopping the server revokes its API token, its OAuth client and the tokens issued through it', async () => {
    const r = await p.api('DELETE', '/hub/api/users/alice/server', { token: alice });
    assert.ok([202, 204].includes(r.status), r.text);
    const store = await p.openStore();
    try {
      const deadline = Date.now() + 30_000;
      while ((await store.getServer('alice', ''))?.state !== 'stopped' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
      assert.equal(await store.getOAuthClient('jupyterhub-user-alice'), null);
      const left = (await store.listTokens('alice')).map((t) => t.note);
      assert.ok(!left.some((n) => n.startsWith('Server at') || n.startsWith('OAuth')), left.join(' | '));
    } finally {
      await store.close();
    }
  });
});
