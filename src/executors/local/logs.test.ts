import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerLogOpts } from '../types.js';
import { readLog } from './logs.js';

const root = mkdtempSync(join(tmpdir(), 'highrate-logs-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function collect(path: string, opts: ContainerLogOpts, done = () => true, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of readLog(path, opts, done, signal)) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

describe('readLog', () => {
  const file = join(root, 'five.log');
  writeFileSync(file, 'line 1\nline 2\nline 3\nline 4\nline 5\n');

  test('whole log, Tail in lines, Bytes as a limit from the start (k8s limitBytes)', async () => {
    assert.equal(await collect(file, {}), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(await collect(file, { Tail: 2 }), 'line 4\nline 5\n');
    assert.equal(await collect(file, { Tail: 1 }), 'line 5\n');
    assert.equal(await collect(file, { Tail: 5 }), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(await collect(file, { Tail: 50 }), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(await collect(file, { Tail: 0 }), 'line 1\nline 2\nline 3\nline 4\nline 5\n'); // 0 = unset (Go zero value)
    assert.equal(await collect(file, { Bytes: 10 }), 'line 1\nlin');
    assert.equal(await collect(file, { Bytes: 1000 }), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(await collect(file, { Tail: 2, Bytes: 3 }), 'lin');
  });

  test('a last line without newline counts as a line; long logs tail across read chunks', async () => {
    const partial = join(root, 'partial.log');
    writeFileSync(partial, 'a\nb\nc');
    assert.equal(await collect(partial, { Tail: 2 }), 'b\nc');
    const big = join(root, 'big.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    writeFileSync(big, lines.join('\n') + '\n');
    assert.equal(await collect(big, { Tail: 3000 }), lines.slice(-3000).join('\n') + '\n');
    assert.equal((await collect(big, {})).length, lines.join('\n').length + 1);
    const empty = join(root, 'empty.log');
    writeFileSync(empty, '');
    assert.equal(await collect(empty, { Tail: 3 }), '');
  });

  test('SinceSeconds/SinceTime: the file counts as written at its mtime', async () => {
    const old = join(root, 'old.log');
    writeFileSync(old, 'old\n');
    const hourAgo = (Date.now() - 3600_000) / 1000;
    utimesSync(old, hourAgo, hourAgo);
    assert.equal(await collect(old, { SinceSeconds: 60 }), '');
    assert.equal(await collect(old, { SinceSeconds: 7200 }), 'old\n');
    assert.equal(await collect(old, { SinceTime: new Date(Date.now() - 60_000).toISOString() }), '');
    assert.equal(await collect(old, { SinceTime: '0001-01-01T00:00:00Z' }), 'old\n'); // Go's zero time: unset
  });

  test('a missing log is empty; followed, it is waited for', async () => {
    assert.equal(await collect(join(root, 'missing.log'), {}), '');
    const later = join(root, 'later.log');
    let ended = false;
    setTimeout(() => writeFileSync(later, 'hello\n'), 150);
    setTimeout(() => { ended = true; }, 300);
    assert.equal(await collect(later, { Follow: true }, () => ended), 'hello\n');
  });

  test('Follow streams what is appended until done() says the container ended, then reads the rest', async () => {
    const f = join(root, 'follow.log');
    writeFileSync(f, 'a\n');
    let ended = false;
    const got: string[] = [];
    const t0 = Date.now();
    setTimeout(() => appendFileSync(f, 'b\n'), 150);
    setTimeout(() => { appendFileSync(f, 'c\n'); ended = true; }, 400);
    for await (const c of readLog(f, { Follow: true }, () => ended)) got.push(c.toString());
    assert.equal(got.join(''), 'a\nb\nc\n');
    assert.ok(got.length >= 2, 'arrives in pieces, as written');
    assert.ok(Date.now() - t0 < 2000);
  });

  test('Follow with Bytes stops at the limit; an aborted signal ends the stream', async () => {
    const f = join(root, 'endless.log');
    writeFileSync(f, '0123456789');
    assert.equal(await collect(f, { Follow: true, Bytes: 4 }, () => false), '0123');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    assert.equal(await collect(f, { Follow: true }, () => false, ac.signal), '0123456789');
    assert.ok(Date.now() - t0 < 1000);
  });
});
