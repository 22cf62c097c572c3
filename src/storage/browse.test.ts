import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HighrateError } from '../errors/catalogue.js';
import { checkStoragePath, encodePath, parentOf, parseMultistatus } from './browse.js';

test('storage paths: absolute, no . or .. parts, no control characters; slashes normalised', () => {
  assert.equal(checkStoragePath('/public'), '/public');
  assert.equal(checkStoragePath('//public//run1/'), '/public/run1');
  assert.equal(checkStoragePath('/'), '/');
  assert.equal(checkStoragePath('/user/alice/a b…'), '/user/alice/a b…');
  for (const bad of [null, '', 'public', './public', '/public/..', '/a/./b', '/a/\u0000', '/a\nb', '/' + 'x'.repeat(4100)]) {
    assert.throws(() => checkStoragePath(bad), (e: unknown) => e instanceof HighrateError && e.code === 'STORAGE_BAD_PATH' && e.status === 400, String(bad));
  }
  assert.equal(parentOf('/'), null);
  assert.equal(parentOf('/public'), '/');
  assert.equal(parentOf('/public/run1'), '/public');
  assert.equal(encodePath('/user/alice/a b#1'), '/user/alice/a%20b%231');
});

test('PROPFIND multistatus as XrdHttp 5.5 writes it (namespaced props, iscollection, RFC 1123 dates, encoded hrefs)', () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns1="http://apache.org/dav/props/" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:lp3="LCGDM:">
<D:href>/public/</D:href>
<D:propstat><D:prop><lp1:getcontentlength>4096</lp1:getcontentlength><lp1:getlastmodified>Fri, 04 Dec 2026 12:48:35 GMT</lp1:getlastmodified><lp1:resourcetype><D:collection/></lp1:resourcetype><lp1:iscollection>1</lp1:iscollection></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
</D:response>
<D:response xmlns:lp1="DAV:">
<D:href>/public/a%20b.txt</D:href>
<D:propstat><D:prop><lp1:getcontentlength>5</lp1:getcontentlength><lp1:getlastmodified>Fri, 04 Dec 2026 12:48:35 GMT</lp1:getlastmodified><lp1:iscollection>0</lp1:iscollection></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
</D:response>
</D:multistatus>`;
  assert.deepEqual(parseMultistatus(xml), [
    { href: '/public/', dir: true, size: null, mtime: '2026-12-04T12:48:35.000Z' },
    { href: '/public/a b.txt', dir: false, size: 5, mtime: '2026-12-04T12:48:35.000Z' },
  ]);
});
