import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import type { JWK } from 'jose';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import { renderScitokensConfig, renderXrootdConfig, writeKeyCache, XROOTD_FILES, type XrootdConfigInput, type XrootdView } from './xrootd-config.js';

/** Debian's xrootd-server. */
export const XROOTD_BIN = '/usr/bin/xrootd';
/** The system user xrootd runs as when the hub is root (created by Debian's xrootd-server package). */
export const XROOTD_USER = 'xrootd';
/** Where the private mount namespace shows xrootd's two directories (a tmpfs over it, in that namespace only). */
const NAMESPACE_ROOT = '/mnt';

export interface XrootdOptions {
  dataDir: string;
  /** The exported directory (default `<data>/storage`). */
  storageRoot: string;
  port: number;
  /** Host name in URLs and in the certificate's SANs (with localhost and 127.0.0.1). */
  host: string;
  issuer: string;
  publicJwks: { keys: JWK[] };
  audiences: string[];
}

export interface XrootdHandle {
  pid: number;
  reused: boolean;
  /** `root://<host>:<port>` (TLS upgraded, token through ztn) */
  rootUrl: string;
  /** `https://<host>:<port>` (token in Authorization) */
  httpsUrl: string;
  /** The storage's certificate (PEM), self-signed: clients trust it as their CA. */
  caFile: string;
  /** A hashed CA directory with that certificate (X509_CERT_DIR for XRootD's client, `openssl rehash` layout). */
  caDir: string;
  logFile: string;
}

interface XrootdRecord { pid: number; hash: string; port: number }

/** The uid/gid xrootd runs as: the `xrootd` system user when the hub is root, else the hub's own. */
function runAs(): { uid: number; gid: number; user: string | null } {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!(), user: null };
  const r = spawnSync('getent', ['passwd', XROOTD_USER], { encoding: 'utf8', timeout: 10_000 });
  const f = r.status === 0 ? r.stdout.trim().split(':') : [];
  if (f.length < 4) throw fail('CONFIG_INVALID', `The embedded storage needs the system user "${XROOTD_USER}" (xrootd refuses to run as root); install Debian's xrootd-server package (scripts/install-deps.sh), which creates it, or set storage.embedded: false.`);
  return { uid: Number(f[2]), gid: Number(f[3]), user: XROOTD_USER };
}

/** `mkdir -p`, then owner and mode (directories xrootd must write). */
function ownedDir(dir: string, uid: number, gid: number, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
  if (process.getuid?.() === 0) chownSync(dir, uid, gid);
}

function writeOwned(file: string, content: string, uid: number, gid: number, mode = 0o600): void {
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  if (process.getuid?.() === 0) chownSync(file, uid, gid);
}

/**
 * A self-signed certificate for XrdHttp's https and root://'s TLS upgrade, made once with the
 * openssl CLI (node:crypto cannot issue certificates) and made again when the host changes. ECDSA
 * P-256: quick to make, accepted by XRootD's client, curl, Python and Node.
 */
function ensureCertificate(home: string, host: string, uid: number, gid: number): void {
  const cert = join(home, XROOTD_FILES.cert);
  const key = join(home, XROOTD_FILES.key);
  const sans = [...new Set(['DNS:localhost', 'IP:127.0.0.1', /^[0-9.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`])].join(',');
  const marker = join(home, 'etc', 'cert.sans');
  if (existsSync(cert) && existsSync(key) && existsSync(marker) && readFileSync(marker, 'utf8') === sans) return;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '825', '-subj', `/CN=${host}`, '-addext', `subjectAltName=${sans}`,
    '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  chmodSync(key, 0o600);
  chmodSync(cert, 0o644);
  if (process.getuid?.() === 0) {
    chownSync(key, uid, gid);
    chownSync(cert, uid, gid);
  }
  writeOwned(marker, sans, uid, gid, 0o644);
}

/** `<data>/storage-ca/`: the certificate and its `<subject hash>.0` link, readable by everyone (it is public). */
function publishCa(dataDir: string, home: string): { caDir: string; caFile: string } {
  const caDir = join(dataDir, 'storage-ca');
  mkdirSync(caDir, { recursive: true, mode: 0o755 });
  chmodSync(caDir, 0o755);
  const pem = readFileSync(join(home, XROOTD_FILES.cert), 'utf8');
  const caFile = join(caDir, 'storage-ca.pem');
  writeFileSync(caFile, pem, { mode: 0o644 });
  for (const f of readdirSync(caDir)) if (/^[0-9a-f]{8}\.\d$/.test(f)) rmSync(join(caDir, f), { force: true });
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', caFile], { encoding: 'utf8', timeout: 10_000 }).trim();
  symlinkSync('storage-ca.pem', join(caDir, `${hash}.0`));
  return { caDir, caFile };
}

/** Whether `pid` is a live xrootd (not a recycled pid of something else, nor a zombie). */
export function isXrootd(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state …"
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(xrootd\) [^ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Any HTTP answer on the port: XrdHttp is up (plain http and TLS share the port). */
export function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'HEAD', timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

function lastLines(file: string, n = 8): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Whether xrootd wrote its "initialization completed" line after `offset`. */
function startedSince(file: string, offset: number): boolean {
  try {
    const buf = readFileSync(file);
    return /------ xrootd \S+ initialization completed/.test(buf.subarray(offset).toString('utf8'));
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (isXrootd(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (isXrootd(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Starts the embedded XRootD, or re-attaches to the one a previous hub started when it runs the
 * same configuration (`<data>/run/xrootd.json`): like the proxy, it is a detached process that
 * outlives the hub. Layout: `<data>/xrootd/` (etc/, cache/, run/, log/; owned by xrootd, 0700),
 * the storage root with `public/` and `user/`, and `<data>/storage-ca/` for clients.
 *
 * As root, xrootd runs as the `xrootd` user (setpriv: real, effective and saved uid, no
 * capabilities, no_new_privs) in a private mount namespace (`unshare`) where
 * a tmpfs over /mnt holds bind mounts of its directory and the storage root: the data directory
 * stays 0700 and nothing changes on the host's /mnt. The process started is xrootd itself
 * (unshare, sh and setpriv exec it), so the recorded pid is xrootd's.
 */
export async function ensureXrootd(opts: XrootdOptions): Promise<XrootdHandle> {
  if (!existsSync(XROOTD_BIN)) throw fail('CONFIG_INVALID', `storage.embedded is on but ${XROOTD_BIN} is not installed; run scripts/install-deps.sh (Debian's xrootd-server, xrootd-scitokens-plugins) or set storage.embedded: false.`);
  const who = runAs();
  const home = join(opts.dataDir, 'xrootd');
  const namespaced = who.user !== null;
  const view: XrootdView = namespaced ? { home: `${NAMESPACE_ROOT}/xrootd`, storage: `${NAMESPACE_ROOT}/storage` } : { home, storage: opts.storageRoot };
  for (const sub of ['', 'etc', 'cache', 'cache/scitokens', 'run', 'log']) ownedDir(join(home, sub), who.uid, who.gid);
  ownedDir(opts.storageRoot, who.uid, who.gid, 0o755);
  ownedDir(join(opts.storageRoot, 'public'), who.uid, who.gid, 0o755);
  ownedDir(join(opts.storageRoot, 'user'), who.uid, who.gid, 0o755);
  ensureCertificate(home, opts.host, who.uid, who.gid);
  const { caDir, caFile } = publishCa(opts.dataDir, home);

  const input: XrootdConfigInput = { view, port: opts.port, issuer: opts.issuer, audiences: opts.audiences };
  const config = renderXrootdConfig(input);
  const scitokens = renderScitokensConfig(input);
  writeOwned(join(home, XROOTD_FILES.config), config, who.uid, who.gid, 0o644);
  writeOwned(join(home, XROOTD_FILES.scitokens), scitokens, who.uid, who.gid, 0o644);
  const cacheFile = join(home, XROOTD_FILES.keyCache);
  writeKeyCache(cacheFile, opts.issuer, opts.publicJwks);
  if (process.getuid?.() === 0) chownSync(cacheFile, who.uid, who.gid);

  const hash = createHash('sha256').update(JSON.stringify([config, scitokens, opts.publicJwks, readFileSync(join(home, XROOTD_FILES.cert), 'utf8'), opts.storageRoot, home])).digest('hex');
  const runFile = join(opts.dataDir, 'run', 'xrootd.json');
  const urls = { rootUrl: `root://${opts.host}:${opts.port}`, httpsUrl: `https://${opts.host}:${opts.port}` };
  const logFile = join(home, XROOTD_FILES.log);
  try {
    const rec = JSON.parse(readFileSync(runFile, 'utf8')) as XrootdRecord;
    if (isXrootd(rec.pid)) {
      if (rec.hash === hash && rec.port === opts.port && await answersHttp(opts.port)) {
        log.info('re-attached to the running storage element', { pid: rec.pid, port: opts.port });
        return { pid: rec.pid, reused: true, ...urls, caFile, caDir, logFile };
      }
      log.warn('stopping the storage element of a previous configuration', { pid: rec.pid });
      process.kill(rec.pid, 'SIGTERM');
      await waitGone(rec.pid, 5000);
    }
  } catch {
    // no record, or a stale one: start afresh
  }

  mkdirSync(join(opts.dataDir, 'logs'), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(runFile), { recursive: true, mode: 0o700 });
  const outFile = join(opts.dataDir, 'logs', 'xrootd.out');
  const outFd = openSync(outFile, 'a', 0o600);
  // Readiness is read from this start's part of the log: a port answered by another program is no start.
  const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
  // -k 7: the log rolls over daily; keep a week of it.
  const xrootdArgs = ['-c', `${view.home}/${XROOTD_FILES.config}`, '-l', `${view.home}/${XROOTD_FILES.log}`, '-k', '7'];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', XDG_CACHE_HOME: `${view.home}/cache` };
  const script = [
    'set -e',
    `mount -t tmpfs -o mode=0755,size=64k highrate-xrootd ${NAMESPACE_ROOT}`,
    `mkdir ${view.home} ${view.storage}`,
    `mount --bind "$1" ${view.home}`,
    `mount --bind "$2" ${view.storage}`,
    'shift 2',
    // Not xrootd's own -R: it only sets the effective uid and keeps root as the real and saved
    // one (measured: Uid 0 103 0 103), so a flaw in xrootd could take root back. setpriv drops all three.
    `exec setpriv --reuid=${who.uid} --regid=${who.gid} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- ${XROOTD_BIN} "$@"`,
  ].join('\n');
  const child = namespaced
    ? spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'highrate-xrootd', home, opts.storageRoot, ...xrootdArgs], { detached: true, stdio: ['ignore', outFd, outFd], env })
    : spawn(XROOTD_BIN, xrootdArgs, { detached: true, stdio: ['ignore', outFd, outFd], env });
  closeSync(outFd);
  child.unref();
  const pid = child.pid!;
  const deadline = Date.now() + 20_000;
  while (!(isXrootd(pid) && startedSince(logFile, logOffset) && await answersHttp(opts.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const why = lastLines(logFile) || lastLines(outFile);
      throw fail('UPSTREAM_UNAVAILABLE', `The embedded storage element (xrootd) did not start on port ${opts.port}; is the port in use? Choose another with storage.port. See ${logFile}.`, { detail: why });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(runFile, JSON.stringify({ pid, hash, port: opts.port } satisfies XrootdRecord), { mode: 0o600 });
  log.info('storage element started', { pid, port: opts.port, root: opts.storageRoot });
  return { pid, reused: false, ...urls, caFile, caDir, logFile };
}

/** Stops the xrootd recorded in `<data>/run/xrootd.json`, if it runs (`highrate` shutdown with the proxy). */
export async function stopXrootd(dataDir: string): Promise<void> {
  try {
    const rec = JSON.parse(readFileSync(join(dataDir, 'run', 'xrootd.json'), 'utf8')) as XrootdRecord;
    if (!isXrootd(rec.pid)) return;
    process.kill(rec.pid, 'SIGTERM');
    await waitGone(rec.pid, 5000);
    removeXrootdEnvFile(rec.pid);
  } catch {
    // nothing recorded
  }
}

/**
 * xrootd 5.5 writes its environment file (`pid=…&host=…&inst=anon&…`) to /tmp/xrootd.anon.env,
 * not beside its pid file; once that xrootd (`pid`) has ended the file says nothing true: removed.
 * A file naming another, running xrootd is left alone.
 */
export function removeXrootdEnvFile(pid: number, opts: { killed?: boolean; file?: string } = {}): void {
  const file = opts.file ?? '/tmp/xrootd.anon.env';
  try {
    if (!readFileSync(file, 'utf8').startsWith(`pid=${pid}&`) || (!opts.killed && isXrootd(pid))) return;
    rmSync(file, { force: true });
  } catch {
    // no such file
  }
}
