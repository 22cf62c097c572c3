import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Http1Parser, ProtocolError, type RequestSink, type ResponseSink } from './http1-parser.js';

interface Seen {
  head?: { status: number; reason: string; headers: string[] };
  body: string;
  ended: boolean;
}

function responseSink(seen: Seen): ResponseSink {
  return {
    onHead(status, reason, headers) {
      seen.head = { status, reason, headers };
    },
    onBody(chunk, last) {
      if (chunk !== null) seen.body += chunk.toString('latin1');
      if (last) seen.ended = true;
    },
  };
}

/** Parses `raw` as one response to `method`, fed in pieces of `step` bytes. */
function parseResponse(raw: string, method = 'GET', step = raw.length): { seen: Seen; parser: Http1Parser } {
  const seen: Seen = { body: '', ended: false };
  const parser = new Http1Parser('response');
  parser.begin(responseSink(seen), method);
  const bytes = Buffer.from(raw, 'latin1');
  for (let i = 0; i < bytes.length; i += step) parser.execute(bytes.subarray(i, i + step));
  return { seen, parser };
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5;ext=1\r\nhello\r\n1A\r\n' + 'z'.repeat(26) + '\r\n0\r\nX-Trailer: t\r\n\r\n';

describe('Http1Parser, responses', () => {
  test('Content-Length body; hop-by-hop fields dropped; keep-alive hint read', () => {
    const { seen, parser } = parseResponse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello');
    assert.deepEqual(seen.head, { status: 200, reason: 'OK', headers: ['Content-Type', 'text/plain', 'Content-Length', '5'] });
    assert.equal(seen.body, 'hello');
    assert.equal(seen.ended, true);
    assert.equal(parser.keepAlive, true);
    assert.equal(parser.idleHintMs, 5000);
    assert.equal(parser.busy, false);
  });

  test('every split point of a chunked response gives the same result', () => {
    for (let step = 1; step <= CHUNKED.length; step++) {
      const { seen, parser } = parseResponse(CHUNKED, 'GET', step);
      assert.equal(seen.body, 'hello' + 'z'.repeat(26), `step ${step}`);
      assert.equal(seen.ended, true, `step ${step}`);
      assert.deepEqual(seen.head!.headers, ['X-A', '1'], 'Transfer-Encoding is not end-to-end');
      assert.equal(parser.keepAlive, true);
    }
  });

  test('every split point of a Content-Length response gives the same result', () => {
    const raw = 'HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n0123456789';
    for (let step = 1; step <= raw.length; step++) {
      const { seen } = parseResponse(raw, 'GET', step);
      assert.equal(seen.head!.status, 404);
      assert.equal(seen.body, '0123456789');
      assert.equal(seen.ended, true);
    }
  });

  test('no body for HEAD, 204, 304 (whatever Content-Length says)', () => {
    for (const [raw, method] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', 'HEAD'],
      ['HTTP/1.1 204 No Content\r\n\r\n', 'GET'],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n', 'GET'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'GET'],
    ] as const) {
      const { seen, parser } = parseResponse(raw, method);
      assert.equal(seen.ended, true, raw);
      assert.equal(seen.body, '');
      assert.equal(parser.keepAlive, true);
    }
  });

  test('informational responses are skipped; 101 is refused', () => {
    const { seen } = parseResponse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    assert.equal(seen.head!.status, 201);
    assert.equal(seen.body, 'ok');
    assert.throws(() => parseResponse('HTTP/1.1 101 Switching Protocols\r\n\r\n'), ProtocolError);
  });

  test('a body without length runs until close and the connection is not reused', () => {
    const { seen, parser } = parseResponse('HTTP/1.0 200 OK\r\n\r\npart1');
    assert.equal(seen.body, 'part1');
    assert.equal(seen.ended, false);
    parser.execute(Buffer.from('part2'));
    parser.end();
    assert.equal(seen.body, 'part1part2');
    assert.equal(seen.ended, true);
    assert.equal(parser.keepAlive, false);
  });

  test('Connection: close, HTTP/1.0 without keep-alive, and TE+CL forbid reuse', () => {
    assert.equal(parseResponse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, false);
    assert.equal(parseResponse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, false);
    assert.equal(parseResponse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').parser.keepAlive, true);
    const both = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n');
    assert.equal(both.seen.body, 'ab', 'Transfer-Encoding wins');
    assert.equal(both.parser.keepAlive, false);
    assert.deepEqual(both.seen.head!.headers, []);
  });

  test('a close before or during a response is an error', () => {
    const p = new Http1Parser('response');
    p.begin(responseSink({ body: '', ended: false }), 'GET');
    assert.throws(() => p.end(), /closed before a response/);
    assert.equal(p.received, false);
    const { parser } = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    assert.throws(() => parser.end(), /mid-message/);
  });

  test('ambiguous or malformed responses are refused', () => {
    const bad = [
      'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\n: novalue\r\nContent-Length: 0\r\n\r\n',
      'HTTP/2 200\r\n\r\n',
      'HTTP/1.1 20 OK\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad\nHeader: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n',
    ];
    for (const raw of bad) assert.throws(() => parseResponse(raw), ProtocolError, JSON.stringify(raw));
  });

  test('identical repeated Content-Length values are accepted', () => {
    const { seen } = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab');
    assert.equal(seen.body, 'ab');
  });

  test('bytes after a complete response, or without a request, are refused', () => {
    assert.throws(() => parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA'), /data without a request/);
    const idle = new Http1Parser('response');
    assert.throws(() => idle.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), ProtocolError);
  });

  test('a head larger than 64 KiB is refused', () => {
    assert.throws(() => parseResponse('HTTP/1.1 200 OK\r\nX-Big: ' + 'a'.repeat(70_000) + '\r\n\r\n', 'GET', 1000), /head too large/);
  });
});

describe('Http1Parser, requests', () => {
  interface Req {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
    keepAlive: boolean;
  }
  function parseRequests(raw: string, step = raw.length): Req[] {
    const out: Req[] = [];
    let current: Req | null = null;
    const parser: Http1Parser = new Http1Parser('request', {
      onRequest(method, url, headers) {
        current = { method, url, headers: { ...headers }, body: '', keepAlive: parser.keepAlive };
      },
      onBody(chunk, last) {
        if (chunk !== null) current!.body += chunk.toString('latin1');
        if (last) out.push(current!);
      },
    } satisfies RequestSink);
    const bytes = Buffer.from(raw, 'latin1');
    for (let i = 0; i < bytes.length; i += step) parser.execute(bytes.subarray(i, i + step));
    return out;
  }

  const PIPELINE =
    'POST /api/routes/a HTTP/1.1\r\nHost: x\r\nAuthorization: token t\r\nContent-Length: 4\r\n\r\n{"a"' +
    'GET /api/routes HTTP/1.1\r\nHost: x\r\n\r\n' +
    'POST /api/routes/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n';

  test('pipelined requests come out in order, at every split point', () => {
    for (let step = 1; step <= PIPELINE.length; step += 7) {
      const reqs = parseRequests(PIPELINE, step);
      assert.deepEqual(
        reqs.map((r) => [r.method, r.url, r.body, r.keepAlive]),
        [
          ['POST', '/api/routes/a', '{"a"', true],
          ['GET', '/api/routes', '', true],
          ['POST', '/api/routes/b', 'abc', false],
        ],
        `step ${step}`,
      );
      assert.equal(reqs[0]!.headers.authorization, 'token t', 'names are lower-case');
    }
  });

  test('HTTP/1.0 keeps the connection only when asked', () => {
    assert.equal(parseRequests('GET / HTTP/1.0\r\n\r\n')[0]!.keepAlive, false);
    assert.equal(parseRequests('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')[0]!.keepAlive, true);
  });

  test('request smuggling shapes and malformed lines are refused', () => {
    for (const raw of [
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      'GET /a b HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      'GET /\r\n\r\n',
    ]) {
      assert.throws(() => parseRequests(raw), ProtocolError, JSON.stringify(raw));
    }
  });

  test('a connection closed between requests is fine, in the middle is not', () => {
    const p = new Http1Parser('request', { onRequest() {}, onBody() {} });
    p.execute(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    p.end();
    p.execute(Buffer.from('POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab'));
    assert.throws(() => p.end(), ProtocolError);
  });

  test('stop() ignores whatever follows', () => {
    let count = 0;
    const p: Http1Parser = new Http1Parser('request', {
      onRequest() {
        count++;
        p.stop();
      },
      onBody() {},
    });
    p.execute(Buffer.from('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'));
    assert.equal(count, 1);
  });
});
