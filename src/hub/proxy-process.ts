import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import { ProxyClient } from '../proxy/index.js';

export interface ProxyProcessOptions {
  dataDir: string;
  ip: string;
  port: number;
  apiPort: number;
  hubUrl: string;
  token: string;
  /**
   * The file holding `token` (the hub's `<data>/secrets/proxy-token`, mode 0600), passed as
   * --auth-token-file so that the token is in no process environment. Without it the token
   * travels in CONFIGPROXY_AUTH_TOKEN, as with CHP.
   */
  tokenFile?: string;
  /**
   * The URL users reach the platform at: its origin is passed as --allow-origin, so its pages may
   * use the session cookie on user routes also when a reverse proxy in front rewrites Host.
   */
  publicUrl?: string;
  /** The Dask port the proxy also routes (clusters enabled), or null. */
  dask: { port: number; ip: string } | null;
  /**
   * Deadlines towards targets and WebSocket keep-alive (config `proxy.*`, in ms; 0 = off), passed
   * as --target-timeout, --connect-timeout and --ws-ping-interval. Without it the proxy has none
   * (CHP's behaviour).
   */
  deadlines?: ProxyDeadlines;
}

/** The proxy's deadlines, ms (0 = off). */
export interface ProxyDeadlines {
  targetTimeoutMs: number;
  connectTimeoutMs: number;
  wsPingIntervalMs: number;
}

/** The proxy's deadlines from the config's `proxy` section (seconds there, ms here). */
export function proxyDeadlines(config: { targetTimeout: number; connectTimeout: number; wsPingInterval: number }): ProxyDeadlines {
  return { targetTimeoutMs: config.targetTimeout * 1000, connectTimeoutMs: config.connectTimeout * 1000, wsPingIntervalMs: config.wsPingInterval * 1000 };
}

/** The flags that pass `deadlines` (a 0 is passed too: the proxy reads it as "off"). */
function deadlineFlags(d: ProxyDeadlines | undefined): string[] {
  if (d === undefined) return [];
  return ['--target-timeout', String(d.targetTimeoutMs), '--connect-timeout', String(d.connectTimeoutMs), '--ws-ping-interval', String(d.wsPingIntervalMs)];
}

/** What `<data>/run/proxy.json` records; the proxy is reused only when all of it still holds. */
interface ProxyRecord {
  pid: number;
  apiUrl: string;
  publicPort: number;
  ip: string;
  hubUrl?: string;
  dask?: ProxyProcessOptions['dask'];
  tokenFile?: string;
  allowOrigins?: string[];
  deadlines?: ProxyDeadlines;
}

/**
 * The variables the proxy inherits, when the hub has them; nothing else. The hub's environment
 * may hold its secrets (HIGHRATE_ADMIN_PASSWORD, client secrets, cloud credentials), none of
 * which the proxy needs, and /proc/<pid>/environ of a long-lived process is one more place to
 * read them from. NODE_EXTRA_CA_CERTS is kept: a hub behind https with a site CA (the authorize
 * URL) must still be trusted; so are glibc's malloc settings an administrator tunes the
 * platform's memory with (MALLOC_ARENA_MAX: fewer arenas, less native memory held).
 */
const PROXY_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'HIGHRATE_LOG_LEVEL', 'NODE_EXTRA_CA_CERTS', 'MALLOC_ARENA_MAX'] as const;

/** The proxy's environment: `PROXY_ENV` from `parent`, HIGHRATE_COMPONENT, and the token only when given. */
export function proxyEnvironment(parent: NodeJS.ProcessEnv, token?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PROXY_ENV) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  env.HIGHRATE_COMPONENT = 'proxy';
  if (token !== undefined) env.CONFIGPROXY_AUTH_TOKEN = token;
  return env;
}

/**
 * Finds the proxy a previous hub started (`<data>/run/proxy.json`) and reuses it when it still
 * answers with our token: the proxy outlives the hub, so users keep their connections. Otherwise
 * starts a new one, detached, logging to `<data>/logs/proxy.log`, with a minimal environment
 * (`proxyEnvironment`) and its token in `tokenFile` when one is given.
 */
export async function ensureProxy(opts: ProxyProcessOptions): Promise<{ client: ProxyClient; pid: number; reused: boolean }> {
  const runFile = join(opts.dataDir, 'run', 'proxy.json');
  const apiUrl = `http://127.0.0.1:${opts.apiPort}`;
  const allowOrigins = opts.publicUrl === undefined ? [] : [new URL(opts.publicUrl).origin];
  try {
    const rec = JSON.parse(readFileSync(runFile, 'utf8')) as ProxyRecord;
    // The hub's URL is part of the proxy's command line (its authorize URL): a hub that moved
    // ports (hubPort: 0) needs a new proxy, or every edge check would fail.
    // So are the allowed origins and how the token is passed: a proxy started before the hub
    // passed them (token in its environment, no --allow-origin) is replaced, not reused.
    const sameDask = JSON.stringify(rec.dask ?? null) === JSON.stringify(opts.dask);
    const sameOrigins = JSON.stringify(rec.allowOrigins ?? []) === JSON.stringify(allowOrigins);
    // A proxy without the configured deadlines (started by an older hub, or before a config
    // change) is replaced, so that a deployment is protected after its upgrade.
    const sameDeadlines = JSON.stringify(rec.deadlines ?? null) === JSON.stringify(opts.deadlines ?? null);
    if (rec.apiUrl === apiUrl && rec.publicPort === opts.port && rec.ip === opts.ip && rec.hubUrl === opts.hubUrl && sameDask &&
      rec.tokenFile === opts.tokenFile && sameOrigins && sameDeadlines && isAlive(rec.pid)) {
      const client = new ProxyClient(rec.apiUrl, opts.token);
      await client.getRoutes();
      log.info('re-attached to the running proxy', { pid: rec.pid });
      return { client, pid: rec.pid, reused: true };
    }
    if (isAlive(rec.pid)) {
      log.warn('stopping the proxy of a previous configuration', { pid: rec.pid });
      process.kill(rec.pid, 'SIGTERM');
      await waitGone(rec.pid, 5000);
    }
  } catch {
    // no record, or a stale one: start afresh
  }
  mkdirSync(join(opts.dataDir, 'logs'), { recursive: true });
  mkdirSync(dirname(runFile), { recursive: true });
  const logFile = join(opts.dataDir, 'logs', 'proxy.log');
  const logFd = openSync(logFile, 'a');
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'proxy', 'main.js');
  const child = spawn(process.execPath, [
    main, '--ip', opts.ip, '--port', String(opts.port), '--api-ip', '127.0.0.1', '--api-port', String(opts.apiPort),
    '--default-target', opts.hubUrl, '--authorize-url', `${opts.hubUrl}/hub/api/proxy/authorize`,
    ...(opts.dask ? ['--dask-port', String(opts.dask.port), '--dask-ip', opts.dask.ip] : []),
    ...(opts.tokenFile === undefined ? [] : ['--auth-token-file', opts.tokenFile]),
    ...allowOrigins.flatMap((origin) => ['--allow-origin', origin]),
    ...deadlineFlags(opts.deadlines),
  ], { detached: true, stdio: ['ignore', logFd, logFd], env: proxyEnvironment(process.env, opts.tokenFile === undefined ? opts.token : undefined) });
  closeSync(logFd);
  child.unref();
  const client = new ProxyClient(apiUrl, opts.token);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.getRoutes();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const ports = [opts.port, opts.apiPort, ...(opts.dask ? [opts.dask.port] : [])].filter((p) => p !== 0);
        const why = lastStartError(logFile);
        throw fail('UPSTREAM_UNAVAILABLE', `The proxy did not start${why ? ` (${why})` : ''}; see ${logFile}. Is one of the ports ${ports.join(', ')} in use? Choose others with --port and --dask-port.`, { detail: String(err) });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  writeFileSync(runFile, JSON.stringify({
    pid: child.pid!, apiUrl, publicPort: opts.port, ip: opts.ip, hubUrl: opts.hubUrl, dask: opts.dask, tokenFile: opts.tokenFile, allowOrigins, deadlines: opts.deadlines,
  } satisfies ProxyRecord));
  log.info('proxy started', { pid: child.pid, port: opts.port });
  return { client, pid: child.pid!, reused: false };
}

/** The error of the last "proxy could not start" line in the proxy's log, if any. */
function lastStartError(logFile: string): string | null {
  try {
    const lines = readFileSync(logFile, 'utf8').slice(-8192).trim().split('\n').reverse();
    for (const line of lines) {
      if (!line.includes('proxy could not start')) continue;
      const error = (JSON.parse(line) as { error?: unknown }).error;
      return typeof error === 'string' ? error : null;
    }
  } catch {
    // no log, or not ours
  }
  return null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (isAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}
