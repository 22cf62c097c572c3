import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, loginPage } from './pages.js';

test('escapeHtml covers element content and both quote styles', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(escapeHtml(undefined), '');
});

test('the login page escapes every input and has no inline code', () => {
  const html = loginPage({ cssHref: '/oidc/assets/idp.css', action: '/oidc/interaction/u"1/login', abortAction: '/oidc/interaction/u1/abort', clientName: '<b>evil</b>', username: `x" autofocus onfocus="alert(1)`, error: '<i>no</i>' });
  assert.doesNotMatch(html, /<b>evil|<i>no|onfocus="alert/);
  assert.match(html, /value="x&quot; autofocus onfocus=&quot;alert\(1\)"/);
  assert.match(html, /action="\/oidc\/interaction\/u&quot;1\/login"/);
  assert.doesNotMatch(html, /<script|<style|\sstyle=/i);
});
