import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { FrameCursor, WsTunnel } from './ws-keepalive.js';

/** A frame header + payload: `len` payload bytes, masked or not. */
function frame(len: number, masked: boolean): Buffer {
  const head: number[] = [0x82];
  const m = masked ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (masked) head.push(1, 2, 3, 4);
  return Buffer.concat([Buffer.from(head), Buffer.alloc(len, 7)]);
}

test('FrameCursor finds frame boundaries whatever the chunking (7-bit, 16-bit, 64-bit lengths, masked or not)', () => {
  const stream = Buffer.concat([frame(0, false), frame(5, true), frame(300, false), frame(70_000, true), frame(125, false)]);
  const ends = new Set<number>();
  let at = 0;
  for (const f of [frame(0, false), frame(5, true), frame(300, false), frame(70_000, true), frame(125, false)]) ends.add((at += f.length));
  for (const size of [1, 2, 3, 7, 13, 1000, stream.length]) {
    const cursor = new FrameCursor();
    for (let off = 0; off < stream.length; off += size) {
      const end = Math.min(off + size, stream.length);
      cursor.feed(stream.subarray(off, end));
      assert.equal(cursor.atBoundary, ends.has(end), `chunk size ${size}, after byte ${end}`);
    }
    assert.equal(cursor.atBoundary, true);
  }
});

test('WsTunnel: frames are followed only after the 101 head; a refusal is never pinged into', () => {
  const now = Date.now();
  const client = new PassThrough();
  const upstream = new PassThrough();
  const t = new WsTunnel(client, upstream, '/r', now);
  const head = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
  // Head and the first half of a frame in one chunk, split inside the CRLFCRLF.
  const first = Buffer.concat([head, frame(10, false).subarray(0, 4)]);
  t.fromTarget(first.subarray(0, head.length - 2), now);
  assert.equal(t.upgraded, false);
  t.fromTarget(first.subarray(head.length - 2), now);
  assert.equal(t.upgraded, true);
  // Silent for half the interval, but mid-frame towards the client: no ping yet.
  const written: Buffer[] = [];
  client.on('data', (d: Buffer) => written.push(d));
  assert.equal(t.check(now + 600, 1000), true);
  t.fromTarget(frame(10, false).subarray(4), now + 600);
  t.fromClient(Buffer.alloc(0), now + 600);
  assert.ok(!written.some((b) => b[0] === 0x89), 'no ping inside a frame');
  assert.equal(t.check(now + 1200, 1000), true);
  assert.ok(written.some((b) => b[0] === 0x89), 'pinged the client once between frames');

  const refused = new WsTunnel(new PassThrough(), new PassThrough(), '/r', now);
  refused.fromTarget(Buffer.from('HTTP/1.1 403 Forbidden\r\n\r\n'), now);
  assert.equal(refused.upgraded, false);
});

test('WsTunnel: a peer silent for the whole interval ends the tunnel', () => {
  const now = Date.now();
  const client = new PassThrough();
  const upstream = new PassThrough();
  const t = new WsTunnel(client, upstream, '/r', now);
  t.fromTarget(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n'), now);
  t.fromTarget(Buffer.alloc(0), now + 900);
  assert.equal(t.check(now + 999, 1000), true);
  assert.equal(t.check(now + 1000, 1000), false, 'the client was last heard 1000 ms ago');
  assert.equal(client.destroyed, true);
});
