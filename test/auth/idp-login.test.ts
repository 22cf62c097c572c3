/**
 * The whole login, for real: the embedded IdP (oidc-provider) mounted under /oidc on a node:http
 * server, the hub's OIDC client (openid-client) and a cookie-keeping HTTP "browser" that fills in
 * the login form. Plus a second, IAM-like oidc-provider (root issuer, groups only in userinfo under
 * `wlcg.groups`) to prove the same client code serves external issuers.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { Provider } from 'oidc-provider';
import { createEmbeddedIdp, type EmbeddedIdp, type EmbeddedIdpOptions } from '../../src/idp/index.js';
import { hashPassword } from '../../src/idp/passwords.js';
import { createOidcLogin, type OidcLogin, type OidcLoginConfig } from '../../src/auth/oidc-login.js';
import { HighrateError } from '../../src/errors/catalogue.js';
import { Browser, formAction, hiddenInput, type Page } from './browser.js';

const CLIENT_ID = 'highrate-hub';
const CLIENT_SECRET = 'hub-secret-0123456789abcdef0123456789abcdef';

let server: http.Server;
let base: string;
let issuer: string;
let callback: string;
let loggedOut: string;
let dataDir: string;
let idp: EmbeddedIdp;
let idpOptions: EmbeddedIdpOptions;
let iamIdp: EmbeddedIdp;
/** While true, the discovery document answers 503 (to test that discovery is retried). */
let discoveryDown = false;

function listen(s: http.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

function closeServer(s: http.Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((resolve) => s.close(() => resolve()));
}

function hubLogin(overrides: Partial<OidcLoginConfig> = {}): OidcLogin {
  return createOidcLogin({
    issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: callback,
    scopes: ['openid', 'profile', 'groups'],
    usernameClaim: 'preferred_username',
    groupsClaim: 'groups',
    allowHttp: true,
    ...overrides,
  });
}

/** Starts a login and goes to the IdP until the first page that is not a redirect. */
async function openLoginPage(browser: Browser, login: OidcLogin) {
  const started = await login.start('/hub/home');
  const nav = await browser.navigate(started.url, callback);
  return { started, nav };
}

/** Fills in the login form; returns where the browser ended (a page, or the callback URL). */
function submitLogin(browser: Browser, page: Page, username: string, password: string) {
  return browser.navigate(formAction(page, 0), callback, { form: { username, password } });
}

/** The full browser part of a login: start, form, callback URL. */
async function loginInBrowser(browser: Browser, login: OidcLogin, username: string, password: string) {
  const { started, nav } = await openLoginPage(browser, login);
  assert.ok(nav.page, 'expected the login page');
  assert.equal(nav.page.status, 200);
  const done = await submitLogin(browser, nav.page, username, password);
  assert.ok(done.stoppedAt, `expected a redirect to the callback, got ${done.page?.status}: ${done.page?.body.slice(0, 300)}`);
  return { started, callbackUrl: done.stoppedAt };
}

async function refused(promise: Promise<unknown>, code: string, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof HighrateError, `not a HighrateError: ${String(err)}`);
    assert.equal(err.code, code, `${err.code}: ${err.message} (${err.detail})`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-idp-'));
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (discoveryDown && url.startsWith('/oidc/.well-known/')) {
      res.writeHead(503).end();
    } else if (url === '/oidc' || url.startsWith('/oidc/') || url.startsWith('/oidc?') || url.startsWith('/oidcx/')) {
      idp.handle(req, res);
    } else if (url.startsWith('/iam/')) {
      iamIdp.handle(req, res);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('hub');
    }
  });
  const port = await listen(server);
  base = `http://127.0.0.1:${port}`;
  issuer = `${base}/oidc`;
  callback = `${base}/hub/oauth_callback`;
  loggedOut = `${base}/hub/logged-out`;
  idpOptions = {
    issuer,
    dataDir: path.join(dataDir, 'idp'),
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [callback], post_logout_redirect_uris: [loggedOut], client_name: 'highrate' }],
  };
  idp = await createEmbeddedIdp(idpOptions);
  await idp.accounts.add('alice', 'correct horse battery', ['/cms/analysis', 'admins']);
});

after(async () => {
  await idp?.close();
  await iamIdp?.close();
  if (server) await closeServer(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded IdP + hub OIDC login', () => {
  let aliceIdToken: string;
  const browser = new Browser();

  test('discovery failure is not cached: the next login retries it', async () => {
    discoveryDown = true;
    const login = hubLogin();
    try {
      await refused(login.start('/hub/'), 'UPSTREAM_UNAVAILABLE', /identity provider/);
    } finally {
      discoveryDown = false;
    }
    const started = await login.start('/hub/');
    assert.equal(new URL(started.url).origin + new URL(started.url).pathname, `${issuer}/auth`);
  });

  test('mounted under /oidc behind the proxy: discovery uses X-Forwarded-Proto/Host', async () => {
    const direct = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    assert.equal(direct.issuer, issuer);
    assert.equal(direct.authorization_endpoint, `${issuer}/auth`);
    assert.equal(direct.token_endpoint, `${issuer}/token`);
    assert.equal(direct.end_session_endpoint, `${issuer}/session/end`);
    assert.deepEqual(direct.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(direct.response_types_supported, ['code']);
    assert.ok((direct.scopes_supported as string[]).includes('groups'));
    assert.ok((direct.claims_supported as string[]).includes('groups'));

    const proxied = await (await fetch(`${issuer}/.well-known/openid-configuration`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hub.example.org', 'x-forwarded-for': '192.0.2.7' },
    })).json() as Record<string, unknown>;
    assert.equal(proxied.issuer, issuer, 'the issuer is what was configured, whatever the request');
    assert.equal(proxied.authorization_endpoint, 'https://hub.example.org/oidc/auth');
    assert.equal(proxied.jwks_uri, 'https://hub.example.org/oidc/jwks');
  });

  test('bad authorization requests get our error page (no inline code), paths outside the issuer 404', async () => {
    const res = await new Browser().request(`${issuer}/auth?client_id=nobody&response_type=code&scope=openid`);
    assert.equal(res.status, 400);
    assert.match(res.body, /<h1>Sign-in error<\/h1>/);
    assert.match(res.body, /Error code: invalid_client/);
    assert.doesNotMatch(res.body, /<script|<style|\sstyle=/i);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    // A request outside the issuer path handed to the IdP anyway (the test server forwards /oidcx/).
    const outside = await fetch(`${base}/oidcx/auth`);
    assert.equal(outside.status, 404);
    const expired = await new Browser().request(`${issuer}/interaction/doesnotexist`);
    assert.equal(expired.status, 400);
    assert.match(expired.body, /This sign-in page has expired or was already used\./);
  });

  test('full code + PKCE flow gives the exact username and groups', async () => {
    const login = hubLogin();
    const { started, nav } = await openLoginPage(browser, login);
    const authUrl = new URL(started.url);
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authUrl.searchParams.get('response_type'), 'code');
    assert.equal(authUrl.searchParams.get('state'), started.state);
    assert.equal(authUrl.searchParams.get('nonce'), started.nonce);
    assert.equal(started.next, '/hub/home');

    // The login page: our form, under the issuer path, no inline script or style, strict CSP.
    const page = nav.page!;
    assert.equal(page.status, 200);
    assert.match(page.url.pathname, /^\/oidc\/interaction\/[\w-]+$/);
    assert.match(page.body, /<input id="username" name="username" type="text"/);
    assert.match(page.body, /<input id="password" name="password" type="password"/);
    assert.match(page.body, /to continue to highrate/);
    assert.equal(formAction(page).pathname, `${page.url.pathname}/login`);
    assert.doesNotMatch(page.body, /<script|<style|\sstyle=|\son\w+=/i);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const css = await fetch(new URL('/oidc/assets/idp.css', base));
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');

    const done = await submitLogin(browser, page, 'alice', 'correct horse battery');
    assert.ok(done.stoppedAt, 'redirected to the callback');
    assert.ok(done.stoppedAt.href.startsWith(`${callback}?`));
    assert.ok(done.stoppedAt.searchParams.get('code'));

    // A state from another login attempt is refused before the code is spent.
    await refused(login.finish(done.stoppedAt, { ...started, state: 'someone-elses-state' }), 'BAD_REQUEST',
      'This login response does not belong to the login started in this browser. Start the login again.');

    const result = await login.finish(done.stoppedAt, started);
    assert.equal(result.username, 'alice');
    assert.deepEqual(result.groups, ['/cms/analysis', 'admins']);
    assert.equal(result.claims.sub, 'alice');
    assert.equal(result.claims.iss, issuer);
    assert.ok(result.tokens.idToken);
    // The groups are in the (signed) ID token itself, not only in userinfo.
    const idClaims = decodeJwt(result.tokens.idToken!);
    assert.deepEqual(idClaims.groups, ['/cms/analysis', 'admins']);
    assert.equal(idClaims.preferred_username, 'alice');
    aliceIdToken = result.tokens.idToken!;

    // Replays: the same callback again (this hub remembers the state)...
    await refused(login.finish(done.stoppedAt, started), 'BAD_REQUEST', 'This login response was already used. Start the login again.');
    // ...and the same code through a fresh client (the IdP itself refuses a spent code).
    await refused(hubLogin().finish(done.stoppedAt, started), 'BAD_REQUEST', 'This login response was already used or has expired. Start the login again.');
  });

  test('a signed-in browser gets a code without the form again (IdP session)', async () => {
    const login = hubLogin();
    const started = await login.start('/hub/');
    const nav = await browser.navigate(started.url, callback);
    assert.ok(nav.stoppedAt, 'expected straight to the callback');
    const result = await login.finish(nav.stoppedAt, started);
    assert.equal(result.username, 'alice');
    // The IdP's session cookie is scoped to the issuer path, so user servers behind the proxy never get it.
    assert.deepEqual(browser.cookieNames(`${base}/user/alice/lab`), []);
    assert.ok(browser.cookieNames(`${issuer}/auth`).includes('highrate_idp_session'));
  });

  test('wrong password or unknown user: the form again, same message, no code', async () => {
    const login = hubLogin();
    for (const [username, password] of [['alice', 'not the password'], ['nobody', 'correct horse battery']]) {
      const other = new Browser();
      const { nav } = await openLoginPage(other, login);
      const done = await submitLogin(other, nav.page!, username, password);
      assert.equal(done.stoppedAt, undefined);
      assert.equal(done.page!.status, 200);
      assert.match(done.page!.body, /<p class="error" role="alert">Wrong username or password\.<\/p>/);
      assert.match(done.page!.body, new RegExp(`name="username"[^>]*value="${username}"`));
      assert.doesNotMatch(done.page!.body, /not the password|correct horse/);
      assert.equal(done.page!.headers.get('location'), null);
      // The same interaction still works with the right password.
      if (username === 'alice') {
        const retry = await submitLogin(other, done.page!, 'alice', 'correct horse battery');
        assert.ok(retry.stoppedAt?.searchParams.get('code'));
      }
    }
  });

  test('user-typed values are HTML-escaped on the page', async () => {
    const other = new Browser();
    const { nav } = await openLoginPage(other, hubLogin());
    const done = await submitLogin(other, nav.page!, '"><script>alert(1)</script>', 'whatever-pass');
    assert.equal(done.page!.status, 200);
    assert.doesNotMatch(done.page!.body, /<script>alert/);
    assert.match(done.page!.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
  });

  test('cross-site form posts are refused', async () => {
    const other = new Browser();
    const { nav } = await openLoginPage(other, hubLogin());
    const res = await other.request(formAction(nav.page!), { form: { username: 'alice', password: 'correct horse battery' }, headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.status, 403);
    assert.match(res.body, /sent from another site/);
  });

  test('an account whose name cannot be a hub username is refused with a clear message', async () => {
    // Created behind the AccountStore's back (add() itself refuses such names).
    await assert.rejects(idp.accounts.add('Bad Name', 'some password', []), (err: unknown) => err instanceof HighrateError && err.code === 'INVALID_NAME');
    const db = new BetterSqlite3(path.join(idpOptions.dataDir, 'idp.sqlite'));
    try {
      const now = new Date().toISOString();
      db.prepare('INSERT INTO idp_accounts (username, password_hash, groups, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run('Bad Name', await hashPassword('some password'), '["users"]', now, now);
    } finally {
      db.close();
    }
    const login = hubLogin();
    const { started, callbackUrl } = await loginInBrowser(new Browser(), login, 'Bad Name', 'some password');
    await refused(login.finish(callbackUrl, started), 'LOGIN_REFUSED',
      'Your username "Bad Name" cannot be used here: it contains space; only letters, digits, "-", "_" and "." are allowed. Ask the administrator for help.');
  });

  test('cancelling at the IdP (access_denied) is LOGIN_REFUSED', async () => {
    const other = new Browser();
    const login = hubLogin();
    const { started, nav } = await openLoginPage(other, login);
    const done = await other.navigate(formAction(nav.page!, 1), callback, { form: {} });
    assert.ok(done.stoppedAt);
    assert.equal(done.stoppedAt.searchParams.get('error'), 'access_denied');
    await refused(login.finish(done.stoppedAt, started), 'LOGIN_REFUSED', 'The login was cancelled or refused at the identity provider.');
  });

  test('PKCE is required: an authorization request without it gets no login page', async () => {
    const url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({ client_id: CLIENT_ID, response_type: 'code', scope: 'openid', redirect_uri: callback, state: 'x', nonce: 'y' }).toString();
    const nav = await new Browser().navigate(url, callback);
    assert.ok(nav.stoppedAt, 'error goes back to the client');
    assert.equal(nav.stoppedAt.searchParams.get('error'), 'invalid_request');
    assert.equal(nav.stoppedAt.searchParams.get('error_description'), 'Authorization Server policy requires PKCE to be used for this request');
  });

  test('failed logins are rate-limited per username', async () => {
    await idp.accounts.add('dave', 'dave password', []);
    const other = new Browser();
    const { nav } = await openLoginPage(other, hubLogin());
    let page = nav.page!;
    for (let i = 0; i < 10; i++) {
      const done = await submitLogin(other, page, 'dave', `guess ${i}`);
      assert.equal(done.page!.status, 200);
      assert.match(done.page!.body, /Wrong username or password\./);
      page = done.page!;
    }
    const blocked = await submitLogin(other, page, 'dave', 'dave password');
    assert.equal(blocked.page!.status, 429);
    assert.match(blocked.page!.body, /Too many failed sign-in attempts\. Wait \d+ seconds and try again\./);
    assert.ok(Number(blocked.page!.headers.get('retry-after')) > 0);
    assert.equal(blocked.stoppedAt, undefined);
  });

  test('logout (end_session) ends the IdP session', async () => {
    const login = hubLogin();
    const logoutUrl = await login.logoutUrl({ idTokenHint: aliceIdToken, postLogoutRedirectUri: loggedOut });
    assert.ok(logoutUrl);
    assert.equal(new URL(logoutUrl).pathname, '/oidc/session/end');
    const confirm = await browser.navigate(logoutUrl, loggedOut);
    assert.equal(confirm.page!.status, 200);
    assert.match(confirm.page!.body, /Do you want to sign out/);
    assert.doesNotMatch(confirm.page!.body, /<script|<style|\sstyle=/i);
    const done = await browser.navigate(formAction(confirm.page!), loggedOut, { form: { xsrf: hiddenInput(confirm.page!, 'xsrf'), logout: 'yes' } });
    assert.ok(done.stoppedAt?.href.startsWith(loggedOut));
    // Signed out: the next login shows the form again.
    const { nav } = await openLoginPage(browser, login);
    assert.equal(nav.page?.status, 200);
    assert.match(nav.page!.body, /name="password"/);

    // Logout without an IdP session: oidc-provider's auto-submit page. Its one inline script is
    // allowed by hash in our CSP (oidc-provider adds it to script-src), nothing else inline.
    const bare = await new Browser().request(logoutUrl);
    assert.equal(bare.status, 200);
    const csp = bare.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
  });

  test('restart on the same data dir: keys, accounts and sessions persist', async () => {
    const session = new Browser();
    await loginInBrowser(session, hubLogin(), 'alice', 'correct horse battery');

    await idp.close();
    idp = await createEmbeddedIdp(idpOptions);

    for (const file of ['jwks.json', 'cookie-keys.json']) {
      assert.equal(fs.statSync(path.join(idpOptions.dataDir, file)).mode & 0o777, 0o600, file);
    }
    // An ID token issued before the restart verifies against the JWKS served after it.
    const jwks = await (await fetch(`${issuer}/jwks`)).json() as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length >= 1);
    assert.ok(jwks.keys.every((k) => !('d' in k)), 'no private key material in the public JWKS');
    const verified = await jwtVerify(aliceIdToken, createLocalJWKSet(jwks as never), { issuer, audience: CLIENT_ID });
    assert.equal(verified.payload.sub, 'alice');

    // The browser's IdP session survives too (SQLite adapter + persisted cookie keys)...
    const login = hubLogin();
    const started = await login.start('/hub/');
    const nav = await session.navigate(started.url, callback);
    assert.ok(nav.stoppedAt, 'still signed in after the restart');
    assert.equal((await login.finish(nav.stoppedAt, started)).username, 'alice');
    // ...and accounts are still there.
    assert.deepEqual((await idp.accounts.list()).map((a) => a.username), ['Bad Name', 'alice', 'dave']);
  });
});

describe('other identity providers through the same client code', () => {
  test('embedded IdP configured with groupsClaim wlcg.groups', async () => {
    iamIdp = await createEmbeddedIdp({
      issuer: `${base}/iam`,
      dataDir: path.join(dataDir, 'iam'),
      groupsClaim: 'wlcg.groups',
      clients: [{ client_id: 'hub', client_secret: CLIENT_SECRET, redirect_uris: [callback] }],
    });
    await iamIdp.accounts.add('erin', 'erin password', ['/cms', '/cms/analysis']);
    const login = createOidcLogin({
      issuer: `${base}/iam`, clientId: 'hub', clientSecret: CLIENT_SECRET, redirectUri: callback,
      scopes: ['openid', 'profile', 'wlcg.groups'], usernameClaim: 'preferred_username', groupsClaim: 'wlcg.groups', allowHttp: true,
      fetchUserinfo: false,
    });
    const { started, callbackUrl } = await loginInBrowser(new Browser(), login, 'erin', 'erin password');
    const result = await login.finish(callbackUrl, started);
    assert.equal(result.username, 'erin');
    assert.deepEqual(result.groups, ['/cms', '/cms/analysis']);
    const idClaims = decodeJwt(result.tokens.idToken!);
    assert.deepEqual(idClaims['wlcg.groups'], ['/cms', '/cms/analysis']);
    assert.equal(idClaims.groups, undefined);
  });

  describe('an IAM-like provider: root issuer, sub is a UUID, wlcg.groups only in userinfo', () => {
    let iamServer: http.Server;
    let iamIssuer: string;
    const SUB = '6b1c6f0e-3f3a-4c55-9d38-2f3a6f0c1b21';

    before(async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      iamServer = http.createServer();
      const port = await listen(iamServer);
      iamIssuer = `http://127.0.0.1:${port}/`;
      const provider = new Provider(iamIssuer, {
        clients: [{ client_id: 'hub-at-iam', client_secret: CLIENT_SECRET, redirect_uris: [callback], grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256' }],
        claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], 'wlcg.groups': ['wlcg.groups'] },
        scopes: ['openid', 'profile', 'email', 'wlcg.groups'],
        async findAccount(_ctx, sub) {
          return { accountId: sub, claims: () => ({ sub, preferred_username: 'Carol', name: 'Carol Rossi', email: 'carol@infn.it', 'wlcg.groups': ['/cms', '/cms/analysis', '/cms'] }) };
        },
        features: { devInteractions: { enabled: false } },
        pkce: { required: () => true },
        jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'iam-1', alg: 'ES256', use: 'sig' }] },
        cookies: { keys: ['iam-like-test-cookie-key-0123456789'] },
        ttl: { AccessToken: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60 },
      });
      const handler = provider.callback();
      // "Already signed in at IAM": the interaction step logs the fixed account in and consents.
      iamServer.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!req.url?.startsWith('/interaction/')) return handler(req, res);
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'login') {
          await provider.interactionFinished(req, res, { login: { accountId: SUB } }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new provider.Grant({ accountId: SUB, clientId: 'hub-at-iam' });
        grant.addOIDCScope((details.prompt.details.missingOIDCScope as string[]).join(' '));
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      });
    });

    after(async () => {
      if (iamServer) await closeServer(iamServer);
    });

    function iamLogin(overrides: Partial<OidcLoginConfig> = {}): OidcLogin {
      return createOidcLogin({
        issuer: iamIssuer, clientId: 'hub-at-iam', clientSecret: CLIENT_SECRET, redirectUri: callback,
        scopes: ['openid', 'profile', 'email', 'wlcg.groups'], usernameClaim: 'preferred_username', groupsClaim: 'wlcg.groups', allowHttp: true,
        ...overrides,
      });
    }

    test('username from preferred_username (normalised), groups from userinfo, kept as given', async () => {
      const login = iamLogin();
      const started = await login.start('/hub/');
      const nav = await new Browser().navigate(started.url, callback);
      assert.ok(nav.stoppedAt);
      const result = await login.finish(nav.stoppedAt, started);
      assert.equal(result.username, 'carol');
      assert.deepEqual(result.groups, ['/cms', '/cms/analysis']);
      assert.equal(result.claims.sub, SUB);
      assert.equal(result.claims.email, 'carol@infn.it');
      // The ID token carried neither: they came from the userinfo endpoint.
      const idClaims = decodeJwt(result.tokens.idToken!);
      assert.equal(idClaims['wlcg.groups'], undefined);
      assert.equal(idClaims.preferred_username, undefined);
    });

    test('an email username claim is refused, not cut to its local part', async () => {
      const login = iamLogin({ usernameClaim: 'email' });
      const started = await login.start('/hub/');
      const nav = await new Browser().navigate(started.url, callback);
      await refused(login.finish(nav.stoppedAt!, started), 'LOGIN_REFUSED',
        'Your username "carol@infn.it" cannot be used here: it contains "@"; only letters, digits, "-", "_" and "." are allowed. Ask the administrator for help.');
    });

    test('without userinfo, nothing unverified fills the gap: missing claim is LOGIN_REFUSED', async () => {
      const login = iamLogin({ fetchUserinfo: false });
      const started = await login.start('/hub/');
      const nav = await new Browser().navigate(started.url, callback);
      await refused(login.finish(nav.stoppedAt!, started), 'LOGIN_REFUSED',
        'The identity provider did not send the "preferred_username" claim, which is needed for your username here. Ask the administrator to check the requested scopes.');
    });
  });
});
