import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, safeNext } from './html.js';

test('safeNext keeps local paths and refuses open redirects', () => {
  assert.equal(safeNext('/user/alice/tree?x=1'), '/user/alice/tree?x=1');
  for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/ok\r\nSet-Cookie: x', '', null, undefined, '\\\\evil']) {
    assert.equal(safeNext(bad as string), '/hub/home', String(bad));
  }
});

test('safeNext percent-encodes what a Location header cannot carry, and stays local', () => {
  assert.equal(safeNext('/\u3002/evil.example'), '/%E3%80%82/evil.example');
  assert.equal(safeNext('/user/alice/tree/donn\u00e9es'), '/user/alice/tree/donn%C3%A9es');
  assert.equal(safeNext('/x\ud800'), '/hub/home');
});

test('escapeHtml escapes every markup character', () => {
  assert.equal(escapeHtml(`<script>"'&`), '&lt;script&gt;&quot;&#39;&amp;');
});
