/**
 * Backup and restore of a PostgreSQL store as one NDJSON file per table, read in one REPEATABLE
 * READ, READ ONLY transaction: PostgreSQL's MVCC gives that transaction one snapshot of the whole
 * database (the same guarantee `pg_dump` relies on), so the hub keeps writing while it runs and the
 * export is one consistent state.
 *
 * Why not `pg_dump`: it refuses servers of a newer major version than itself (a site's PostgreSQL
 * 16 with Debian 12's client 15 could not be backed up), it is one more package to install, and its
 * DDL carries owners and grants that fail on a database owned by another role. This export needs
 * only the store's own URL and rights, and the restore builds the schema with the store's own
 * migrations, so what is restored is exactly the schema this highrate expects.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { fail } from '../errors/catalogue.js';
import { transaction } from './aggregate.js';
import { applyMigrations, SCHEMA_VERSION } from './migrations.js';
import type { Database } from './schema.js';

/** Rows fetched per cursor round trip, and inserted per statement on restore. */
const BATCH = 500;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Tables of the store's schema (the connection's current schema), by name. */
async function listTables(client: pg.Client | pg.PoolClient): Promise<string[]> {
  const r = await client.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name",
  );
  return r.rows.map((row) => row.table_name);
}

/**
 * Writes every table of the database at `url` into `dir` (`<table>.ndjson`: a header line
 * `{"table", "columns"}`, then one JSON array per row). Returns the tables with their row counts
 * and the schema version.
 */
export async function exportPostgres(url: string, dir: string, onProgress: (line: string) => void = () => {}): Promise<{ schemaVersion: number; tables: Array<{ name: string; rows: number; file: string }> }> {
  const client = new pg.Client({ connectionString: url });
  // int8 (bigserial ids, uids) arrive as strings: kept so, they survive JSON exactly.
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const tables = await listTables(client);
    if (!tables.includes('schema_version')) throw fail('BAD_REQUEST', 'The PostgreSQL database has no highrate store in it (no schema_version table).');
    const v = await client.query<{ v: number | null }>('select max(version) as v from schema_version');
    const schemaVersion = Number(v.rows[0]?.v ?? 0);
    const out: Array<{ name: string; rows: number; file: string }> = [];
    for (const table of tables) {
      const file = path.join(dir, `${table}.ndjson`);
      const fd = fs.openSync(file, 'wx', 0o600);
      let rows = 0;
      try {
        await client.query(`declare backup_rows no scroll cursor for select * from ${quoteIdent(table)}`);
        let columns: string[] | undefined;
        for (;;) {
          const r = await client.query({ text: `fetch ${BATCH} from backup_rows`, rowMode: 'array' });
          if (!columns) {
            columns = r.fields.map((f) => f.name);
            fs.writeSync(fd, JSON.stringify({ table, columns }) + '\n');
          }
          if (r.rows.length === 0) break;
          fs.writeSync(fd, r.rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
          rows += r.rows.length;
        }
        await client.query('close backup_rows');
      } finally {
        fs.closeSync(fd);
      }
      out.push({ name: table, rows, file: `${table}.ndjson` });
      onProgress(`${table}: ${rows} rows`);
    }
    await client.query('commit');
    return { schemaVersion, tables: out };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Tables in the database at `url` (restore refuses a database that has any unless forced). */
export async function postgresTables(url: string): Promise<{ tables: string[]; otherConnections: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await listTables(client);
    const others = await client.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    return { tables, otherConnections: Number(others.rows[0]?.n ?? 0) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Restores an export (table files relative to `dir`) into the database at `url`, all in one transaction (a failure leaves the
 * database as it was): with `replace`, first drops the store's tables that exist; then creates the
 * schema with the store's migrations, inserts every table's rows parents first (foreign keys),
 * puts `schema_version` back as it was, and moves each serial sequence past the restored ids.
 */
export async function importPostgres(url: string, dir: string, store: { schemaVersion: number; tables: Array<{ name: string; rows: number; file: string }> }, opts: { replace: boolean; onProgress?: (line: string) => void }): Promise<void> {
  if (store.schemaVersion !== SCHEMA_VERSION) {
    throw fail('BAD_REQUEST', `The backup's store schema is version ${store.schemaVersion}; this highrate writes version ${SCHEMA_VERSION}. Restore it with the highrate version that made it, then upgrade (the hub migrates the store at its first start).`);
  }
  const progress = opts.onProgress ?? (() => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  try {
    await transaction(db, 'postgres', 'write', async function restoreInTransaction(tx) {
      // The same lock migrations take: a hub starting now waits for the restore, then finds it complete.
      await sql`select pg_advisory_xact_lock(${0x68726174})`.execute(tx);
      if (opts.replace) {
        const existing = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(tx);
        const ours = new Set([...store.tables.map((t) => t.name), 'schema_version']);
        for (const { table_name: t } of existing.rows) if (ours.has(t)) await sql.raw(`drop table ${quoteIdent(t)} cascade`).execute(tx);
      }
      await applyMigrations(tx, 'postgres', new Date().toISOString());
      const created = new Set((await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(tx)).rows.map((r) => r.table_name));
      await sql.raw('delete from schema_version').execute(tx);
      const files = new Map(store.tables.map((x) => [x.name, path.join(dir, x.file)]));
      for (const t of await parentsFirst(tx, store.tables.map((x) => x.name))) {
        if (!created.has(t)) {
          progress(`${t}: skipped (not a table of this highrate's store)`);
          continue;
        }
        const n = await insertTable(tx, files.get(t)!, t);
        progress(`${t}: ${n} rows`);
      }
      await resetSequences(tx, [...created]);
    });
  } finally {
    await db.destroy();
  }
}

/** Orders tables so that every table comes after the tables its foreign keys reference. */
async function parentsFirst(tx: Kysely<Database>, tables: string[]): Promise<string[]> {
  const r = await sql<{ child: string; parent: string }>`
    select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where c.contype = 'f' and n.nspname = current_schema()`.execute(tx);
  const unquote = (s: string) => s.replace(/^"|"$/g, '').replace(/""/g, '"');
  const parents = new Map<string, Set<string>>();
  for (const { child, parent } of r.rows) {
    const set = parents.get(unquote(child)) ?? new Set<string>();
    if (unquote(parent) !== unquote(child)) set.add(unquote(parent));
    parents.set(unquote(child), set);
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = function visit(t: string): void {
    if (seen.has(t)) return;
    seen.add(t);
    for (const p of parents.get(t) ?? []) if (tables.includes(p)) visit(p);
    order.push(t);
  };
  for (const t of tables) visit(t);
  return order;
}

async function insertTable(tx: Kysely<Database>, file: string, table: string): Promise<number> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let columns: string[] | undefined;
  let batch: unknown[][] = [];
  let n = 0;
  const flush = async function flush(): Promise<void> {
    if (batch.length === 0) return;
    const values = batch.map((row) => Object.fromEntries(columns!.map((c, i) => [c, row[i]])));
    await (tx as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(table).values(values).execute();
    n += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    if (!line) continue;
    if (!columns) {
      columns = (JSON.parse(line) as { columns: string[] }).columns;
      continue;
    }
    batch.push(JSON.parse(line) as unknown[]);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return n;
}

/** Sets every serial column's sequence to the highest restored id, so new rows do not collide. */
async function resetSequences(tx: Kysely<Database>, tables: string[]): Promise<void> {
  const cols = await sql<{ table_name: string; column_name: string; seq: string }>`
    select table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) as seq
    from information_schema.columns where table_schema = current_schema()`.execute(tx);
  for (const c of cols.rows) {
    if (!c.seq || !tables.includes(c.table_name)) continue;
    await sql.raw(`select setval('${c.seq.replace(/'/g, "''")}', coalesce((select max(${quoteIdent(c.column_name)}) from ${quoteIdent(c.table_name)}), 1), (select count(*) > 0 from ${quoteIdent(c.table_name)}))`).execute(tx);
  }
}
