import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, safeNext } from './html.js';

test('safeNext keeps local paths and refuses open redirects', () => {
  assert.equal(safeNext('/user/alice/tree?x=1'), '/user/alice/tree?x=1');
  for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/ok\r\nSet-Cookie: x', '', null, undefined, '\\\\evil']) {
    assert.equal(safeNext(bad as string), '/hub/home', String(bad));
  }
});

test('escapeHtml escapes every markup character', () => {
  assert.equal(escapeHtml(`<script>"'&`), '&lt;script&gt;&quot;&#39;&amp;');
});
