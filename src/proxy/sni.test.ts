import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { parseClientHello } from './sni.js';
import { SniRouter } from './sni-router.js';

/** The ClientHello node's TLS client sends for `servername`, captured off the wire. */
function captureHello(servername?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
        srv.close();
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
      c.on('error', () => undefined);
    });
    srv.on('error', reject);
  });
}

/** Splits one TLS record into records of at most `size` payload bytes (RFC 8446 §5.1 allows it). */
function fragment(hello: Buffer, size: number): Buffer {
  const payload = hello.subarray(5);
  const parts: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    const chunk = payload.subarray(i, i + size);
    const head = Buffer.from([22, 3, 1, 0, 0]);
    head.writeUInt16BE(chunk.length, 3);
    parts.push(head, chunk);
  }
  return Buffer.concat(parts);
}

describe('parseClientHello', () => {
  test('reads the server name of a real ClientHello', async () => {
    const hello = await captureHello('daskgateway-0123abcd');
    assert.deepEqual(parseClientHello(hello), { kind: 'hello', serverName: 'daskgateway-0123abcd' });
  });

  test('a hello without SNI has no name', async () => {
    // node sends no SNI for an IP address
    assert.deepEqual(parseClientHello(await captureHello()), { kind: 'hello', serverName: null });
  });

  test('asks for more bytes until the hello is complete, at any cut', async () => {
    const hello = await captureHello('daskgateway-x');
    for (const cut of [0, 1, 4, 5, 6, 40, hello.length - 1]) assert.deepEqual(parseClientHello(hello.subarray(0, cut)), { kind: 'incomplete' }, `cut ${cut}`);
  });

  test('reassembles a hello fragmented over several records', async () => {
    const hello = await captureHello('daskgateway-fragmented');
    const split = fragment(hello, 50);
    assert.deepEqual(parseClientHello(split), { kind: 'hello', serverName: 'daskgateway-fragmented' });
    assert.deepEqual(parseClientHello(split.subarray(0, 120)), { kind: 'incomplete' });
  });

  test('refuses what is not a TLS ClientHello', () => {
    assert.deepEqual(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), { kind: 'invalid', reason: 'not a TLS handshake' });
    assert.deepEqual(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])), { kind: 'invalid', reason: 'first handshake message is not a ClientHello' });
    assert.deepEqual(parseClientHello(Buffer.from([22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff])), { kind: 'invalid', reason: 'ClientHello too large' });
    assert.deepEqual(parseClientHello(Buffer.from([22, 3, 1, 0, 0])), { kind: 'invalid', reason: 'empty handshake record' });
  });
});

describe('SniRouter', () => {
  const closers: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  test('pipes a TLS connection to the route of its name, untouched, and refuses unknown names', async () => {
    // A plain TCP echo stands in for a scheduler: the router must not care what the bytes are.
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => echo.close(() => r())));
    const router = new SniRouter();
    const port = await router.listen(0, '127.0.0.1');
    closers.push(() => router.close());
    router.set('abc', { host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
    const hello = await captureHello('daskgateway-abc');

    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(Buffer.concat([hello, Buffer.from('after the hello')])));
      const got: Buffer[] = [];
      c.on('data', (d) => {
        got.push(d);
        if (Buffer.concat(got).length >= hello.length + 15) {
          c.destroy();
          resolve(Buffer.concat(got));
        }
      });
      c.on('error', reject);
    });
    assert.deepEqual(echoed, Buffer.concat([hello, Buffer.from('after the hello')]));
    assert.equal(router.routed, 1);

    const unknown = await captureHello('daskgateway-nope');
    const closed = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(unknown));
      c.on('data', () => resolve(false));
      c.on('close', () => resolve(true));
      c.on('error', () => undefined);
    });
    assert.equal(closed, true);
    assert.equal(router.refused, 1);

    // Deleting a route cuts the connections it carries.
    const open = net.connect(port, '127.0.0.1', () => open.write(hello));
    open.on('error', () => undefined);
    await new Promise((r) => open.once('data', r));
    assert.equal(router.connections('abc'), 1);
    const cut = new Promise((r) => open.once('close', r));
    router.delete('abc');
    await cut;
    assert.equal(router.connections('abc'), 0);
  });
});
