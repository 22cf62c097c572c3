import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS, errorBody, fail } from './catalogue.js';
import { errorReference } from './docs.js';

test('docs/errors.md lists exactly the catalogue', () => {
  const docs = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  assert.equal(docs, errorReference(), 'regenerate docs/errors.md from src/errors/docs.ts');
});

test('every code is a 4xx or 5xx, and unknown errors never leak their message', () => {
  for (const [code, e] of Object.entries(ERRORS)) assert.ok(e.status >= 400 && e.status < 600, code);
  assert.deepEqual(errorBody(new Error('secret detail')), { status: 500, message: 'Internal error.', code: 'INTERNAL' });
  assert.deepEqual(errorBody(fail('USER_NOT_FOUND', 'No such user: bob')), { status: 404, message: 'No such user: bob', code: 'USER_NOT_FOUND' });
});
