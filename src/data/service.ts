import { readFileSync } from 'node:fs';
import type { Config, RucioConfig } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { didString, parseDid, type DidRef } from './did.js';
import { dataError } from './errors.js';
import { RucioClient } from './rucio/client.js';
import { isRucioError } from './rucio/errors.js';
import { oidcToken, userpass, x509, type RucioCredential } from './rucio/auth.js';
import type { FileReplicas, ReplicaLock, Rule } from './rucio/types.js';

/** At most this many files are listed in a DID's detail or replica view (the total is still given). */
export const MAX_FILES = 2000;

/** A rule as the hub API shows it: Rucio's fields that matter, with lock progress. */
export interface RuleModel {
  id: string;
  did: string;
  account: string;
  rse_expression: string;
  state: string;
  error: string | null;
  created_at: string;
  expires_at: string | null;
  locks: { ok: number; replicating: number; stuck: number; total: number };
  /** Fraction of locks OK, 0..1. */
  progress: number;
  files?: Array<{ did: string; rse: string; state: string }>;
}

export interface DataServiceOptions {
  /** A user's OIDC access token for Rucio (auth oidc); default: read `tokenFile` with `{user}` filled. */
  tokenFor?: (user: string) => Promise<string> | string;
}

/**
 * Rucio for the hub: every call is made as the user's Rucio account. With userpass or x509 the
 * hub holds one identity that Rucio associates with each user's account (Rucio's own model: one
 * identity, many accounts, picked by `X-Rucio-Account` at login), so Rucio applies that account's
 * permissions and quota, not the hub's. With oidc, each user's own JWT is used. One client (and
 * so one token) is kept per account.
 */
export class DataService {
  readonly #clients = new Map<string, RucioClient>();

  constructor(readonly config: RucioConfig, private readonly opts: DataServiceOptions = {}) {}

  /** The Rucio account of a platform user. */
  accountOf(user: string): string {
    return this.config.accounts[user] ?? user;
  }

  /** The client acting as `user`'s account (made on first use). */
  client(user: string): RucioClient {
    const account = this.accountOf(user);
    const cacheKey = this.config.auth === 'oidc' ? `user:${user}` : `account:${account}`;
    let c = this.#clients.get(cacheKey);
    if (!c) {
      c = new RucioClient({
        url: this.config.url, authUrl: this.config.authUrl, vo: this.config.vo, appId: 'highrate-hub',
        timeoutMs: this.config.timeout * 1000,
        tls: this.config.caFile ? { ca: readFileSync(this.config.caFile) } : undefined,
        credential: this.#credential(user, account),
      });
      this.#clients.set(cacheKey, c);
    }
    return c;
  }

  #credential(user: string, account: string): RucioCredential {
    const cfg = this.config;
    if (cfg.auth === 'userpass') {
      // Read at each login, so a rotated password file takes effect without a restart.
      return userpass({ username: cfg.username!, password: () => readFileSync(cfg.passwordFile!, 'utf8').split('\n')[0]!.trim(), account });
    }
    if (cfg.auth === 'x509') return x509({ cert: readFileSync(cfg.certFile!), key: readFileSync(cfg.keyFile!), account });
    const tokenFor = this.opts.tokenFor ?? ((u: string) => readFileSync(cfg.tokenFile!.replace(/\{user\}/g, u), 'utf8'));
    return oidcToken({ token: () => tokenFor(user), account });
  }

  /** Runs `fn` with the user's client; Rucio's errors become the hub's, with what to do. */
  async #call<T>(user: string, what: { did?: string; rse?: string }, fn: (c: RucioClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client(user));
    } catch (err) {
      throw dataError(err, { account: this.accountOf(user), rucioUrl: this.config.url, ...what });
    }
  }

  /** Who the hub is in Rucio for this user (`accounts/whoami`). */
  whoami(user: string) {
    return this.#call(user, {}, (c) => c.accounts.whoami());
  }

  /** DIDs of one scope matching a wildcard name. */
  search(user: string, pattern: string, type: string, limit: number) {
    const ref = parseDid(pattern, { wildcard: true });
    if (!['all', 'collection', 'dataset', 'container', 'file'].includes(type)) throw fail('BAD_REQUEST', 'type must be all, collection, dataset, container or file.');
    return this.#call(user, { did: pattern }, async (c) => {
      const out = [];
      for await (const d of c.dids.search(ref.scope, { name: ref.name, type: type as 'all', limit })) {
        out.push({ did: `${d.scope}:${d.name}`, scope: d.scope, name: d.name, type: d.did_type, bytes: d.bytes, length: d.length });
      }
      return out;
    });
  }

  /** A DID with its sizes, its files (up to MAX_FILES), its direct children and its parents. */
  did(user: string, text: string) {
    const ref = parseDid(text);
    return this.#call(user, { did: text }, async (c) => {
      const d = await c.dids.get(ref.scope, ref.name, { dynamicDepth: 'FILE' });
      const files = [];
      let count = 0;
      let bytes = 0;
      for await (const f of c.dids.files(ref.scope, ref.name)) {
        count++;
        bytes += f.bytes ?? 0;
        if (files.length < MAX_FILES) files.push({ did: `${f.scope}:${f.name}`, bytes: f.bytes, adler32: f.adler32, events: f.events });
      }
      const children = [];
      if (d.type === 'CONTAINER' || d.type === 'DATASET') {
        for await (const ch of c.dids.content(ref.scope, ref.name)) if (children.length < MAX_FILES) children.push({ did: `${ch.scope}:${ch.name}`, type: ch.type, bytes: ch.bytes });
      }
      const parents = [];
      for await (const p of c.dids.parents(ref.scope, ref.name)) parents.push({ did: `${p.scope}:${p.name}`, type: p.type });
      return {
        did: didString(ref), scope: ref.scope, name: ref.name, type: d.type, account: d.account,
        bytes: d.type === 'FILE' ? d.bytes : bytes, files_count: count, adler32: d.adler32 ?? null, md5: d.md5 ?? null, open: d.open ?? null,
        files, files_truncated: count > files.length, children, parents,
      };
    });
  }

  /** Replicas of every file of a DID, per file and summed per RSE; the facility's RSE first. */
  replicas(user: string, text: string) {
    const ref = parseDid(text);
    const facility = this.config.facilityRse;
    const rank = (rse: string) => (rse === facility ? 0 : 1);
    return this.#call(user, { did: text }, async (c) => {
      const files = [];
      const perRse = new Map<string, { files: number; bytes: number }>();
      let total = 0;
      let totalBytes = 0;
      for await (const f of this.#list(c, [ref], true)) {
        total++;
        totalBytes += f.bytes ?? 0;
        const replicas = Object.entries(f.rses).map(([rse, urls]) => ({ rse, state: f.states?.[rse] ?? 'AVAILABLE', urls: this.#preferred(urls) }));
        for (const [rse, state] of Object.entries(f.states ?? {})) if (!(rse in f.rses)) replicas.push({ rse, state, urls: [] });
        for (const r of replicas) {
          if (r.state !== 'AVAILABLE') continue;
          const s = perRse.get(r.rse) ?? { files: 0, bytes: 0 };
          s.files++;
          s.bytes += f.bytes ?? 0;
          perRse.set(r.rse, s);
        }
        if (files.length < MAX_FILES) files.push({ did: `${f.scope}:${f.name}`, bytes: f.bytes, adler32: f.adler32, replicas: replicas.sort((a, b) => rank(a.rse) - rank(b.rse) || a.rse.localeCompare(b.rse)) });
      }
      const rses = [...perRse].map(([rse, s]) => ({ rse, files: s.files, bytes: s.bytes, complete: s.files === total })).sort((a, b) => rank(a.rse) - rank(b.rse) || a.rse.localeCompare(b.rse));
      const here = perRse.get(facility) ?? { files: 0, bytes: 0 };
      return { did: didString(ref), files_count: total, bytes: totalBytes, files, files_truncated: total > files.length, rses, facility: { rse: facility, files: here.files, bytes: here.bytes, complete: total > 0 && here.files === total } };
    });
  }

  /**
   * For notebooks: one URL per file, on the nearest available replica (the facility's RSE
   * first, then Rucio's order), in the configured scheme preference. Files with no replica are
   * listed under `missing`.
   */
  fileUrls(user: string, text: string) {
    const ref = parseDid(text);
    return this.#call(user, { did: text }, async (c) => {
      const files = [];
      const missing = [];
      for await (const f of this.#list(c, [ref], false)) {
        const pfns = Object.entries(f.pfns).sort(([, a], [, b]) => (a.rse === this.config.facilityRse ? 0 : 1) - (b.rse === this.config.facilityRse ? 0 : 1) || a.priority - b.priority);
        const byScheme = this.#preferred(pfns.map(([p]) => p));
        if (byScheme.length === 0) missing.push(`${f.scope}:${f.name}`);
        else files.push({ did: `${f.scope}:${f.name}`, bytes: f.bytes, adler32: f.adler32, url: byScheme[0]!, rse: f.pfns[byScheme[0]!]!.rse, urls: byScheme });
      }
      return { did: didString(ref), files, missing };
    });
  }

  #list(c: RucioClient, dids: DidRef[], allStates: boolean): AsyncGenerator<FileReplicas> {
    return c.replicas.list(dids, { schemes: this.config.schemes, allStates, ...(this.config.site ? { clientLocation: { site: this.config.site } } : {}) });
  }

  /** URLs ordered by the configured scheme preference (stable within a scheme). */
  #preferred(urls: string[]): string[] {
    const order = (u: string) => {
      const i = this.config.schemes.indexOf(u.slice(0, u.indexOf(':')));
      return i === -1 ? 99 : i;
    };
    return urls.map((u, i) => ({ u, i })).sort((a, b) => order(a.u) - order(b.u) || a.i - b.i).map((x) => x.u);
  }

  /**
   * "Make available here": a rule for the DID to the facility's RSE, as the user's account. A rule
   * the account already has for it is returned as it is (`created: false`), not an error.
   */
  stage(user: string, text: string, lifetime?: number) {
    const ref = parseDid(text);
    const account = this.accountOf(user);
    const rse = this.config.facilityRse;
    const life = lifetime ?? (this.config.ruleLifetime || null);
    return this.#call(user, { did: text, rse }, async (c) => {
      try {
        const [id] = await c.rules.add({ dids: [ref], account, copies: 1, rse_expression: rse, grouping: 'DATASET', lifetime: life, comment: 'highrate: make available at the facility', activity: 'User Subscriptions' });
        return { created: true, rule: ruleModel(await c.rules.get(id!)) };
      } catch (err) {
        if (!isRucioError(err, 'DuplicateRule')) throw err;
        for await (const r of c.rules.ofAccount(account, { scope: ref.scope, name: ref.name })) {
          if (r.rse_expression === rse) return { created: false, rule: ruleModel(r) };
        }
        throw err;
      }
    });
  }

  /** The user's rules (their account's). */
  rules(user: string) {
    return this.#call(user, {}, async (c) => {
      const out: RuleModel[] = [];
      for await (const r of c.rules.ofAccount(this.accountOf(user))) out.push(ruleModel(r));
      return out.sort((a, b) => Date.parse(b.created_at.replace(/ UTC$/, ' GMT')) - Date.parse(a.created_at.replace(/ UTC$/, ' GMT')));
    });
  }

  /**
   * One of the user's rules with its locks. Rucio lets any account read any rule; the hub shows
   * a user only their own account's rules, and answers the same 404 for others' and unknown ones.
   */
  rule(user: string, id: string) {
    checkRuleId(id);
    return this.#call(user, {}, async (c) => {
      const r = await this.#own(c, user, id);
      const locks: ReplicaLock[] = [];
      for await (const l of c.rules.locks(id)) locks.push(l);
      return { ...ruleModel(r), files: locks.map((l) => ({ did: `${l.scope}:${l.name}`, rse: l.rse, state: l.state })) };
    });
  }

  /** Deletes one of the user's rules (the data may then be removed from the facility). */
  deleteRule(user: string, id: string) {
    checkRuleId(id);
    return this.#call(user, {}, async (c) => {
      await this.#own(c, user, id);
      await c.rules.delete(id);
    });
  }

  async #own(c: RucioClient, user: string, id: string): Promise<Rule> {
    const r = await c.rules.get(id);
    if (r.account !== this.accountOf(user)) throw fail('DATA_NOT_FOUND', 'No such rule of yours. List your rules with `highrate data rules`.');
    return r;
  }

  /** The account's limit and usage at the facility's RSE, and usage elsewhere. */
  quota(user: string) {
    const account = this.accountOf(user);
    const rse = this.config.facilityRse;
    return this.#call(user, { rse }, async (c) => {
      const usage = await c.accounts.usage(account);
      const limits = await c.accounts.limits(account);
      const here = usage.find((u) => u.rse === rse);
      const limit = limits[rse] ?? null;
      const used = here?.bytes ?? 0;
      return {
        account, facility_rse: rse,
        facility: { bytes_limit: limit, bytes: used, files: here?.files ?? 0, bytes_remaining: limit === null ? 0 : limit - used },
        usage: usage.map((u) => ({ rse: u.rse, bytes: u.bytes, files: u.files, bytes_limit: u.bytes_limit, bytes_remaining: u.bytes_remaining })),
      };
    });
  }
}

function checkRuleId(id: string): void {
  if (!/^[0-9a-fA-F-]{32,36}$/.test(id)) throw fail('BAD_REQUEST', 'A rule id is 32 hexadecimal digits.');
}

/** Rucio's rule as the hub shows it. */
export function ruleModel(r: Rule): RuleModel {
  const total = r.locks_ok_cnt + r.locks_replicating_cnt + r.locks_stuck_cnt;
  return {
    id: r.id, did: `${r.scope}:${r.name}`, account: r.account, rse_expression: r.rse_expression, state: r.state, error: r.error,
    created_at: r.created_at, expires_at: r.expires_at,
    locks: { ok: r.locks_ok_cnt, replicating: r.locks_replicating_cnt, stuck: r.locks_stuck_cnt, total },
    progress: total === 0 ? (r.state === 'OK' ? 1 : 0) : r.locks_ok_cnt / total,
  };
}

const SERVICES = new WeakMap<Config, DataService>();

/**
 * The hub's DataService for a config (made on first use; undefined without `data.rucio`). The
 * composition root may instead build one with options (an OIDC token source) and `provideDataService`.
 */
export function dataServiceFor(config: Config): DataService | undefined {
  if (!config.data?.rucio) return undefined;
  let s = SERVICES.get(config);
  if (!s) SERVICES.set(config, (s = new DataService(config.data.rucio)));
  return s;
}

/** Installs a DataService built with options (e.g. per-user OIDC tokens from the storage token service). */
export function provideDataService(config: Config, service: DataService): void {
  SERVICES.set(config, service);
}
