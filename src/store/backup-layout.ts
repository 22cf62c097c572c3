/**
 * What of a data directory a backup holds, and whether a hub is running on one. The layout is the
 * hub's (src/platform/start.ts, secrets.ts, src/idp/keys.ts, proxy-process.ts, executors/registry.ts):
 *
 *   highrate.sqlite(-wal,-shm)   the store (when SQLite)                       backed up online
 *   secrets/                     proxy-token, idp-client-secret, …             backed up
 *   idp/                         jwks.json, cookie-keys.json, idp.sqlite       backed up (idp.sqlite online)
 *   config.yaml                  the config (or --config FILE)                 backed up
 *   homes/                       users' files                                  not: the facility's own backups
 *   executors/                   pod state and logs                            not: pods are re-found or restarted
 *   logs/, run/                  proxy log, the running proxy's record         not: they describe processes
 *   xrootd/etc/{cert,key}.pem    the embedded XRootD's TLS pair (src/storage)  backed up, with its owner
 *   tokens/, storage/            storage tokens (re-issued), XRootD's files    not
 *
 * The Dask clusters' TLS pairs and HTTP tokens are columns of the store, so they come with it.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fail } from '../errors/catalogue.js';

/** Directories of the data dir copied whole (SQLite files in them go through the online backup). */
export const SECRET_DIRS = ['secrets', 'idp'] as const;

/**
 * Single files kept with their owner: the embedded XRootD's TLS certificate and key (src/storage/
 * xrootd-process.ts; clients trust the published certificate, so a new one would break them) and
 * the marker saying which names it was made for (without it the hub makes a new pair).
 */
export const SECRET_FILES = ['xrootd/etc/cert.pem', 'xrootd/etc/key.pem', 'xrootd/etc/cert.sans'] as const;

/** Entries left out on purpose, with the reason printed by `highrate backup` and kept in the manifest. */
export const LEFT_OUT: Record<string, string> = {
  homes: 'users\' home directories (user data: the facility\'s normal backups)',
  executors: 'pod state and pod logs (running pods are re-found by the hub, or shown as stopped)',
  logs: 'log files',
  run: 'records of running processes',
  tokens: 'users\' storage token files (short-lived; the hub issues them again)',
  storage: 'files in the embedded XRootD storage (user data: the facility\'s normal backups)',
  'storage-ca': 'the published storage certificate (made again from xrootd/etc/cert.pem)',
  xrootd: 'the embedded XRootD\'s generated config, caches and logs (its TLS pair in xrootd/etc/ is included)',
};

/** Side files of a SQLite database: never copied (the online backup reads through them). */
export function isSqliteSideFile(name: string): boolean {
  return /-(wal|shm|journal)$/.test(name);
}

/** Half-written files of an interrupted atomic write (src/idp/keys.ts writeSecretFile). */
export function isTemporary(name: string): boolean {
  return name.endsWith('.tmp') || name.includes('.partial-');
}

/**
 * PIDs of processes (other than this one) that have `file` or its -wal open: a hub using that
 * SQLite database. Reads /proc (Linux); elsewhere, or for processes of other users we cannot see
 * into, finds nothing.
 */
export function processesHolding(files: string[]): number[] {
  const wanted = new Set(files.flatMap((f) => [f, `${f}-wal`]));
  const found: number[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (wanted.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) {
          found.push(Number(pid));
          break;
        }
      } catch { /* closed meanwhile */ }
    }
  }
  return found;
}

/**
 * Whether the hub recorded in `<dataDir>/run/proxy.json` (the hub URL its proxy forwards to)
 * answers: the proxy outlives the hub, so only an answer from the hub itself counts.
 */
export async function hubAnswers(dataDir: string): Promise<string | null> {
  let hubUrl: string;
  try {
    hubUrl = (JSON.parse(fs.readFileSync(path.join(dataDir, 'run', 'proxy.json'), 'utf8')) as { hubUrl?: string }).hubUrl ?? '';
  } catch {
    return null;
  }
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(hubUrl)) return null;
  return (await answersAt(hubUrl)) ? hubUrl : null;
}

/** Whether anything answers HTTP at `${hubUrl}/hub/api/` within `timeoutMs`. */
export function answersAt(hubUrl: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${hubUrl}/hub/api/`, { timeout: timeoutMs }, function onAnswer(res) {
      res.resume();
      // JupyterHub's API root answers {"version"}; any HTTP answer there is a hub (or something worse).
      resolve(true);
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
  });
}

/** "PID (command line)" of each process, for messages that name who holds a file. */
export function describeProcesses(pids: number[]): string {
  return pids.map(function describeProcess(pid) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      return `${pid} (${cmd.length > 100 ? cmd.slice(0, 100) + '…' : cmd})`;
    } catch {
      return String(pid);
    }
  }).join(', ');
}

/** True when `dir` does not exist or is an empty directory. */
export function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw fail('BAD_REQUEST', `${dir} is a file, not a data directory.`);
    throw err;
  }
}

/** Formats a byte count for progress lines. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
