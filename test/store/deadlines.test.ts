/**
 * Hub → store deadlines (issue 14): PostgreSQL sessions carry statement_timeout (the server
 * cancels a runaway statement), SQLite waits for a lock at most busy_timeout. Real servers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Kysely, sql } from 'kysely';
import { openDialect, parseStoreUrl } from '../../src/store/connect.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pgServer: TestPostgres;
let dir: string;
before(async () => {
  pgServer = await startPostgres();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-store-deadlines-'));
});
after(async () => {
  await pgServer?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('PostgreSQL: every pooled session has statement_timeout 60 s', async () => {
  const db = new Kysely<Record<string, never>>({ dialect: (await openDialect(parseStoreUrl(pgServer.url))).dialect });
  try {
    const shown = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(db);
    assert.equal(shown.rows[0]!.statement_timeout, '1min');
  } finally {
    await db.destroy();
  }
});

test('SQLite: a lock is waited for at most 5 s (busy_timeout)', async () => {
  const db = new Kysely<Record<string, never>>({ dialect: (await openDialect(parseStoreUrl(`sqlite://${path.join(dir, 'x.sqlite')}`))).dialect });
  try {
    const shown = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
    assert.equal(shown.rows[0]!.timeout, 5000);
  } finally {
    await db.destroy();
  }
});
