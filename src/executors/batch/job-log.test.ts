import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJobFile, readJobLog } from './job-log.js';

async function all(it: AsyncIterable<Buffer>): Promise<string> {
  let s = '';
  for await (const b of it) s += b.toString();
  return s;
}

test('job files: a job of a user owns its directory, so symlinks and FIFOs are never read for it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'highrate-job-log-'));
  try {
    writeFileSync(join(dir, 'hub-secret'), 'not for the user\n');
    writeFileSync(join(dir, 'run-main.log'), 'line 1\nline 2\n');
    writeFileSync(join(dir, 'run-main.status'), '3\n');
    symlinkSync(join(dir, 'hub-secret'), join(dir, 'run-evil.log'));
    symlinkSync(join(dir, 'hub-secret'), join(dir, 'run-evil.status'));
    execFileSync('mkfifo', [join(dir, 'run-fifo.status'), join(dir, 'run-fifo.log')]);

    assert.equal(readJobFile(join(dir, 'run-main.status'))?.text, '3\n');
    assert.equal(readJobFile(join(dir, 'run-evil.status')), null);
    assert.equal(readJobFile(join(dir, 'run-fifo.status')), null, 'a FIFO is refused without blocking');
    assert.equal(readJobFile(join(dir, 'missing')), null);

    assert.equal(await all(readJobLog(join(dir, 'run-main.log'), { Tail: 1 }, () => true)), 'line 2\n');
    await assert.rejects(all(readJobLog(join(dir, 'run-evil.log'), {}, () => true)), /is a symbolic link/);
    await assert.rejects(all(readJobLog(join(dir, 'run-fifo.log'), {}, () => true)), /is not a regular file/);
    assert.equal(await all(readJobLog(join(dir, 'missing.log'), {}, () => true)), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
