import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HighrateError } from '../errors/catalogue.js';
import { createOidcLogin, groupsFromClaim, mergeClaims, safeNextPath } from './oidc-login.js';

const base = { issuer: 'https://iam.example.org/', clientId: 'hub', clientSecret: 's', redirectUri: 'https://hub.example.org/hub/oauth_callback', scopes: ['openid', 'profile'], usernameClaim: 'preferred_username', groupsClaim: 'groups' };

test('configuration is checked at creation, before any request', () => {
  const invalid = (err: unknown) => err instanceof HighrateError && err.code === 'CONFIG_INVALID';
  assert.throws(() => createOidcLogin({ ...base, issuer: 'http://iam.example.org/' }), (err: unknown) => invalid(err)
    && (err as Error).message === 'The OIDC issuer http://iam.example.org must use https (plain http is allowed only with allowHttp, for the embedded IdP on this machine).');
  assert.throws(() => createOidcLogin({ ...base, issuer: 'not a url' }), invalid);
  assert.throws(() => createOidcLogin({ ...base, scopes: ['profile'] }), invalid);
  assert.throws(() => createOidcLogin({ ...base, redirectUri: '/relative' }), invalid);
  assert.throws(() => createOidcLogin({ ...base, clientSecret: undefined, tokenEndpointAuthMethod: 'client_secret_post' }), invalid);
  assert.ok(createOidcLogin({ ...base, issuer: 'http://127.0.0.1:8000/oidc', allowHttp: true }));
});

test('finish refuses a callback without the saved login before contacting anyone', async () => {
  const login = createOidcLogin(base);
  await assert.rejects(login.finish(new URL('https://hub.example.org/hub/oauth_callback?code=x&state=abc'), undefined as never),
    (err: unknown) => err instanceof HighrateError && err.code === 'BAD_REQUEST' && err.message === 'No login is in progress in this browser. Start the login again.');
  await assert.rejects(login.finish(new URL('https://hub.example.org/hub/oauth_callback?code=x'), { state: 'abc', codeVerifier: 'v', nonce: 'n' }),
    (err: unknown) => err instanceof HighrateError && err.code === 'BAD_REQUEST');
});

test('groups: lists of strings kept as given, one string accepted, anything else none', () => {
  assert.deepEqual(groupsFromClaim(['/cms', '/cms/analysis', '/cms', 7, '']), ['/cms', '/cms/analysis']);
  assert.deepEqual(groupsFromClaim('admins'), ['admins']);
  assert.deepEqual(groupsFromClaim({ a: 1 }), []);
  assert.deepEqual(groupsFromClaim(undefined), []);
});

test('merge: userinfo overlays the ID token except protocol claims', () => {
  const merged = mergeClaims(
    { iss: 'https://iam', sub: 'u1', aud: 'hub', nonce: 'n', groups: ['old'], preferred_username: 'a' },
    { sub: 'u1', iss: 'https://evil', groups: ['new'], email: 'a@x', nonce: 'forged' },
  );
  assert.deepEqual(merged, { iss: 'https://iam', sub: 'u1', aud: 'hub', nonce: 'n', groups: ['new'], preferred_username: 'a', email: 'a@x' });
  assert.deepEqual(mergeClaims({ sub: 'u1', groups: ['g'] }, undefined), { sub: 'u1', groups: ['g'] });
});

test('next: only local paths', () => {
  assert.equal(safeNextPath('/user/alice/lab?x=1'), '/user/alice/lab?x=1');
  for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '', '/a\nb', 42]) {
    assert.equal(safeNextPath(bad), '/hub/', String(bad));
  }
});
