import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findCredential, queryToken, sessionCookieValue, withoutQueryToken, withoutSessionCookie } from './credential.js';

describe('findCredential', () => {
  test('Authorization token or bearer (any case) is a token credential', () => {
    assert.deepEqual(findCredential(['Authorization', 'token abc'], '/', false), { kind: 'token', value: 'abc' });
    assert.deepEqual(findCredential(['authorization', 'Bearer xyz'], '/', false), { kind: 'token', value: 'xyz' });
    assert.deepEqual(findCredential(['AUTHORIZATION', 'TOKEN  t1 '], '/', false), { kind: 'token', value: 't1' });
  });

  test('the session cookie is a cookie credential; other cookies and schemes are ignored', () => {
    assert.deepEqual(findCredential(['Cookie', 'a=1; highrate-session=s3ss; b=2'], '/', false), { kind: 'cookie', value: 's3ss' });
    assert.equal(findCredential(['Cookie', 'xhighrate-session=nope; a=1'], '/', false), null);
    assert.equal(findCredential(['Authorization', 'Basic dXNlcjpwdw=='], '/', false), null);
    assert.deepEqual(findCredential(['Authorization', 'Basic dXNlcjpwdw==', 'Cookie', 'highrate-session=c'], '/', false), { kind: 'cookie', value: 'c' });
  });

  test('a header token wins over the cookie (JupyterHub order)', () => {
    assert.deepEqual(findCredential(['Cookie', 'highrate-session=c', 'Authorization', 'token t'], '/', false), { kind: 'token', value: 't' });
  });

  test('?token= counts only on WebSocket upgrades', () => {
    assert.equal(findCredential([], '/user/a/api?token=qt', false), null);
    assert.deepEqual(findCredential([], '/user/a/api?token=qt', true), { kind: 'token', value: 'qt' });
    assert.deepEqual(findCredential(['Cookie', 'highrate-session=c'], '/x?token=qt', true), { kind: 'token', value: 'qt' });
    assert.deepEqual(findCredential(['Cookie', 'highrate-session=c'], '/x?token=', true), { kind: 'cookie', value: 'c' });
  });
});

describe('cookies', () => {
  test('sessionCookieValue finds the cookie by exact name', () => {
    assert.equal(sessionCookieValue('highrate-session=v'), 'v');
    assert.equal(sessionCookieValue('a=1;highrate-session=v;b=2'), 'v');
    assert.equal(sessionCookieValue('a=highrate-session=v'), null);
    assert.equal(sessionCookieValue('highrate-session='), null);
    assert.equal(sessionCookieValue('other=1'), null);
  });

  test('withoutSessionCookie keeps every other cookie', () => {
    assert.equal(withoutSessionCookie('a=1; highrate-session=v; b=2'), 'a=1; b=2');
    assert.equal(withoutSessionCookie('highrate-session=v'), null);
    assert.equal(withoutSessionCookie('a=1; b=2'), 'a=1; b=2');
    assert.equal(withoutSessionCookie('_xsrf=2|abc; highrate-session=v'), '_xsrf=2|abc');
  });
});

describe('query token', () => {
  test('queryToken decodes; withoutQueryToken removes every token parameter and nothing else', () => {
    assert.equal(queryToken('/a?x=1&token=a%2Bb'), 'a+b');
    assert.equal(queryToken('/a?x=1'), null);
    assert.equal(withoutQueryToken('/a?x=1&token=t&y=%20'), '/a?x=1&y=%20');
    assert.equal(withoutQueryToken('/a?token=t'), '/a');
    assert.equal(withoutQueryToken('/a?tok%65n=t&token=u&z'), '/a?z');
    assert.equal(withoutQueryToken('/a'), '/a');
  });
});
