import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { seal, sealKey, unseal } from './seal.js';

test('a sealed secret opens only with its key and its context, and unaltered', () => {
  const key = sealKey(randomBytes(32).toString('hex'));
  const sealed = seal(key, 'refresh-token-value', 'alice\nhttps://iam.example.org/');
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('refresh-token-value'));
  assert.equal(unseal(key, sealed, 'alice\nhttps://iam.example.org/'), 'refresh-token-value');
  assert.equal(unseal(key, sealed, 'bob\nhttps://iam.example.org/'), null, 'another row');
  assert.equal(unseal(sealKey(randomBytes(32).toString('hex')), sealed, 'alice\nhttps://iam.example.org/'), null, 'another key');
  const parts = sealed.split('.');
  const body = Buffer.from(parts[2]!, 'base64url');
  body[0] = body[0]! ^ 1;
  assert.equal(unseal(key, `${parts[0]}.${parts[1]}.${body.toString('base64url')}`, 'alice\nhttps://iam.example.org/'), null, 'altered');
  assert.equal(unseal(key, 'garbage', 'x'), null);
  assert.notEqual(seal(key, 'same', 'c'), seal(key, 'same', 'c'), 'a fresh IV every time');
  assert.throws(() => sealKey('abcd'), /32 bytes/);
});
