import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HighrateError } from '../errors/catalogue.js';
import { storeFailureError } from './db-errors.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('a database that did not answer is 503 STORE_UNAVAILABLE (retry in 5 s), never a 500', () => {
  for (const err of [
    coded('57P01', 'terminating connection due to administrator command'),
    coded('08006'),
    coded('SQLITE_BUSY'),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Query read timeout'),
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('Client was closed and is not queryable'),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', storeConnect: true }),
    new Error('wrapped', { cause: coded('57P03') }),
  ]) {
    const out = storeFailureError(err);
    assert.ok(out instanceof HighrateError, err.message);
    assert.deepEqual([out.code, out.status, out.extra?.retryAfter], ['STORE_UNAVAILABLE', 503, 5], err.message);
  }
});

test('a full disk is 507 STORAGE_FULL; other errors, and a bare ECONNREFUSED of another hop, are left as they are', () => {
  const full = storeFailureError(coded('SQLITE_FULL'));
  assert.ok(full instanceof HighrateError && full.code === 'STORAGE_FULL' && full.status === 507);
  for (const err of [new Error('boom'), coded('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443'), coded('23505')]) assert.equal(storeFailureError(err), err);
});
