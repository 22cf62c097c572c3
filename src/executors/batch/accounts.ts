import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A Unix account as the batch system sees it: what `sbatch --uid` and HTCondor's `Owner` need. */
export interface Account {
  name: string;
  uid: number;
  /** The account's primary group. */
  gid: number;
  /** Every group the account is in (`id -G`), the primary one included. */
  groups: number[];
}

function run(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => done(err ? null : stdout));
  });
}

/** How long a lookup is trusted: accounts are created rarely, but a new one should not wait long. */
const FOUND_MS = 300_000;
const MISSING_MS = 30_000;

/**
 * Accounts by uid through NSS (`getent passwd`, so /etc/passwd, LDAP and SSSD alike), cached. Slurm
 * resolves the job's uid the same way, on the submit host (sbatch) and on the controller.
 */
export class Accounts {
  readonly #cache = new Map<number, { at: number; account: Account | null }>();

  constructor(private readonly lookupFn: (uid: number) => Promise<Account | null> = lookupAccount) {}

  async byUid(uid: number): Promise<Account | null> {
    const hit = this.#cache.get(uid);
    if (hit && Date.now() - hit.at < (hit.account ? FOUND_MS : MISSING_MS)) return hit.account;
    const account = await this.lookupFn(uid);
    this.#cache.set(uid, { at: Date.now(), account });
    return account;
  }
}

/** `getent passwd UID`, then `id -G NAME` for the groups the account gets on login (initgroups). */
export async function lookupAccount(uid: number): Promise<Account | null> {
  const line = (await run('getent', ['passwd', String(uid)]))?.split('\n')[0];
  const f = line?.split(':') ?? [];
  if (f.length < 7 || Number(f[2]) !== uid || !/^\d+$/.test(f[3] ?? '')) return null;
  const name = f[0]!;
  const gid = Number(f[3]);
  const ids = (await run('id', ['-G', name]))?.trim().split(/\s+/).map(Number).filter((n) => Number.isInteger(n) && n >= 0) ?? [];
  return { name, uid, gid, groups: [...new Set([gid, ...ids])] };
}

/** Who is checked for access: uid and every group it has. */
export interface Accessor { uid: number; groups: readonly number[] }

/**
 * Why `who` cannot reach `path` through the directories above it (each must be searchable by it:
 * owner, group or other x bit), or null when it can. Paths that do not exist here are not judged
 * (they may exist on the nodes only). ACLs are not read: an ACL can only be stricter than what the
 * mode bits of a directory that grants search to "other" say, and is rare on such paths.
 */
export function unreachable(path: string, who: Accessor, opts: { includeSelf?: boolean } = {}): string | null {
  const dirs: string[] = [];
  let p = resolve(path);
  if (!opts.includeSelf) p = dirname(p);
  for (;;) {
    dirs.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const d of dirs) {
    const st = statSync(d, { throwIfNoEntry: false });
    if (!st) return null;
    if (!st.isDirectory()) continue;
    const bit = st.uid === who.uid ? 0o100 : who.groups.includes(st.gid) ? 0o010 : 0o001;
    if (who.uid !== 0 && (st.mode & bit) === 0) {
      return `${d} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}) is not searchable by uid ${who.uid}`;
    }
  }
  return null;
}
