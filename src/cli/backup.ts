import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fail } from '../errors/catalogue.js';
import { loadConfigFile } from '../config/load.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, describeFile, writeArchive, type ArchivedFile, type ArchivedStore, type Manifest } from '../store/backup-archive.js';
import { humanBytes, isSqliteSideFile, isTemporary, LEFT_OUT, SECRET_DIRS, SECRET_FILES } from '../store/backup-layout.js';
import { exportPostgres } from '../store/backup-postgres.js';
import { backupSqlite } from '../store/backup-sqlite.js';
import { parseStoreUrl } from '../store/connect.js';
import { isStorageFull } from '../store/db-errors.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';

const HELP = `
Usage: highrate backup --out FILE [options]

Writes the platform's whole state into one archive (a gzip'd tar, mode 0600), while the hub runs:
  - the store: users, groups, roles, tokens (hashes), servers, clusters (with their TLS pairs),
    OAuth clients, audit log. SQLite: an online copy through SQLite's backup API; PostgreSQL:
    every table read in one REPEATABLE READ snapshot (no pg_dump needed);
  - the embedded identity provider: its signing keys, cookie keys and accounts (idp/);
  - the hub's secrets (secrets/: the proxy's token, the IdP client secret), and the embedded
    storage server's TLS pair (xrootd/etc/) when there is one;
  - the config file.
NOT included: users' home directories (user data: back them up with the facility's normal
backups), pod state and logs (the hub finds pods that still run, or shows their servers as
stopped), log files. Files the config names outside the data directory (e.g. an OIDC client
secret file) are listed but not copied.
The archive holds secrets: keep it like the data directory. Restore with \`highrate restore\`.

Options:
  --out FILE        the archive to write (must not exist)
  --data-dir DIR    state directory (default ./highrate-data)
  --config FILE     YAML config (default <data-dir>/config.yaml if present)
  -h, --help        this help
`;

/** Keys of config values that name files (tokenFile, caFile, clientSecretFile, …). */
function referencedFiles(raw: unknown, out: string[] = []): string[] {
  if (Array.isArray(raw)) for (const v of raw) referencedFiles(v, out);
  else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) {
      if (/File$/.test(k) && typeof v === 'string') out.push(path.resolve(v));
      else referencedFiles(v, out);
    }
  }
  return out;
}

export async function backup(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...DEPLOYMENT_FLAGS, out: { type: 'string' } }, strict: true });
  if (values.help) return usage(HELP);
  if (!values.out) {
    process.stderr.write('highrate backup: --out FILE is required.\n');
    usage(HELP);
    return 2;
  }
  const started = Date.now();
  const say = (line: string) => process.stderr.write(`backup: ${line}\n`);
  const { config, dataDir, configFile } = resolveConfig(values);
  const out = path.resolve(values.out);
  if (fs.existsSync(out)) throw fail('CONFLICT', `${out} exists; choose a new file name (a backup never overwrites another).`);
  if (!fs.existsSync(path.dirname(out))) throw fail('BAD_REQUEST', `The directory of ${out} does not exist.`);
  if (!fs.existsSync(dataDir)) throw fail('BAD_REQUEST', `No data directory at ${dataDir}; nothing to back up.`);

  // Staged beside the archive (0700), not in /tmp: the store may be large, and it holds secrets.
  const stage = fs.mkdtempSync(path.join(path.dirname(out), '.highrate-backup-'));
  try {
    const files: ArchivedFile[] = [];
    const target = parseStoreUrl(config.hub.db ?? `sqlite://${path.join(dataDir, 'highrate.sqlite')}`);
    let store: ArchivedStore;
    fs.mkdirSync(path.join(stage, 'store'), { mode: 0o700 });
    if (target.backend === 'sqlite') {
      if (target.file === ':memory:') throw fail('BAD_REQUEST', 'The store is in memory (sqlite::memory:); there is nothing to back up.');
      say(`store: online copy of ${target.file}`);
      let lastReport = Date.now();
      const copy = await backupSqlite(target.file, path.join(stage, 'store', 'highrate.sqlite'), function reportStore(done) {
        if (Date.now() - lastReport > 1000) {
          lastReport = Date.now();
          say(`store: ${Math.round(done * 100)}%`);
        }
      });
      if (copy.schemaVersion === null) throw fail('BAD_REQUEST', `${target.file} is not a highrate store (no schema_version table).`);
      say(`store: ${humanBytes(copy.bytes)}, schema version ${copy.schemaVersion}, integrity ok`);
      store = { backend: 'sqlite', schemaVersion: copy.schemaVersion, file: 'store/highrate.sqlite' };
      files.push(await describeFile(stage, 'store/highrate.sqlite'));
    } else {
      say('store: PostgreSQL export in one REPEATABLE READ snapshot');
      fs.mkdirSync(path.join(stage, 'store', 'postgres'), { mode: 0o700 });
      const exp = await exportPostgres(target.url, path.join(stage, 'store', 'postgres'), (line) => say(`store: ${line}`));
      store = { backend: 'postgres', schemaVersion: exp.schemaVersion, method: 'repeatable-read-export', tables: exp.tables.map((t) => ({ ...t, file: `store/postgres/${t.file}` })) };
      for (const t of store.tables) files.push(await describeFile(stage, t.file));
    }

    for (const dir of SECRET_DIRS) {
      const src = path.join(dataDir, dir);
      if (!fs.existsSync(src)) continue;
      for (const rel of listFiles(src)) {
        const name = path.basename(rel);
        if (isSqliteSideFile(name) || isTemporary(name)) continue;
        const from = path.join(src, rel);
        const to = path.join(stage, 'data', dir, rel);
        fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
        if (name.endsWith('.sqlite')) {
          say(`${dir}/${rel}: online copy`);
          await backupSqlite(from, to);
        } else {
          fs.copyFileSync(from, to);
          fs.chmodSync(to, 0o600);
        }
        files.push(await describeFile(stage, `data/${dir}/${rel}`, from));
      }
    }
    for (const rel of SECRET_FILES) {
      const from = path.join(dataDir, rel);
      if (!fs.existsSync(from) || !fs.statSync(from).isFile()) continue;
      const to = path.join(stage, 'data', rel);
      fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
      fs.copyFileSync(from, to);
      fs.chmodSync(to, 0o600);
      files.push(await describeFile(stage, `data/${rel}`, from));
    }
    say(`secrets and keys: ${files.filter((f) => f.path.startsWith('data/')).length} files (${SECRET_DIRS.join('/, ')}/${files.some((f) => f.path.startsWith('data/xrootd/')) ? ', xrootd/etc/' : ''})`);

    let raw: unknown = {};
    if (configFile) {
      fs.mkdirSync(path.join(stage, 'data'), { recursive: true, mode: 0o700 });
      fs.copyFileSync(configFile, path.join(stage, 'data', 'config.yaml'));
      fs.chmodSync(path.join(stage, 'data', 'config.yaml'), 0o600);
      files.push({ ...(await describeFile(stage, 'data/config.yaml')), mode: 0o600 });
      raw = loadConfigFile(configFile);
      say(`config: ${configFile}`);
    } else {
      say('config: none (the embedded defaults)');
    }
    const referenced = [...new Set(referencedFiles(raw))];
    for (const f of referenced) say(`not included: ${f} (named by the config; back it up with the config's other files)`);

    const notIncluded: string[] = [];
    for (const entry of fs.readdirSync(dataDir).sort()) {
      const known = entry === 'config.yaml' || (SECRET_DIRS as readonly string[]).includes(entry) || entry === 'highrate.sqlite' || (entry.startsWith('highrate.sqlite') && isSqliteSideFile(entry));
      if (known) continue;
      const why = LEFT_OUT[entry] ?? 'not part of the platform\'s state as this highrate knows it';
      notIncluded.push(`${entry}: ${why}`);
      say(`not included: ${entry}/ — ${why}`);
    }

    const manifest: Manifest = {
      format: ARCHIVE_FORMAT, version: ARCHIVE_VERSION, created: new Date().toISOString(), highrate: packageVersion(),
      store, files, notIncluded, referencedFiles: referenced,
    };
    say('writing the archive');
    await writeArchive(stage, manifest, out);
    const size = fs.statSync(out).size;
    say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(`Backup written to ${out} (${humanBytes(size)}, ${files.length} files, store: ${store.backend} schema ${store.schemaVersion}).\n`);
    return 0;
  } catch (err) {
    if (isStorageFull(err) || /No space left on device|Wrote only \d+ of \d+ bytes/.test(String((err as Error)?.message))) {
      throw fail('STORAGE_FULL', `No space left for the backup in ${path.dirname(out)} (the archive is staged and written there); free space or choose another --out. Nothing was written.`, { cause: err });
    }
    throw err;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** highrate's version, from package.json (importing the hub for it would load every part of it). */
function packageVersion(): string {
  try {
    const file = fileURLToPath(new URL('../../../package.json', import.meta.url));
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Regular files under `dir`, relative, symlinks skipped (a secret is never a link to elsewhere). */
function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? path.join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}
