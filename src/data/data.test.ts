import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { adler32, Adler32 } from './adler32.js';
import { parseDid } from './did.js';
import { parseRucioDate, formatRucioDate, jwtExpiry } from './rucio/auth.js';
import { pythonLiteral } from './rucio/dids.js';
import { rucioErrorFrom } from './rucio/errors.js';
import { parseJsonStream } from './rucio/http.js';

test('adler32 as Rucio writes it: 8 lowercase hex digits, the same as XRootD\'s', () => {
  // `xrdfs … query checksum` of a file holding "hello\n" answers "adler32 084b021f".
  assert.equal(adler32(Buffer.from('hello\n')), '084b021f');
  assert.equal(adler32(Buffer.alloc(0)), '00000001');
  const big = Buffer.alloc(300_000, 0xff);
  assert.equal(new Adler32().update(big.subarray(0, 7)).update(big.subarray(7)).hex(), adler32(big));
});

test('json-stream lines are parsed across chunk boundaries, multi-byte characters included', async () => {
  const body = new PassThrough();
  (body as unknown as { headers: Record<string, string> }).headers = { 'content-type': 'application/x-json-stream' };
  const text = Buffer.from('{"name":"é1"}\n{"name":"ü2"}\n\n{"name":"3"}');
  const out: unknown[] = [];
  const reading = (async () => { for await (const v of parseJsonStream(body as unknown as IncomingMessage)) out.push(v); })();
  for (let i = 0; i < text.length; i += 3) body.write(text.subarray(i, i + 3));
  body.end();
  await reading;
  assert.deepEqual(out, [{ name: 'é1' }, { name: 'ü2' }, { name: '3' }]);
});

test('search filters are Python literals; dates are RFC 1123 with "UTC"', () => {
  assert.equal(pythonLiteral([{ name: "it's*", 'length.gt': 3, open: true, x: null }]), "[{'name': 'it\\'s*', 'length.gt': 3, 'open': True, 'x': None}]");
  const ms = parseRucioDate('Mon, 13 May 2013 10:23:03 UTC');
  assert.equal(new Date(ms).toISOString(), '2013-05-13T10:23:03.000Z');
  assert.equal(formatRucioDate(ms), 'Mon, 13 May 2013 10:23:03 UTC');
  const jwt = `e30.${Buffer.from(JSON.stringify({ exp: 1700000000 })).toString('base64url')}.sig`;
  assert.equal(jwtExpiry(jwt), 1700000000_000);
});

test('Rucio errors: the body wins over the truncated header; a bare 401 is CannotAuthenticate', () => {
  const long = 'x'.repeat(200);
  const e = rucioErrorFrom(409, { exceptionclass: 'DuplicateRule', exceptionmessage: long.slice(0, 125) + '...' }, JSON.stringify({ ExceptionClass: 'DuplicateRule', ExceptionMessage: long }));
  assert.deepEqual([e.exceptionClass, e.message, e.status], ['DuplicateRule', long, 409]);
  assert.equal(rucioErrorFrom(404, { exceptionclass: 'RuleNotFound', exceptionmessage: 'gone' }, '<html>').message, 'gone');
  assert.equal(rucioErrorFrom(401, {}, '').exceptionClass, 'CannotAuthenticate');
  assert.equal(rucioErrorFrom(504, {}, 'Gateway Timeout').exceptionClass, 'HTTP504');
});

test('DIDs are scope:name; bad ones are 400 with a hint', () => {
  assert.deepEqual(parseDid('user.alice:run/2024/a.root'), { scope: 'user.alice', name: 'run/2024/a.root' });
  assert.deepEqual(parseDid('data:', { wildcard: true }), { scope: 'data', name: '*' });
  assert.throws(() => parseDid('dataset1'), /scope:name/);
  assert.throws(() => parseDid('da*ta:x', { wildcard: true }), /no wildcards/);
  assert.throws(() => parseDid('data:x*'), /Invalid Rucio name/);
});
