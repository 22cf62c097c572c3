/**
 * The backup archive: a gzip'd tar (readable with any `tar -tzf`) holding `manifest.json` first,
 * then `store/…` (the database) and `data/…` (files restored into the data directory at the same
 * relative path). The manifest lists every file with its size and SHA-256, so a restore checks the
 * whole archive before it writes anything. Made and read with the system's `tar` (GNU tar on
 * Debian): it streams, so a large audit log never has to fit in memory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fail } from '../errors/catalogue.js';

/** Format name and version in every manifest; a restore refuses anything else. */
export const ARCHIVE_FORMAT = 'highrate-backup';
export const ARCHIVE_VERSION = 1;

/** One file of the archive, relative to its root (`store/highrate.sqlite`, `data/secrets/proxy-token`). */
export interface ArchivedFile {
  path: string;
  size: number;
  sha256: string;
  /** Permission bits to restore (secrets are 0600). */
  mode: number;
  /** Owner to restore when restoring as root (the storage server's key belongs to its own user). */
  uid?: number;
  gid?: number;
}

/** What the store part of an archive is. */
export type ArchivedStore =
  | { backend: 'sqlite'; schemaVersion: number; file: string }
  | { backend: 'postgres'; schemaVersion: number; method: 'repeatable-read-export'; tables: Array<{ name: string; rows: number; file: string }> };

/** `manifest.json`. */
export interface Manifest {
  format: typeof ARCHIVE_FORMAT;
  version: typeof ARCHIVE_VERSION;
  created: string;
  highrate: string;
  store: ArchivedStore;
  files: ArchivedFile[];
  /** Entries of the data directory left out on purpose (homes, pod state, logs), for the reader. */
  notIncluded: string[];
  /** Files the config names outside the data directory (e.g. an OIDC client secret file): not included. */
  referencedFiles: string[];
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Describes a staged file for the manifest; `source` (the original) gives the mode and owner to
 * restore, with group and others never given more than read.
 */
export async function describeFile(root: string, rel: string, source?: string): Promise<ArchivedFile> {
  const abs = path.join(root, rel);
  const st = source ? fs.statSync(source) : undefined;
  return {
    path: rel, size: fs.statSync(abs).size, sha256: await sha256File(abs), mode: st ? st.mode & 0o744 : 0o600,
    ...(st ? { uid: st.uid, gid: st.gid } : {}),
  };
}

function runTar(args: string[], opts: { stdout?: fs.WriteStream } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', opts.stdout ? 'pipe' : 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    if (opts.stdout) child.stdout.pipe(opts.stdout);
    else child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', (e) => reject(fail('INTERNAL', `Could not run tar: ${e.message}. Install GNU tar.`, { cause: e })));
    child.on('close', function onTarExit(code) {
      if (code === 0) resolve(out);
      else reject(fail('BAD_REQUEST', `tar failed (exit ${code}): ${err.trim().split('\n').slice(-3).join('; ')}`));
    });
  });
}

/**
 * Writes the staged directory as `out`: the manifest first, then the files it lists. The archive is
 * created 0600 under a temporary name and renamed when complete, so a crash or a full disk never
 * leaves a truncated file under the name an operator would restore from.
 */
export async function writeArchive(stage: string, manifest: Manifest, out: string): Promise<void> {
  fs.writeFileSync(path.join(stage, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  const partial = `${out}.partial-${process.pid}`;
  const fd = fs.openSync(partial, 'wx', 0o600);
  const stream = fs.createWriteStream('', { fd });
  const closed = new Promise<void>((resolve, reject) => { stream.on('close', resolve); stream.on('error', reject); });
  try {
    // Names listed explicitly (manifest first) so nothing else that lands in the stage is archived.
    const names = ['manifest.json', ...manifest.files.map((f) => f.path)];
    fs.writeFileSync(path.join(stage, '.names'), names.join('\n') + '\n', { mode: 0o600 });
    await runTar(['-czf', '-', '-C', stage, '--owner=0', '--group=0', '--numeric-owner', '--verbatim-files-from', '-T', path.join(stage, '.names')], { stdout: stream });
    await closed;
    const sync = fs.openSync(partial, 'r');
    try { fs.fsyncSync(sync); } finally { fs.closeSync(sync); }
    fs.renameSync(partial, out);
  } catch (err) {
    stream.destroy();
    fs.rmSync(partial, { force: true });
    throw err;
  }
}

/**
 * Unpacks `file` into the empty directory `stage` and checks it completely: only regular files and
 * directories (no links or devices that could point outside the stage), the manifest's format,
 * exactly the files it lists, each with its size and SHA-256. Throws BAD_REQUEST saying what is
 * wrong; returns the manifest.
 */
export async function unpackArchive(file: string, stage: string): Promise<Manifest> {
  if (!fs.existsSync(file)) throw fail('BAD_REQUEST', `No such archive: ${file}`);
  // Listed before extracting: GNU tar would create a symlink member, and a later member could write through it.
  const listing = await runTar(['-tvzf', file]).catch(function damaged(err: Error): never {
    throw fail('BAD_REQUEST', `The archive ${file} is damaged or is not a highrate backup (${err.message}). Nothing was restored.`);
  });
  for (const line of listing.split('\n').filter(Boolean)) {
    if (line[0] !== '-' && line[0] !== 'd') throw fail('BAD_REQUEST', `The archive ${file} holds something other than files and directories (${line.slice(0, 10)}); it is not a highrate backup.`);
  }
  await runTar(['-xzf', file, '-C', stage, '--no-same-owner', '--no-same-permissions']);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(stage, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    throw fail('BAD_REQUEST', `The archive ${file} has no readable manifest.json; it is not a highrate backup.`);
  }
  if (manifest.format !== ARCHIVE_FORMAT || manifest.version !== ARCHIVE_VERSION) {
    throw fail('BAD_REQUEST', `The archive ${file} is not a highrate backup of format ${ARCHIVE_VERSION} (found ${String(manifest.format)} ${String(manifest.version)}).`);
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const rel of walkFiles(stage)) {
    if (rel !== 'manifest.json' && !listed.has(rel)) throw fail('BAD_REQUEST', `The archive holds ${rel}, which its manifest does not list; refusing it.`);
  }
  for (const f of manifest.files) {
    if (path.isAbsolute(f.path) || f.path.split('/').includes('..')) throw fail('BAD_REQUEST', `The manifest names an unsafe path: ${f.path}`);
    const abs = path.join(stage, f.path);
    if (!fs.existsSync(abs)) throw fail('BAD_REQUEST', `The archive is incomplete: ${f.path} is missing.`);
    const size = fs.statSync(abs).size;
    if (size !== f.size || (await sha256File(abs)) !== f.sha256) {
      throw fail('BAD_REQUEST', `The archive is damaged: ${f.path} does not match its checksum in the manifest. Nothing was restored.`);
    }
  }
  return manifest;
}

/** Every regular file under `root`, as paths relative to it with `/` separators. */
export function walkFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walkFiles(root, r));
    else out.push(r);
  }
  return out;
}
