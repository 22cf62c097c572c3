import { tinyServerCommand } from '../fixtures/tiny-server.js';
/**
 * Login policy against a real OpenID Provider set up like INDIGO-IAM (test/security/iam.ts: root
 * issuer, UUID subjects, groups only in `wlcg.groups` from userinfo, JWT access tokens): who may
 * log in and who is admin is decided at every login from verified claims, and the issuer's JWT
 * access tokens are API credentials only when their signature, issuer and audience check out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompactSign, decodeJwt, generateKeyPair } from 'jose';
import { Browser } from '../auth/browser.js';
import { http } from '../helpers/http.js';
import { freePortPair, Platform } from '../helpers/platform.js';
import { CLIENT_SECRET, HUB_CLIENT, IamLike, RESOURCES } from './iam.js';

const [HIGHRATE_AUDIENCE, OTHER_AUDIENCE] = RESOURCES as [string, string];

describe('login policy with an INDIGO-IAM-like provider', () => {
  let iam: IamLike;
  let p: Platform;
  let root: string;

  before(async () => {
    const port = await freePortPair();
    iam = await IamLike.start(`http://127.0.0.1:${port}/hub/oauth_callback`);
    p = await Platform.start({
      config: {
        hub: { port },
        auth: {
          kind: 'oidc',
          oidc: {
            issuer: iam.issuer, clientId: HUB_CLIENT, clientSecret: CLIENT_SECRET,
            scopes: ['openid', 'profile', 'wlcg.groups'], usernameClaim: 'preferred_username', groupsClaim: 'wlcg.groups',
            accessTokens: { audiences: [HIGHRATE_AUDIENCE] },
          },
          allowedGroups: ['/cms'],
          adminGroups: ['/cms/admins'],
          adminUsers: ['root'],
        },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
      },
    });
    root = await p.token('root');
  });
  after(async () => {
    await p?.close();
    await iam?.close();
  });

  /** A browser login through the hub: /hub/login → IAM → /hub/oauth_callback. */
  async function login(username: string) {
    iam.loginAs = username;
    const browser = new Browser();
    const nav = await browser.navigate(`${p.base}/hub/login?next=%2Fhub%2Fhome`, `${p.base}/hub/home`);
    const me = await browser.request(`${p.base}/hub/api/user`, { headers: { accept: 'application/json' } });
    return { browser, nav, me: me.status === 200 ? JSON.parse(me.body) : null, meStatus: me.status };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('a user outside the allowed groups cannot log in; the refusal is audited', async () => {
    iam.add('mallory', ['/atlas', '/cms-like']);
    const { nav, meStatus } = await login('mallory');
    assert.equal(nav.page?.status, 403);
    assert.match(nav.page!.body, /<h1>Login refused<\/h1>/);
    assert.match(nav.page!.body, /Your account \(mallory\) is not a member of a group allowed on this platform \(\/cms\)\./);
    assert.equal(meStatus, 403, 'no session');
    assert.equal((await p.api('GET', '/hub/api/users/mallory', { token: root })).status, 404, 'no user was created');
    const audit = (await p.api('GET', '/hub/api/audit?action=login&outcome=denied', { token: root })).json();
    const entry = audit.items.find((e: any) => e.actor === 'mallory');
    assert.ok(entry, JSON.stringify(audit.items));
    assert.equal(entry.code, 'LOGIN_REFUSED');
    assert.equal(entry.detail.reason, 'not-in-allowed-group');
    assert.deepEqual(entry.detail.groups, ['/atlas', '/cms-like']);
  });

  test('members log in; groups come from the verified userinfo exactly as IAM sends them', async () => {
    iam.add('carol', ['/cms', '/cms/analysis']);
    const { nav, me } = await login('carol');
    assert.equal(nav.stoppedAt?.pathname, '/hub/home');
    assert.equal(me.name, 'carol');
    assert.equal(me.admin, false);
    assert.deepEqual(me.groups, ['/cms', '/cms/analysis']);
    assert.deepEqual(me.roles, ['user']);
    assert.equal((await p.api('GET', '/hub/api/users', { token: await p.token('carol') })).status, 403, 'not an admin');
  });

  test('the admin group grants admin', async () => {
    iam.add('erin', ['/cms', '/cms/admins']);
    const { browser, me } = await login('erin');
    assert.equal(me.admin, true);
    assert.deepEqual(me.roles, ['admin', 'user']);
    const users = await browser.request(`${p.base}/hub/api/users`, { headers: { accept: 'application/json' } });
    assert.equal(users.status, 200);
  });

  test('group changes at IAM take effect at the next login: admin granted, removed, then access lost', async () => {
    iam.add('dan', ['/cms']);
    assert.equal((await login('dan')).me.admin, false);
    iam.add('dan', ['/cms', '/cms/admins']);
    const promoted = await login('dan');
    assert.equal(promoted.me.admin, true);
    assert.deepEqual(promoted.me.groups, ['/cms', '/cms/admins']);
    iam.add('dan', ['/cms']);
    const demoted = await login('dan');
    assert.equal(demoted.me.admin, false);
    assert.deepEqual(demoted.me.groups, ['/cms']);
    assert.equal((await demoted.browser.request(`${p.base}/hub/api/users`, { headers: { accept: 'application/json' } })).status, 403);
    iam.add('dan', ['/atlas']);
    const gone = await login('dan');
    assert.equal(gone.nav.page?.status, 403);
    assert.equal(gone.meStatus, 403);
    // The stored user still shows the groups of the last allowed login.
    assert.deepEqual((await p.api('GET', '/hub/api/users/dan', { token: root })).json().groups, ['/cms']);
  });

  test("IAM's JWT access token for highrate's audience acts as the user it was issued to", async () => {
    const at = await iam.accessToken('carol', HIGHRATE_AUDIENCE);
    const claims = decodeJwt(at);
    assert.equal(claims.aud, HIGHRATE_AUDIENCE);
    assert.deepEqual(claims['wlcg.groups'], ['/cms', '/cms/analysis']);
    assert.equal(claims.preferred_username, undefined, 'like IAM: only sub names the user');
    const me = await http('GET', `${p.base}/hub/api/user`, { headers: bearer(at) });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json().name, 'carol');
    assert.deepEqual(me.json().groups, ['/cms', '/cms/analysis']);
    // The same token starts a server and reaches it through the proxy (edge auth asks the hub).
    const start = await http('POST', `${p.base}/hub/api/users/carol/server`, { headers: bearer(at), body: {} });
    assert.equal(start.status, 201, start.text);
    assert.equal((await http('GET', `${p.base}/user/carol/`, { headers: bearer(at) })).status, 200);
    assert.equal((await http('GET', `${p.base}/hub/api/users/erin`, { headers: bearer(at) })).status, 403, "not someone else's");
    assert.equal((await http('DELETE', `${p.base}/hub/api/users/carol/server`, { headers: bearer(at) })).status, 204);
  });

  test('a JWT with a forged signature, a wrong audience, no signature or a tampered payload is refused', async () => {
    const good = await iam.accessToken('carol', HIGHRATE_AUDIENCE);
    const [header, payload] = good.split('.') as [string, string];
    // Same header (kid of IAM's key) and claims, signed with an attacker's key.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new CompactSign(new TextEncoder().encode(Buffer.from(payload, 'base64url').toString()))
      .setProtectedHeader(JSON.parse(Buffer.from(header, 'base64url').toString())).sign(privateKey);
    assert.equal(decodeJwt(forged).sub, decodeJwt(good).sub);
    // Claims changed (more groups) under the original signature.
    const tamperedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(good), 'wlcg.groups': ['/cms', '/cms/admins'] })).toString('base64url');
    const tampered = `${header}.${tamperedPayload}.${good.split('.')[2]}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    const wrongAudience = await iam.accessToken('carol', OTHER_AUDIENCE);
    assert.equal(decodeJwt(wrongAudience).aud, OTHER_AUDIENCE);
    for (const [what, token] of [['forged', forged], ['tampered', tampered], ['unsigned', unsigned], ['wrong audience', wrongAudience]] as const) {
      const r = await http('GET', `${p.base}/hub/api/user`, { headers: bearer(token) });
      assert.equal(r.status, 403, what);
      assert.equal(r.json().code, 'FORBIDDEN', what);
    }
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(good) })).status, 200, 'the genuine token still works');
    const refused = (await p.api('GET', '/hub/api/audit?action=token.refused', { token: root })).json().items;
    const reasons = refused.map((e: any) => e.detail.reason);
    assert.ok(reasons.filter((r: string) => r === 'signature').length >= 2, JSON.stringify(reasons));
    assert.ok(reasons.includes('audience'), JSON.stringify(reasons));
  });

  test('JWT access tokens follow the login policy: outside the allowed groups, unknown or blocked users are refused', async () => {
    iam.add('dan', ['/atlas']);
    const outside = await iam.accessToken('dan', HIGHRATE_AUDIENCE);
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(outside) })).status, 403);
    iam.add('frank', ['/cms']);
    const neverLoggedIn = await iam.accessToken('frank', HIGHRATE_AUDIENCE);
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(neverLoggedIn) })).status, 403, 'no username claim and no linked login');
    const carol = await iam.accessToken('carol', HIGHRATE_AUDIENCE);
    assert.equal((await p.api('PATCH', '/hub/api/users/carol', { token: root }, { blocked: true })).status, 200);
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(carol) })).status, 403, 'blocked');
    assert.equal((await login('carol')).nav.page?.status, 403, 'blocked users cannot log in either');
    assert.equal((await p.api('PATCH', '/hub/api/users/carol', { token: root }, { blocked: false })).status, 200);
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(carol) })).status, 200);
  });

  test('a token an IdP signed for someone with an admin group makes them admin only through verified claims', async () => {
    iam.add('gina', ['/cms']);
    await login('gina');
    iam.add('gina', ['/cms', '/cms/admins']);
    const at = await iam.accessToken('gina', HIGHRATE_AUDIENCE);
    const me = (await http('GET', `${p.base}/hub/api/user`, { headers: bearer(at) })).json();
    assert.equal(me.admin, true, 'the signed token says /cms/admins');
    iam.add('gina', ['/cms']);
    const after = await iam.accessToken('gina', HIGHRATE_AUDIENCE);
    assert.equal((await http('GET', `${p.base}/hub/api/user`, { headers: bearer(after) })).json().admin, false);
  });
});
