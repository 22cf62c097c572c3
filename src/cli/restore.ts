import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fail } from '../errors/catalogue.js';
import { unpackArchive, type Manifest } from '../store/backup-archive.js';
import { describeProcesses, hubAnswers, isEmptyDir, processesHolding } from '../store/backup-layout.js';
import { importPostgres, postgresTables } from '../store/backup-postgres.js';
import { inspectSqlite } from '../store/backup-sqlite.js';
import { parseStoreUrl, type StoreTarget } from '../store/connect.js';
import { isStorageFull } from '../store/db-errors.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { resolveConfig, usage } from './common.js';

const HELP = `
Usage: highrate restore --from FILE --data-dir DIR [options]

Restores an archive made by \`highrate backup\` into a data directory, then start the platform
there with \`highrate up --data-dir DIR\`: every user, group, role and token (tokens keep working),
the identity provider's keys and accounts, the hub's secrets and the config come back; servers
whose pods still run are re-attached, the others show as stopped. Home directories are not in
the archive (restore them from the facility's backups).

The whole archive is checked (manifest, SHA-256 of every file, database integrity) before
anything is written. The store goes where the config says: a SQLite file (default
DIR/highrate.sqlite), or the PostgreSQL database of hub.db.

Options:
  --from FILE       the archive
  --data-dir DIR    where to restore; must be empty or absent (default ./highrate-data)
  --config FILE     restore the store into the database this config names instead of the one of
                    the archived config (e.g. a new, empty PostgreSQL database); then start the
                    hub with the same --config
  --force           restore into a non-empty data directory, over an existing SQLite store, or
                    into a PostgreSQL database that already has the store's tables (they are
                    replaced); never while a hub runs on that data directory
  -h, --help        this help
`;

export async function restore(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: { 'data-dir': { type: 'string', default: './highrate-data' }, config: { type: 'string' }, from: { type: 'string' }, force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return usage(HELP);
  if (!values.from) {
    process.stderr.write('highrate restore: --from FILE is required.\n');
    usage(HELP);
    return 2;
  }
  const started = Date.now();
  const say = (line: string) => process.stderr.write(`restore: ${line}\n`);
  const dataDir = path.resolve(values['data-dir']!);
  const archive = path.resolve(values.from);
  const force = values.force === true;

  const running = await hubAnswers(dataDir);
  if (running) throw fail('CONFLICT', `A hub is running on ${dataDir} (it answers at ${running}); stop it before restoring.`);
  if (!isEmptyDir(dataDir) && !force) {
    throw fail('CONFLICT', `${dataDir} is not empty; restore into a new directory, or add --force to overwrite the state files in it (homes and pod state are kept).`);
  }

  // Unpacked beside the target (same file system: the files are then renamed into place).
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const stage = fs.mkdtempSync(path.join(path.dirname(dataDir), '.highrate-restore-'));
  try {
    say(`checking ${archive}`);
    const manifest = await unpackArchive(archive, stage);
    say(`archive ok: ${manifest.files.length} files, made ${manifest.created} by highrate ${manifest.highrate}`);
    if (manifest.store.schemaVersion > SCHEMA_VERSION) {
      throw fail('BAD_REQUEST', `The archive's store has schema version ${manifest.store.schemaVersion}, newer than this highrate understands (${SCHEMA_VERSION}); restore it with a newer highrate.`);
    }
    if (manifest.store.backend === 'sqlite') {
      const staged = inspectSqlite(path.join(stage, manifest.store.file));
      if (staged.schemaVersion !== manifest.store.schemaVersion) throw fail('BAD_REQUEST', 'The archive\'s store does not match its manifest (schema version).');
    }
    for (const f of manifest.files) {
      if (f.path.startsWith('data/') && f.path.endsWith('.sqlite')) inspectSqlite(path.join(stage, f.path));
    }

    // The store's destination: the config given here, else the archived one, else the default.
    const stagedConfig = path.join(stage, 'data', 'config.yaml');
    const { config } = resolveConfig({ 'data-dir': dataDir, config: values.config ?? (fs.existsSync(stagedConfig) ? stagedConfig : undefined) });
    const target = parseStoreUrl(config.hub.db ?? `sqlite://${path.join(dataDir, 'highrate.sqlite')}`);
    if (target.backend !== manifest.store.backend) {
      throw fail('BAD_REQUEST', `The archive holds a ${manifest.store.backend} store but the config names a ${target.backend} one; restore with a config whose hub.db is a ${manifest.store.backend} store.`);
    }
    await checkTarget(target, dataDir, force);

    // From here on, writes. The database first: it is the step that can fail (connections,
    // rights), and PostgreSQL's is one transaction; the files are then renamed into place.
    if (target.backend === 'postgres' && manifest.store.backend === 'postgres') {
      say('store: restoring into PostgreSQL (one transaction)');
      await importPostgres(target.url, stage, manifest.store, {
        replace: force, onProgress: (line) => say(`store: ${line}`),
      });
    }
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dataDir, 0o700);
    if (target.backend === 'sqlite' && manifest.store.backend === 'sqlite') {
      placeSqlite(path.join(stage, manifest.store.file), target.file);
      say(`store: ${target.file}`);
    }
    placeDataFiles(manifest, stage, dataDir);
    say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const withConfig = values.config ? ` --config ${path.resolve(values.config)}` : '';
    process.stdout.write(`Restored ${archive} into ${dataDir}. Start the platform with: highrate up --data-dir ${dataDir}${withConfig}\n`);
    return 0;
  } catch (err) {
    if (isStorageFull(err) || /No space left on device|Wrote only \d+ of \d+ bytes/.test(String((err as Error)?.message))) {
      throw fail('STORAGE_FULL', `No space left in ${path.dirname(dataDir)} (the archive is unpacked and checked there before it is moved into ${dataDir}); free space and run the restore again.`, { cause: err });
    }
    throw err;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Refuses a destination store in use or holding data (unless forced). */
async function checkTarget(target: StoreTarget, dataDir: string, force: boolean): Promise<void> {
  const idpDb = path.join(dataDir, 'idp', 'idp.sqlite');
  if (target.backend === 'sqlite') {
    if (target.file === ':memory:') throw fail('BAD_REQUEST', 'The config\'s store is in memory (sqlite::memory:); restore needs a file or a PostgreSQL database.');
    // A running hub always has its store open; that is the check (the IdP's database is open only
    // with the embedded login, and helpers of tests keep it open without running a hub).
    const holders = processesHolding([target.file]);
    if (holders.length > 0) throw fail('CONFLICT', `The store ${target.file} is open in process ${describeProcesses(holders)} (a running hub?); stop it before restoring.`);
    if (fs.existsSync(target.file) && fs.statSync(target.file).size > 0 && !force) {
      throw fail('CONFLICT', `A store already exists at ${target.file}; add --force to replace it.`);
    }
    return;
  }
  const holders = processesHolding([idpDb]);
  if (holders.length > 0) throw fail('CONFLICT', `The identity provider's database in ${dataDir} is open in process ${describeProcesses(holders)} (a running hub?); stop it before restoring.`);
  let found: { tables: string[]; otherConnections: number };
  try {
    found = await postgresTables(target.url);
  } catch (err) {
    throw fail('UPSTREAM_UNAVAILABLE', `Cannot connect to the PostgreSQL database of hub.db: ${(err as Error).message}`, { cause: err });
  }
  if (found.otherConnections > 0 && !force) {
    throw fail('CONFLICT', `${found.otherConnections} other connection(s) to the PostgreSQL database are open (a running hub?); stop them, or add --force.`);
  }
  if (found.tables.length > 0 && !force) {
    throw fail('CONFLICT', `The PostgreSQL database already has ${found.tables.length} table(s) (${found.tables.slice(0, 5).join(', ')}${found.tables.length > 5 ? ', …' : ''}); restore into an empty database, or add --force to replace the store's tables.`);
  }
}

/**
 * Puts a restored SQLite file in place. Any -wal/-shm beside the old file go first: SQLite would
 * replay a stale write-ahead log onto the new file and corrupt it.
 */
function placeSqlite(staged: string, dest: string): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  for (const side of ['-wal', '-shm', '-journal']) fs.rmSync(dest + side, { force: true });
  fs.chmodSync(staged, 0o600);
  moveInto(staged, dest);
}

/** Every `data/…` file of the archive to the same place under the data directory, 0600 in 0700 dirs. */
function placeDataFiles(manifest: Manifest, stage: string, dataDir: string): void {
  for (const f of manifest.files) {
    if (!f.path.startsWith('data/')) continue;
    const rel = f.path.slice('data/'.length);
    const dest = path.join(dataDir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
    if (dest.endsWith('.sqlite')) {
      placeSqlite(path.join(stage, f.path), dest);
      continue;
    }
    fs.chmodSync(path.join(stage, f.path), f.mode & 0o744);
    moveInto(path.join(stage, f.path), dest);
    // The owner comes back only for root (another user cannot give files away); the hub's own
    // files are root's, the storage server's key its service user's.
    if (f.uid !== undefined && f.gid !== undefined && process.getuid?.() === 0) fs.chownSync(dest, f.uid, f.gid);
  }
}

/** Rename (same file system), else copy: the stage is beside the data dir, a custom store path may not be. */
function moveInto(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const tmp = `${to}.partial-${process.pid}`;
    fs.copyFileSync(from, tmp);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, to);
  }
}
