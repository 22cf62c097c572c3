import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodsConfig } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import type { UnixIdentity } from '../executors/security.js';
import { log } from '../log.js';
import type { Store } from '../store/types.js';

/**
 * Each platform user is a Unix user of their own: their pods run as that uid, their home and
 * Secrets belong to it, and no other user's pod can read them (docs/security.md). Where the uid
 * comes from (`pods.identity`):
 * - range: allocated from `pods.uidRange` on first use and recorded in the store, never reused
 *   (the row outlives the user, so a new user never inherits an old one's files); gid = uid;
 * - accounts: the host's account of the same name (NSS: /etc/passwd, LDAP, SSSD), for
 *   facilities whose users already have accounts (their batch jobs then run as them too);
 * - hub: the hub's own uid for everyone (a single-user machine; users are not isolated).
 */
export class UnixUsers {
  readonly mode: 'range' | 'accounts' | 'hub';
  readonly #known = new Map<string, UnixIdentity>();

  constructor(private readonly deps: { config: PodsConfig; store: Store; runningAsRoot?: boolean }) {
    const root = deps.runningAsRoot ?? process.getuid?.() === 0;
    this.mode = deps.config.identity === 'auto' ? (root ? 'range' : 'hub') : deps.config.identity;
    if (this.mode !== 'hub' && !root) {
      throw fail('CONFIG_INVALID', `pods.identity "${this.mode}" runs each user's pods as their own uid, which needs highrate to run as root; run it as root, or set pods.identity: hub on a single-user machine.`);
    }
    if (this.mode === 'hub' && root) {
      throw fail('CONFIG_INVALID', 'pods.identity "hub" would run every pod as root, which executors refuse; use range or accounts (or auto) when highrate runs as root.');
    }
    if (this.mode === 'hub') log.warn('pods run as the hub\'s own user (pods.identity: hub): users are not isolated from each other; run highrate as root for per-user uids');
  }

  /** The identity `user`'s pods run as (allocated on first use in range mode). */
  async of(user: string): Promise<UnixIdentity> {
    const known = this.#known.get(user);
    if (known) return known;
    let id: UnixIdentity;
    if (this.mode === 'hub') {
      id = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    } else if (this.mode === 'accounts') {
      id = accountOf(user, this.deps.config.minAccountUid);
    } else {
      const row = await this.deps.store.allocateUnixIdentity(user, this.deps.config.uidRange, hostUses());
      id = { uid: row.uid, gid: row.gid };
    }
    this.#known.set(user, id);
    return id;
  }

  /**
   * Makes `dir` (a user's home) exist, owned by `who` and private (0700). A home left by an older
   * version (owned by root) or an earlier identity is handed over whole, once.
   */
  ensureHome(dir: string, who: UnixIdentity): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (this.mode === 'hub') return;
    const st = lstatSync(dir);
    if (st.uid === who.uid && st.gid === who.gid) return;
    log.info('handing a home over to its user', { dir, uid: who.uid, from: st.uid });
    chownTree(dir, who.uid, who.gid);
  }
}

/** `getent passwd NAME` → uid and gid; supplementary groups from `id -G`. */
function accountOf(user: string, minUid: number): UnixIdentity {
  const r = spawnSync('getent', ['passwd', user], { encoding: 'utf8', timeout: 10_000 });
  const fields = r.status === 0 ? r.stdout.trim().split('\n')[0]!.split(':') : [];
  if (fields.length < 4) {
    throw fail('CONFIG_INVALID', `${user} has no Unix account on this host (pods.identity: accounts). Create one, or use pods.identity: range.`);
  }
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || uid < minUid) {
    throw fail('CONFIG_INVALID', `The Unix account of ${user} has uid ${fields[2]}, below pods.minAccountUid (${minUid}): system accounts do not run pods.`);
  }
  const g = spawnSync('id', ['-G', user], { encoding: 'utf8', timeout: 10_000 });
  const groups = g.status === 0 ? g.stdout.trim().split(/\s+/).map(Number).filter((n) => Number.isInteger(n) && n !== gid && n !== 0) : [];
  return { uid, gid, ...(groups.length ? { groups } : {}) };
}

/** Ids the host already uses (passwd, group, subordinate ranges): a range never hands them out. */
function hostUses(): (id: number) => boolean {
  const ids = new Set<number>();
  const ranges: Array<[number, number]> = [];
  for (const file of ['/etc/passwd', '/etc/group']) {
    for (const line of readText(file).split('\n')) {
      const n = Number(line.split(':')[2]);
      if (line && Number.isInteger(n)) ids.add(n);
    }
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of readText(file).split('\n')) {
      const [, start, count] = line.split(':').map(Number);
      if (Number.isInteger(start) && Number.isInteger(count)) ranges.push([start!, start! + count!]);
    }
  }
  const directory = usesDirectoryService();
  return (id) => ids.has(id) || ranges.some(([a, b]) => id >= a && id < b)
    // Ids only a directory service knows (LDAP, SSSD) are asked for one by one, where passwd has
    // one in nsswitch.conf: a blocking spawn per candidate cost 50 concurrent first starts seconds.
    || (directory && spawnSync('getent', ['passwd', String(id)], { timeout: 10_000 }).status === 0);
}

/** Whether nsswitch.conf's passwd line names a source beyond the local files (and systemd's dynamic users, outside any range here). */
function usesDirectoryService(): boolean {
  const line = readText('/etc/nsswitch.conf').split('\n').find((l) => /^\s*passwd\s*:/.test(l));
  if (line === undefined) return false;
  const sources = line.replace(/^\s*passwd\s*:/, '').replace(/\[[^\]]*\]/g, ' ').trim().split(/\s+/).filter(Boolean);
  return sources.some((s) => !['files', 'compat', 'systemd'].includes(s));
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** chown -R without following symlinks (a link in a home must not hand over its target). */
function chownTree(dir: string, uid: number, gid: number): void {
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    try {
      if (st.isSymbolicLink()) return;
      chownSync(p, uid, gid);
    } catch (err) {
      log.warn('could not hand a file over to its user', { path: p, error: String(err) });
    }
  };
  walk(dir);
}
