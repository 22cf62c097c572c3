/** Logging out of the portal also ends the sign-in at the embedded IdP: the next login asks for the password. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserLogin, CookieJar, http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

/** Follows a login from /hub/login with `jar` (IdP cookie included) until a page or /hub/home. */
async function loginAgain(base: string, jar: CookieJar): Promise<{ path: string; text: string }> {
  let url = `${base}/hub/login?next=%2Fhub%2Fhome`;
  for (let hops = 0; hops < 10; hops++) {
    const r = await http('GET', url, { headers: { cookie: jar.header(), accept: 'text/html' } });
    jar.take(r.headers['set-cookie']);
    if (r.status < 300 || r.status >= 400) return { path: new URL(url).pathname, text: r.text };
    url = new URL(String(r.headers.location), url).toString();
    if (new URL(url).pathname === '/hub/home') return { path: '/hub/home', text: '' };
  }
  throw new Error('too many redirects');
}

function copy(jar: CookieJar): CookieJar {
  const c = new CookieJar();
  for (const [k, v] of jar.cookies) c.cookies.set(k, v);
  return c;
}

describe('logout', () => {
  let p: Platform;
  before(async () => { p = await Platform.start({ users: [{ name: 'alice' }] }); });
  after(async () => { await p?.close(); });

  test('ends the IdP sign-in too: after it, logging in asks for the password again', async () => {
    const jar = await browserLogin(p.base, 'alice', 'alice-password');
    // Control: with the IdP's session but no portal session, the login goes through silently (SSO).
    const sso = copy(jar);
    sso.cookies.delete('highrate-session');
    assert.equal((await loginAgain(p.base, sso)).path, '/hub/home');
    assert.ok(sso.get('highrate-session'));

    const out = await http('GET', `${p.base}/hub/logout`, { headers: { cookie: jar.header(), 'sec-fetch-site': 'same-origin', accept: 'text/html' } });
    assert.equal(out.status, 302);
    jar.take(out.headers['set-cookie']);
    assert.equal(jar.get('highrate-session'), undefined);
    const again = await loginAgain(p.base, jar);
    assert.notEqual(again.path, '/hub/home', 'not signed in silently');
    assert.match(again.text, /<form method="post" action="[^"]+"/);
    assert.match(again.text, /name="password"/);
    assert.equal(jar.get('highrate-session'), undefined);
    // And the password still works.
    await browserLogin(p.base, 'alice', 'alice-password');
  });
});
