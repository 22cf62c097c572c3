/**
 * The store on both backends: the behaviour suite (behaviour.ts) against SQLite in a temp file
 * and against a real PostgreSQL server started for this file, then what is backend-specific
 * (URL parsing, SQLite pragmas and file mode, unreachable PostgreSQL).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { log } from '../../src/log.js';
import { createStore, parseStoreUrl } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { behaviourSuite } from './behaviour.js';

let tmp = '';
let pgServer: TestPostgres | undefined;
let counter = 0;

before(async () => {
  log.setLevel('warn'); // one "schema migrated" line per fresh database is noise here
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-store-test-'));
  pgServer = await startPostgres();
});

after(async () => {
  await pgServer?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('store on SQLite', () => {
  behaviourSuite({
    name: 'sqlite',
    async freshUrl() {
      return `sqlite://${path.join(tmp, `db${++counter}`, 'store.sqlite')}`;
    },
    async rawQuery(url, text) {
      const db = new BetterSqlite3(parseStoreFile(url));
      try {
        const st = db.prepare(text);
        return st.reader ? (st.all() as Record<string, unknown>[]) : (st.run(), []);
      } finally {
        db.close();
      }
    },
  });
});

describe('store on PostgreSQL', () => {
  behaviourSuite({
    name: 'postgres',
    freshUrl: () => pgServer!.createDatabase(`t${++counter}`),
    async rawQuery(url, text) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    },
  });
});

function parseStoreFile(url: string): string {
  const t = parseStoreUrl(url);
  if (t.backend !== 'sqlite') throw new Error('not sqlite');
  return t.file;
}

describe('store URLs and backend specifics', () => {
  test('unknown, relative or malformed URLs are CONFIG_INVALID with a clear message', async () => {
    await assert.rejects(createStore('mysql://root@localhost/db'), {
      name: 'HighrateError', code: 'CONFIG_INVALID', status: 400,
      message: 'Unknown store URL scheme "mysql:"; use sqlite:///absolute/path.sqlite, sqlite::memory: or postgres://user@host:port/database.',
    });
    await assert.rejects(createStore('/var/lib/highrate.sqlite'), {
      code: 'CONFIG_INVALID',
      message: 'The store URL has no scheme; use sqlite:///absolute/path.sqlite, sqlite::memory: or postgres://user@host:port/database.',
    });
    await assert.rejects(createStore('sqlite://relative.sqlite'), {
      code: 'CONFIG_INVALID',
      message: 'Invalid SQLite store URL "sqlite://relative.sqlite": the path must be absolute (sqlite:///absolute/path.sqlite) or use sqlite::memory:.',
    });
    await assert.rejects(createStore('postgres://u:p@[bad/db'), {
      code: 'CONFIG_INVALID', message: 'Invalid PostgreSQL store URL: it does not parse as a URL.',
    });
    assert.deepEqual(parseStoreUrl('sqlite:///a/b%20c.sqlite'), { backend: 'sqlite', file: '/a/b c.sqlite' });
    assert.deepEqual(parseStoreUrl('postgresql://h/db'), { backend: 'postgres', url: 'postgresql://h/db' });
  });

  test('sqlite::memory: works and keeps nothing', async () => {
    const a = await createStore('sqlite::memory:');
    await a.createUsers(['mem']);
    assert.equal((await a.getUser('mem'))?.name, 'mem');
    await a.close();
    const b = await createStore('sqlite::memory:');
    assert.equal(await b.getUser('mem'), null);
    await b.close();
  });

  test('a SQLite file is created 0600 (with its directory) and in WAL mode', async () => {
    const file = path.join(tmp, 'nested', 'dir', 'hub.sqlite');
    const store = await createStore(`sqlite://${file}`);
    await store.close();
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const db = new BetterSqlite3(file);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  test('a file that is not a database is CONFIG_INVALID', async () => {
    const file = path.join(tmp, 'junk.sqlite');
    fs.writeFileSync(file, 'this is not a database file, just text that is long enough to have a header'.repeat(20));
    await assert.rejects(createStore(`sqlite://${file}`), { code: 'CONFIG_INVALID', message: `Cannot use the SQLite store at ${file}.` });
  });

  test('an unreachable PostgreSQL is UPSTREAM_UNAVAILABLE without echoing the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    await assert.rejects(createStore(`postgres://someone:hunter2@127.0.0.1:${port}/db`), (err: Error & { code?: string; detail?: string }) => {
      assert.equal(err.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(err.message, 'Cannot use the PostgreSQL store.');
      assert.match(err.detail ?? '', /ECONNREFUSED/);
      assert.doesNotMatch(`${err.message} ${err.detail}`, /hunter2/);
      return true;
    });
  });
});
