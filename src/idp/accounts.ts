import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { fail } from '../errors/catalogue.js';
import { normaliseUsername, usernameProblem } from '../auth/username.js';
import { decoyHash, hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';

/** An account of the embedded identity provider, as shown to admins (never with its hash). */
export interface Account {
  username: string;
  groups: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * The embedded IdP's users. The username is the OIDC `sub` and `preferred_username`; groups go into
 * the configured groups claim. Names are stored normalised (see auth/username.ts), so two accounts
 * can never map onto the same hub user.
 */
export interface AccountStore {
  /** Creates an account; USER_EXISTS if taken, INVALID_NAME for an unusable name or group. */
  add(username: string, password: string, groups?: string[]): Promise<Account>;
  /** Replaces the password; USER_NOT_FOUND if missing. */
  setPassword(username: string, password: string): Promise<void>;
  /** Replaces the groups; USER_NOT_FOUND if missing. */
  setGroups(username: string, groups: string[]): Promise<Account>;
  /** The stored username when the password matches, otherwise null (same time either way). */
  verify(username: string, password: string): Promise<string | null>;
  get(username: string): Promise<Account | undefined>;
  list(): Promise<Account[]>;
  /** Deletes the account; USER_NOT_FOUND if missing. Its open IdP sessions end at their next use. */
  remove(username: string): Promise<void>;
}

/** The accounts' SQLite file inside the IdP's data directory. */
export const IDP_DATABASE_FILE = 'idp.sqlite';

/** The shortest password the embedded IdP accepts. */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Opens the IdP's SQLite file (accounts and provider state) in `dir`: the directory is created
 * 0700 and the file 0600 (it holds password hashes and sessions), WAL so the hub, the IdP and
 * `highrate user` can use it at once, and a 5 s wait for another writer's lock.
 */
export function openIdpDatabase(dir: string): BetterSqlite3.Database {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, IDP_DATABASE_FILE);
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new BetterSqlite3(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  return db;
}

interface Row { username: string; password_hash: string; groups: string; created_at: string; updated_at: string }

function toAccount(row: Row): Account {
  return { username: row.username, groups: JSON.parse(row.groups) as string[], createdAt: row.created_at, updatedAt: row.updated_at };
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw fail('BAD_REQUEST', `The password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long.`);
  }
}

/**
 * Group names are kept exactly as given (IAM-style `/cms/analysis` included); only empty names,
 * control characters and absurd lengths are refused. Duplicates collapse, order is kept.
 */
export function checkGroups(groups: unknown): string[] {
  if (!Array.isArray(groups)) throw fail('INVALID_NAME', 'Groups must be a list of names.');
  for (const g of groups) {
    if (typeof g !== 'string' || g.length === 0 || g.length > 256 || /[\x00-\x1f\x7f]/.test(g) || g.trim() !== g) {
      throw fail('INVALID_NAME', `Invalid group name ${JSON.stringify(String(g)).slice(0, 80)}: use 1–256 printable characters without leading or trailing spaces.`);
    }
  }
  return [...new Set(groups as string[])];
}

/** AccountStore over the IdP's SQLite file (better-sqlite3, synchronous and fast for this size). */
export class SqliteAccountStore implements AccountStore {
  readonly #db: BetterSqlite3.Database;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS idp_accounts (
      username TEXT PRIMARY KEY,
      password_hash TEXT NOT NULL,
      groups TEXT NOT NULL DEFAULT '[]',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`);
  }

  #row(username: string): Row | undefined {
    return this.#db.prepare('SELECT * FROM idp_accounts WHERE username = ?').get(username) as Row | undefined;
  }

  #existing(username: string): Row {
    const name = normaliseUsername(username) ?? username;
    const row = this.#row(username) ?? this.#row(name);
    if (!row) throw fail('USER_NOT_FOUND', `No such account: ${JSON.stringify(username).slice(0, 80)}.`);
    return row;
  }

  async add(username: string, password: string, groups: string[] = []): Promise<Account> {
    const name = normaliseUsername(username);
    if (name === null) throw fail('INVALID_NAME', `The username ${JSON.stringify(String(username)).slice(0, 80)} cannot be used: ${usernameProblem(username)}.`);
    checkPassword(password);
    const cleanGroups = checkGroups(groups);
    if (this.#row(name)) throw fail('USER_EXISTS', `The account "${name}" already exists.`);
    const hash = await hashPassword(password);
    const now = new Date().toISOString();
    try {
      this.#db.prepare('INSERT INTO idp_accounts (username, password_hash, groups, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(name, hash, JSON.stringify(cleanGroups), now, now);
    } catch (cause) {
      // Two concurrent adds of the same name: the primary key decides.
      if ((cause as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw fail('USER_EXISTS', `The account "${name}" already exists.`);
      throw cause;
    }
    return { username: name, groups: cleanGroups, createdAt: now, updatedAt: now };
  }

  async setPassword(username: string, password: string): Promise<void> {
    const row = this.#existing(username);
    checkPassword(password);
    const hash = await hashPassword(password);
    this.#db.prepare('UPDATE idp_accounts SET password_hash = ?, updated_at = ? WHERE username = ?').run(hash, new Date().toISOString(), row.username);
  }

  async setGroups(username: string, groups: string[]): Promise<Account> {
    const row = this.#existing(username);
    const cleanGroups = checkGroups(groups);
    const now = new Date().toISOString();
    this.#db.prepare('UPDATE idp_accounts SET groups = ?, updated_at = ? WHERE username = ?').run(JSON.stringify(cleanGroups), now, row.username);
    return { ...toAccount(row), groups: cleanGroups, updatedAt: now };
  }

  async verify(username: string, password: string): Promise<string | null> {
    if (typeof username !== 'string' || typeof password !== 'string' || username.length > 256) {
      await verifyPassword('x', await decoyHash());
      return null;
    }
    // The exact stored name first (accounts created before a rule change), then the normalised
    // form, so "Alice" typed in the form logs in as "alice".
    const normalised = normaliseUsername(username);
    const row = this.#row(username) ?? (normalised !== null ? this.#row(normalised) : undefined);
    const ok = await verifyPassword(password, row?.password_hash ?? await decoyHash());
    return ok && row ? row.username : null;
  }

  async get(username: string): Promise<Account | undefined> {
    const row = this.#row(username);
    return row ? toAccount(row) : undefined;
  }

  async list(): Promise<Account[]> {
    return (this.#db.prepare('SELECT * FROM idp_accounts ORDER BY username').all() as Row[]).map(toAccount);
  }

  async remove(username: string): Promise<void> {
    const row = this.#existing(username);
    this.#db.prepare('DELETE FROM idp_accounts WHERE username = ?').run(row.username);
  }
}
