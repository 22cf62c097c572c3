import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { StorageElementConfig } from '../config/schema.js';
import type { StorageElementModel } from '../contracts/storage.js';
import { log } from '../log.js';
import { probeElement, type ProbeResult, type ProbeTarget } from './probe.js';
import type { StorageSigner } from './tokens.js';
import { isXrootd, type XrootdHandle } from './xrootd-process.js';

/** A refresh asked for within this long of the last probe gets that probe's answer (the page's button cannot flood elements). */
const REFRESH_REUSE_MS = 2000;
/** Lifetime of a probe token, seconds: one login. */
const PROBE_TOKEN_LIFETIME = 60;
/** The only thing a probe token may do: read a path that holds nothing. */
const PROBE_SCOPE = 'storage.read:/.highrate-probe';

/**
 * A token for one probe's login (XRootD's ztn wants one before it answers any query): subject
 * `highrate-probe`, audience the element's own URL (so no other element accepts it), a scope on
 * an empty path, a minute's life. Given to xrdfs in its environment only.
 */
export function signProbeToken(signer: StorageSigner, audience: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ 'wlcg.ver': '1.0', scope: PROBE_SCOPE })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
    .setIssuer(signer.issuer).setSubject('highrate-probe').setAudience(audience)
    .setIssuedAt(now).setNotBefore(now - 5).setExpirationTime(now + PROBE_TOKEN_LIFETIME)
    .sign(signer.key);
}

export interface StorageElementMonitorOptions {
  elements: readonly StorageElementConfig[];
  /** The embedded XRootD's handle, or null when it does not run (listed only when it does). */
  embedded: () => XrootdHandle | null;
  signer: StorageSigner;
  /** Where hashed CA directories made from elements' caFile live (X509_CERT_DIR for xrdfs). */
  workDir: string;
  intervalMs: number;
  timeoutMs: number;
  slowMs: number;
}

interface Seen { result: ProbeResult | null; checked: string | null; lastError: { message: string; at: string } | null }

/**
 * Health of every storage element the facility uses: the embedded XRootD and `storage.elements`.
 * Probes all of them every `intervalMs` and on demand (`list(true)`), each with a deadline,
 * concurrently; callers asking while a round runs share it.
 */
export class StorageElementMonitor {
  readonly #seen = new Map<string, Seen>();
  readonly #caDirs = new Map<string, string>();
  #round: Promise<void> | null = null;
  #lastRound = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: StorageElementMonitorOptions) {}

  start(): void {
    void this.#probeAll();
    this.#timer = setInterval(() => void this.#probeAll(), this.opts.intervalMs);
    this.#timer.unref();
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#round ?? Promise.resolve();
  }

  /** Every element as the Resources page shows it; `refresh`: probe now (unless a probe just finished). */
  async list(refresh = false): Promise<StorageElementModel[]> {
    if (this.#round) await this.#round;
    // An element never probed (the embedded one comes up after the first round) is probed now.
    const unseen = this.#targets().some((t) => !this.#seen.has(t.name));
    if (unseen || (refresh && Date.now() - this.#lastRound > REFRESH_REUSE_MS)) await this.#probeAll();
    return this.#targets().map((t) => {
      const s = this.#seen.get(t.name);
      return {
        name: t.name, url: t.url, kind: t.kind,
        state: s?.result?.state ?? null, latencyMs: s?.result?.latencyMs ?? null, version: s?.result?.version ?? null,
        message: s?.result?.message ?? 'not probed yet', checked: s?.checked ?? null, lastError: s?.lastError ?? null,
      };
    });
  }

  #targets(): Array<{ name: string; url: string; kind: string; element?: StorageElementConfig; embedded?: XrootdHandle }> {
    const ep = this.opts.embedded();
    const out: Array<{ name: string; url: string; kind: string; element?: StorageElementConfig; embedded?: XrootdHandle }> = [];
    if (ep) out.push({ name: 'embedded', url: ep.rootUrl, kind: 'xrootd', embedded: ep });
    for (const e of this.opts.elements) out.push({ name: e.name, url: e.url, kind: e.kind ?? (e.url.startsWith('root') ? 'xrootd' : 'webdav'), element: e });
    return out;
  }

  #probeAll(): Promise<void> {
    if (this.#round) return this.#round;
    this.#round = (async () => {
      await Promise.all(this.#targets().map(async (t) => {
        const result = await (t.embedded ? this.#probeEmbedded(t.embedded) : this.#probeConfigured(t.element!)).catch((err: unknown): ProbeResult => {
          log.warn('storage probe failed', { element: t.name, error: String(err) });
          return { state: 'degraded', latencyMs: 0, version: null, message: 'The hub could not probe this element; see the hub\'s log.' };
        });
        const at = new Date().toISOString();
        const prev = this.#seen.get(t.name);
        const lastError = result.state === 'ok' ? prev?.lastError ?? null : { message: result.message, at };
        if (result.state !== 'ok' && prev?.result?.state !== result.state) log.warn('storage element not ok', { element: t.name, state: result.state, message: result.message });
        this.#seen.set(t.name, { result, checked: at, lastError });
      }));
    })().finally(() => {
      this.#lastRound = Date.now();
      this.#round = null;
    });
    return this.#round;
  }

  async #probeEmbedded(ep: XrootdHandle): Promise<ProbeResult> {
    if (!isXrootd(ep.pid)) return { state: 'unreachable', latencyMs: 0, version: null, message: `xrootd (pid ${ep.pid}) is not running; the hub starts it again within 10 s. If it keeps stopping, see ${ep.logFile}.` };
    const own = new URL(ep.httpsUrl);
    // The hub reaches its own element on the loopback (the certificate names 127.0.0.1 too).
    const url = new URL(`root://127.0.0.1:${own.port}`);
    return probeElement({ url, timeoutMs: this.opts.timeoutMs, slowMs: this.opts.slowMs, caDir: ep.caDir, token: await signProbeToken(this.opts.signer, `https://${own.host}`) });
  }

  async #probeConfigured(e: StorageElementConfig): Promise<ProbeResult> {
    const url = new URL(e.url);
    const target: ProbeTarget = { url, timeoutMs: this.opts.timeoutMs, slowMs: this.opts.slowMs, ...(e.checkPath ? { checkPath: e.checkPath } : {}) };
    if (e.caFile) {
      let pem: string;
      try {
        pem = readFileSync(e.caFile, 'utf8');
      } catch (err) {
        return { state: 'degraded', latencyMs: 0, version: null, message: `caFile ${e.caFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): fix the path in storage.elements, or make it readable by the hub.` };
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) return { state: 'degraded', latencyMs: 0, version: null, message: `caFile ${e.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----): point it at the CA's certificate in PEM.` };
      if (url.protocol === 'root:' || url.protocol === 'roots:') target.caDir = this.#hashedCaDir(e.name, pem);
      else target.caPem = pem;
    }
    if (url.protocol === 'root:' || url.protocol === 'roots:') {
      const port = url.port || '1094';
      target.token = await signProbeToken(this.opts.signer, `https://${url.hostname}:${port}`);
    }
    return probeElement(target);
  }

  /** XRootD's client wants a hashed CA directory (OpenSSL's -CApath layout): made once per element from its caFile. */
  #hashedCaDir(name: string, pem: string): string {
    const key = `${name}\n${pem}`;
    const known = this.#caDirs.get(key);
    if (known) return known;
    const dir = join(this.opts.workDir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    const used = new Map<string, number>();
    certs.forEach((c, i) => {
      const file = join(dir, `ca-${i}.pem`);
      writeFileSync(file, c + '\n', { mode: 0o644 });
      const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', file], { encoding: 'utf8', timeout: 10_000 }).trim();
      const n = used.get(hash) ?? 0;
      used.set(hash, n + 1);
      symlinkSync(`ca-${i}.pem`, join(dir, `${hash}.${n}`));
    });
    this.#caDirs.set(key, dir);
    return dir;
  }
}
