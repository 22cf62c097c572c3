import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { log } from '../log.js';
import { POD_TOKEN_DIR, POD_TOKEN_FILE, StorageTokenRefresher, TOKEN_FILE_NAME, type TokenOwner } from './token-refresher.js';
import { loadStorageSigner, signStorageToken, WLCG_ANY_AUDIENCE, type StorageSigner, type StorageToken } from './tokens.js';
import type { IssuerStorageTokens } from './issuer-tokens.js';
import { answersHttp, ensureXrootd, isXrootd, stopXrootd, XROOTD_BIN, type XrootdHandle } from './xrootd-process.js';
import { StorageElementMonitor } from './elements.js';

export { storageGrants, scopeString, allows, covers, type StorageGrant, type StorageAction } from './policy.js';
export { loadStorageSigner, signStorageToken, WLCG_ANY_AUDIENCE, WLCG_VERSION, type StorageSigner, type StorageToken } from './tokens.js';
export { StorageTokenRefresher, POD_TOKEN_DIR, POD_TOKEN_FILE, TOKEN_FILE_NAME, type TokenOwner } from './token-refresher.js';
export { ensureXrootd, stopXrootd, isXrootd, removeXrootdEnvFile, XROOTD_BIN, type XrootdHandle } from './xrootd-process.js';
export { StorageElementMonitor, signProbeToken } from './elements.js';

/** Whether the embedded storage element runs: `storage.embedded`, else (when `auto`) whether XRootD is installed. */
export function storageEmbedded(config: Pick<Config, 'storage'>, auto: boolean): boolean {
  return config.storage.embedded ?? (auto && existsSync(XROOTD_BIN));
}

/** The issuer of storage tokens: the embedded IdP's (`<publicUrl>/oidc`), whose key signs them. */
export function storageIssuer(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/oidc`;
}

/** The storage's host name: `storage.host`, else the public URL's host (unless a wildcard), else 127.0.0.1. */
export function storageHost(config: Pick<Config, 'storage'>, publicUrl: string): string {
  if (config.storage.host) return config.storage.host;
  try {
    const h = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
    if (h && h !== '0.0.0.0' && !h.includes(':')) return h;
  } catch { /* fall through */ }
  return '127.0.0.1';
}

/** One storage element as the Resources page shows it. */
export interface StorageHealth {
  name: string;
  kind: 'xrootd';
  rootUrl: string;
  httpsUrl: string;
  health: { ok: boolean; message: string; checked: string; latencyMs: number };
}

/** What a pod needs to read and write storage: a volume with the token file and variables. */
export interface PodStorageAccess {
  /** Host directory with the user's token file; mount it read-only at `mountPath`. */
  hostDir: string;
  mountPath: string;
  /** BEARER_TOKEN_FILE (and the storage's URLs and CA, when embedded). */
  env: Array<{ name: string; value: string }>;
}

export interface StorageServiceOptions {
  config: Config;
  dataDir: string;
  publicUrl: string;
  /** Run the embedded XRootD (see `storageEmbedded`). */
  embedded: boolean;
  /**
   * storage.tokenSource oidc: tokens come from the external issuer (src/storage/issuer-tokens.ts),
   * and the embedded XRootD trusts that issuer's keys (`jwks`, fetched at start) instead of the hub's.
   */
  fromIssuer?: { tokens: IssuerStorageTokens; issuer: string; jwks: () => Promise<{ keys: Array<Record<string, unknown>> }> };
  /** Who should have fresh token files (users with running workloads); see StorageTokenRefresher. */
  wanted?: () => Promise<Array<{ user: string; groups: readonly string[]; owner: TokenOwner }>>;
}

/**
 * The hub's `wanted` list for the refresher: every user with an active notebook server or Dask
 * cluster, with the groups recorded for them and the uid their pods run as.
 */
export function usersWithServers(
  store: {
    listActiveServers(): Promise<Array<{ user: string }>>;
    listClusters(q: { statuses: Array<'PENDING' | 'RUNNING' | 'STOPPING'> }): Promise<Array<{ user: string }>>;
    getUser(name: string): Promise<{ groups: string[] } | null>;
  },
  identityOf: (user: string) => Promise<TokenOwner>,
): () => Promise<Array<{ user: string; groups: readonly string[]; owner: TokenOwner }>> {
  return async function wanted() {
    const clusters = await store.listClusters({ statuses: ['PENDING', 'RUNNING', 'STOPPING'] });
    const names = [...new Set([...(await store.listActiveServers()), ...clusters].map((s) => s.user))];
    const out = [];
    for (const user of names) {
      const row = await store.getUser(user);
      if (row) out.push({ user, groups: row.groups, owner: await identityOf(user) });
    }
    return out;
  };
}

/** The CA directory inside a user's token directory (X509_CERT_DIR of their pods). */
export const POD_CA_SUBDIR = 'ca';
const GRID_CA_DIR = '/etc/grid-security/certificates';

/**
 * Fills `dest` with the storage's CA (`caDir`: PEM and hash link) and, when the host has grid CAs,
 * links to each of them, so X509_CERT_DIR pointing here still trusts every grid storage element.
 */
function copyCaDir(caDir: string, dest: string): void {
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  for (const f of readdirSync(dest)) rmSync(join(dest, f), { force: true });
  if (existsSync(GRID_CA_DIR)) {
    for (const f of readdirSync(GRID_CA_DIR)) symlinkSync(join(GRID_CA_DIR, f), join(dest, f));
  }
  for (const f of readdirSync(caDir)) {
    rmSync(join(dest, f), { force: true });
    if (f.endsWith('.pem')) copyFileSync(join(caDir, f), join(dest, f));
    else symlinkSync(readlinkSync(join(caDir, f)), join(dest, f));
  }
}

/** How often the hub checks that its xrootd still runs (and starts it again if not). */
const SUPERVISE_MS = 10_000;

/**
 * Storage for the hub: issues WLCG storage tokens (`issue`), keeps users' token files fresh for
 * their pods (`podAccess`), and runs the embedded XRootD (`start`), restarting it if it dies.
 * `close` leaves xrootd running, like the proxy: a restarted hub re-attaches to it.
 */
export class StorageService {
  readonly refresher: StorageTokenRefresher;
  /** Health of the embedded element and of `storage.elements`, for the Resources page. */
  readonly elements: StorageElementMonitor;
  #xrootd: XrootdHandle | null = null;
  #supervisor: NodeJS.Timeout | undefined;
  #restarting: Promise<void> | undefined;

  private constructor(private readonly opts: StorageServiceOptions, private readonly signer: StorageSigner) {
    this.refresher = new StorageTokenRefresher({
      dir: join(opts.dataDir, 'tokens'),
      issue: (user, groups) => this.issue(user, groups),
      refreshAt: opts.config.storage.refreshAt,
      ...(opts.wanted ? { wanted: opts.wanted } : {}),
    });
    const s = opts.config.storage;
    this.elements = new StorageElementMonitor({
      elements: s.elements, embedded: () => this.#xrootd, signer, workDir: join(opts.dataDir, 'storage-elements'),
      intervalMs: s.probeInterval * 1000, timeoutMs: s.probeTimeout * 1000, slowMs: s.probeSlowMs,
    });
  }

  /** Loads the signing key (the IdP's, `<data>/idp/jwks.json`). */
  static async create(opts: StorageServiceOptions): Promise<StorageService> {
    return new StorageService(opts, await loadStorageSigner(opts.dataDir, storageIssuer(opts.publicUrl)));
  }

  /** The `iss` of the storage tokens pods get: the hub's IdP, or the external issuer. */
  get issuer(): string {
    return this.opts.fromIssuer?.issuer ?? this.signer.issuer;
  }

  /** The public JWKS that verifies storage tokens. */
  get publicJwks(): StorageSigner['publicJwks'] {
    return this.signer.publicJwks;
  }

  /**
   * A storage token for `user` with `groups`, by the configured policy and audience: signed here
   * (lifetime storage.tokenLifetime), or from the external issuer (its lifetime).
   */
  issue(user: string, groups: readonly string[]): Promise<StorageToken> {
    if (this.opts.fromIssuer) return this.opts.fromIssuer.tokens.issue(user, groups);
    const s = this.opts.config.storage;
    return signStorageToken(this.signer, { user, groups, policy: s, audience: s.audience, lifetime: s.tokenLifetime });
  }

  /** The embedded storage's endpoints, or null when it does not run. */
  get endpoints(): XrootdHandle | null {
    return this.#xrootd;
  }

  /** Audiences the embedded XRootD accepts: its own URL, the configured ones, and the issued one. */
  audiences(): string[] {
    const s = this.opts.config.storage;
    const own = `https://${storageHost(this.opts.config, this.opts.publicUrl)}:${s.port}`;
    return [...new Set([own, s.audience, ...s.acceptAudiences].filter((a) => a !== WLCG_ANY_AUDIENCE))];
  }

  /** Starts (or re-attaches to) the embedded XRootD when configured, and the token refresher. */
  async start(): Promise<void> {
    // First: token files are needed whether or not the embedded storage element comes up.
    this.refresher.start(this.opts.config.storage.tokenLifetime);
    this.elements.start();
    if (this.opts.embedded) {
      this.#xrootd = await this.#ensure();
      this.#supervisor = setInterval(() => {
        if (!this.#xrootd || isXrootd(this.#xrootd.pid) || this.#restarting) return;
        log.warn('the storage element stopped; starting it again', { pid: this.#xrootd.pid });
        this.#restarting = this.#ensure().then((h) => { this.#xrootd = h; }, (err: unknown) => log.error('storage element restart failed', { error: String(err) })).finally(() => { this.#restarting = undefined; });
      }, SUPERVISE_MS);
      this.#supervisor.unref();
    }
  }

  async #ensure(): Promise<XrootdHandle> {
    const s = this.opts.config.storage;
    const trust = this.opts.fromIssuer
      ? { issuer: this.opts.fromIssuer.issuer, publicJwks: await this.#issuerKeys(this.opts.fromIssuer) }
      : { issuer: this.signer.issuer, publicJwks: this.signer.publicJwks };
    return ensureXrootd({
      dataDir: this.opts.dataDir,
      storageRoot: s.root ?? join(this.opts.dataDir, 'storage'),
      port: s.port,
      host: storageHost(this.opts.config, this.opts.publicUrl),
      ...trust,
      audiences: this.audiences(),
    });
  }

  /**
   * The external issuer's public keys, fetched from its jwks_uri and kept in
   * `<data>/storage-issuer-jwks.json`: an issuer that cannot be reached when the storage element
   * (re)starts leaves it trusting the keys fetched last time, rather than not starting.
   */
  async #issuerKeys(from: NonNullable<StorageServiceOptions['fromIssuer']>): Promise<StorageSigner['publicJwks']> {
    const file = join(this.opts.dataDir, 'storage-issuer-jwks.json');
    try {
      const jwks = await from.jwks() as StorageSigner['publicJwks'];
      writeFileSync(file, JSON.stringify({ issuer: from.issuer, jwks }), { mode: 0o644 });
      return jwks;
    } catch (err) {
      const kept = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as { issuer: string; jwks: StorageSigner['publicJwks'] } : null;
      if (!kept || kept.issuer !== from.issuer) throw err;
      log.warn('the issuer\'s keys could not be fetched; the storage element trusts the keys fetched last time', { issuer: from.issuer, error: String(err) });
      return kept.jwks;
    }
  }

  /**
   * Prepares `user`'s token file before a pod starts and says how to give it to the pod.
   * `mountPaths`: the executor places volumes at their mountPath (else the pod sees host paths).
   */
  async podAccess(user: string, groups: readonly string[], owner: TokenOwner, mountPaths: boolean): Promise<PodStorageAccess> {
    const hostDir = await this.refresher.track(user, groups, owner);
    const mountPath = mountPaths ? POD_TOKEN_DIR : hostDir;
    const env = [{ name: 'BEARER_TOKEN_FILE', value: mountPaths ? POD_TOKEN_FILE : join(hostDir, TOKEN_FILE_NAME) }];
    if (this.#xrootd) {
      copyCaDir(this.#xrootd.caDir, join(hostDir, POD_CA_SUBDIR));
      const caDir = `${mountPath}/${POD_CA_SUBDIR}`;
      env.push(
        { name: 'HIGHRATE_STORAGE_ROOT_URL', value: this.#xrootd.rootUrl },
        { name: 'HIGHRATE_STORAGE_HTTPS_URL', value: this.#xrootd.httpsUrl },
        // XRootD's client verifies root:// TLS against X509_CERT_DIR (default /etc/grid-security/certificates).
        { name: 'X509_CERT_DIR', value: caDir },
        // For https clients that take a CA file (requests' verify=, curl --cacert, fsspec's client_kwargs).
        { name: 'HIGHRATE_STORAGE_CA', value: `${caDir}/storage-ca.pem` },
      );
    }
    return { hostDir, mountPath, env };
  }

  /**
   * Health of the embedded storage element for the Resources page: `ok` when its pid is a live
   * xrootd and the port answers HTTP within 2 s (any status: XrdHttp is serving). Null when it is
   * not configured.
   */
  async health(): Promise<StorageHealth | null> {
    const ep = this.#xrootd;
    if (!ep) return null;
    const started = Date.now();
    const alive = isXrootd(ep.pid);
    const answered = alive && await answersHttp(Number(new URL(ep.httpsUrl).port));
    return {
      name: 'embedded', kind: 'xrootd', rootUrl: ep.rootUrl, httpsUrl: ep.httpsUrl,
      health: { ok: answered, message: !alive ? `xrootd (pid ${ep.pid}) is not running` : answered ? 'serving root:// and https://' : 'xrootd runs but its port does not answer', checked: new Date().toISOString(), latencyMs: Date.now() - started },
    };
  }

  /** Stops the timers; xrootd keeps running (see `stopXrootd` to end it). */
  async close(): Promise<void> {
    clearInterval(this.#supervisor);
    this.#supervisor = undefined;
    await this.elements.stop();
    await this.#restarting;
    await this.refresher.stop();
  }

  /** Ends the embedded xrootd too (shutdown with the proxy). */
  async shutdown(): Promise<void> {
    await this.close();
    await stopXrootd(this.opts.dataDir);
  }
}
