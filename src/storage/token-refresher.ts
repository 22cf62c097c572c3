import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { StorageToken } from './tokens.js';

/** The token file's name inside a user's token directory. */
export const TOKEN_FILE_NAME = 'bt';
/** Where a pod sees its user's token directory (a read-only hostPath volume). */
export const POD_TOKEN_DIR = '/run/wlcg-token';
/** The pod's BEARER_TOKEN_FILE (WLCG Bearer Token Discovery). */
export const POD_TOKEN_FILE = `${POD_TOKEN_DIR}/${TOKEN_FILE_NAME}`;

export interface TokenOwner { uid: number; gid: number }

export interface RefresherOptions {
  /** `<data>/tokens`: one directory per user below it. */
  dir: string;
  /** Issues a fresh storage token for a user. */
  issue: (user: string, groups: readonly string[]) => Promise<StorageToken>;
  /** Fraction of a token's lifetime after which its file is rewritten (storage.refreshAt). */
  refreshAt: number;
  /**
   * Who should have a token file now (users with running workloads), asked at every tick: users
   * not listed lose their file; listed users without one get it. Default: only `track`ed users.
   */
  wanted?: () => Promise<Array<{ user: string; groups: readonly string[]; owner: TokenOwner }>>;
}

interface Entry { groups: readonly string[]; owner: TokenOwner; issuedAt: number; expiresAt: number; trackedAt: number }

/**
 * Keeps one WLCG bearer token file per user fresh: `<dir>/<user>/bt`, directory 0700 and file 0600
 * owned by the user (XRootD's client refuses a token file others may read), rewritten atomically
 * (a temporary file in the same directory, fsync, rename) once `refreshAt` of the token's lifetime
 * has passed, so a reader sees the old token or the new one, never half of one. Pods mount the
 * directory read-only (the rename shows through a directory bind mount) and find the file by
 * BEARER_TOKEN_FILE. Tokens are never logged.
 */
export class StorageTokenRefresher {
  readonly #opts: RefresherOptions;
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | undefined;
  #every = 30_000;
  #ticking: Promise<void> | undefined;

  constructor(opts: RefresherOptions) {
    this.#opts = opts;
  }

  /** The host directory holding `user`'s token file (a pod's hostPath volume). */
  dirOf(user: string): string {
    return join(this.#opts.dir, user);
  }

  /**
   * Makes sure `user` has a fresh token file and keeps it fresh from now on; returns the
   * directory to mount. Called before a pod of the user starts.
   */
  async track(user: string, groups: readonly string[], owner: TokenOwner): Promise<string> {
    const known = this.#entries.get(user);
    const sameGrants = known && JSON.stringify(known.groups) === JSON.stringify(groups) && known.owner.uid === owner.uid;
    if (!known || !sameGrants || this.#due(known)) {
      try {
        await this.#write(user, groups, owner);
      } catch (err) {
        // No token to be had right now (an external issuer that is down, or that holds no refresh
        // token for the user until they log in again): the pod starts without one, and every tick
        // tries again, so the file appears once the cause is gone.
        if (!(err instanceof HighrateError) || !['STORAGE_TOKEN_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE'].includes(err.code)) throw err;
        log.warn('no storage token for a pod; retrying at every refresh', { user, reason: err.message });
        this.#ownDir(user, owner);
        this.#awaitToken(user, groups, owner);
      }
    }
    // A pod is built before its server is recorded: `wanted` may not list the user for a moment.
    this.#entries.get(user)!.trackedAt = Date.now();
    return this.dirOf(user);
  }

  /** Stops refreshing `user`'s token and removes the file. */
  forget(user: string): void {
    this.#entries.delete(user);
    rmSync(this.dirOf(user), { recursive: true, force: true });
  }

  /** Users whose files are kept fresh. */
  tracked(): string[] {
    return [...this.#entries.keys()];
  }

  /** Starts the timer: it ticks often enough to rewrite each file well before its token expires. */
  start(lifetimeSeconds: number): void {
    if (this.#timer) return;
    this.#startTimer(Math.min(30_000, Math.max(200, Math.floor(lifetimeSeconds * 1000 * this.#opts.refreshAt / 4))));
  }

  #startTimer(every: number): void {
    this.#every = every;
    this.#timer = setInterval(() => {
      if (this.#ticking) return;
      this.#ticking = this.tick().catch((err: unknown) => log.warn('storage token refresh failed', { error: String(err) })).finally(() => { this.#ticking = undefined; });
    }, every);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a refresh under way; files stay (pods keep running). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  /** One pass: follow `wanted` (when given), then rewrite every file that is due. */
  async tick(): Promise<void> {
    if (this.#opts.wanted) {
      const wanted = await this.#opts.wanted();
      const names = new Set(wanted.map((w) => w.user));
      // Forgotten only when unwanted for two ticks since it was last tracked (see `track`).
      for (const [user, e] of [...this.#entries]) if (!names.has(user) && Date.now() - e.trackedAt > 2 * this.#every) this.forget(user);
      for (const w of wanted) if (!this.#entries.has(w.user)) await this.#tryWrite(w.user, w.groups, w.owner);
      for (const w of wanted) {
        const e = this.#entries.get(w.user);
        if (e && JSON.stringify(e.groups) !== JSON.stringify(w.groups)) await this.#tryWrite(w.user, w.groups, w.owner);
      }
    }
    for (const [user, e] of [...this.#entries]) if (this.#due(e)) await this.#tryWrite(user, e.groups, e.owner);
  }

  /** One user's failure (e.g. their refresh token was revoked) does not hold up the others. */
  async #tryWrite(user: string, groups: readonly string[], owner: TokenOwner): Promise<void> {
    try {
      await this.#write(user, groups, owner);
    } catch (err) {
      log.warn('storage token refresh failed', { user, error: err instanceof Error ? err.message : String(err) });
      if (!this.#entries.has(user)) this.#awaitToken(user, groups, owner);
    }
  }

  /** Tracks `user` without a token yet: always due, so every tick tries again. */
  #awaitToken(user: string, groups: readonly string[], owner: TokenOwner): void {
    this.#entries.set(user, { groups: [...groups], owner, issuedAt: 0, expiresAt: 0, trackedAt: Date.now() });
  }

  /**
   * Ticks at least four times per refresh period of the shortest-lived token seen: an external
   * issuer's lifetime may be shorter than the one `start` was given.
   */
  #tighten(lifetimeMs: number): void {
    const every = Math.max(200, Math.floor(lifetimeMs * this.#opts.refreshAt / 4));
    if (!this.#timer || every >= this.#every) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#startTimer(every);
  }

  /** The user's token directory, 0700 and the user's own (root hands it over). */
  #ownDir(user: string, owner: TokenOwner): string {
    const dir = this.dirOf(user);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    chmodSync(dir, 0o700);
    if (process.getuid?.() === 0 && (st.uid !== owner.uid || st.gid !== owner.gid)) chownSync(dir, owner.uid, owner.gid);
    return dir;
  }

  #due(e: Entry): boolean {
    const now = Date.now() / 1000;
    return now >= e.issuedAt + (e.expiresAt - e.issuedAt) * this.#opts.refreshAt;
  }

  async #write(user: string, groups: readonly string[], owner: TokenOwner): Promise<void> {
    const t = await this.#opts.issue(user, groups);
    const asRoot = process.getuid?.() === 0;
    const dir = this.#ownDir(user, owner);
    const tmp = join(dir, `.${TOKEN_FILE_NAME}.${randomBytes(4).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, t.token + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (asRoot) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, join(dir, TOKEN_FILE_NAME));
    this.#entries.set(user, { groups: [...groups], owner, issuedAt: t.issuedAt, expiresAt: t.expiresAt, trackedAt: this.#entries.get(user)?.trackedAt ?? Date.now() });
    this.#tighten((t.expiresAt - t.issuedAt) * 1000);
    log.debug('storage token file written', { user, jti: t.jti, expires: new Date(t.expiresAt * 1000).toISOString() });
  }
}
