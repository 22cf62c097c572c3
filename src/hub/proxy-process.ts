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
  /** The Dask port the proxy also routes (clusters enabled), or null. */
  dask: { port: number; ip: string } | null;
}

/** What `<data>/run/proxy.json` records; the proxy is reused only when all of it still holds. */
interface ProxyRecord { pid: number; apiUrl: string; publicPort: number; ip: string; hubUrl?: string; dask?: ProxyProcessOptions['dask'] }

/**
 * Finds the proxy a previous hub started (`<data>/run/proxy.json`) and reuses it when it still
 * answers with our token: the proxy outlives the hub, so users keep their connections. Otherwise
 * starts a new one, detached, logging to `<data>/logs/proxy.log`.
 */
export async function ensureProxy(opts: ProxyProcessOptions): Promise<{ client: ProxyClient; pid: number; reused: boolean }> {
  const runFile = join(opts.dataDir, 'run', 'proxy.json');
  const apiUrl = `http://127.0.0.1:${opts.apiPort}`;
  try {
    const rec = JSON.parse(readFileSync(runFile, 'utf8')) as ProxyRecord;
    // The hub's URL is part of the proxy's command line (its authorize URL): a hub that moved
    // ports (hubPort: 0) needs a new proxy, or every edge check would fail.
    const sameDask = JSON.stringify(rec.dask ?? null) === JSON.stringify(opts.dask);
    if (rec.apiUrl === apiUrl && rec.publicPort === opts.port && rec.ip === opts.ip && rec.hubUrl === opts.hubUrl && sameDask && isAlive(rec.pid)) {
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
  ], { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: opts.token, HIGHRATE_COMPONENT: 'proxy' } });
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
  writeFileSync(runFile, JSON.stringify({ pid: child.pid!, apiUrl, publicPort: opts.port, ip: opts.ip, hubUrl: opts.hubUrl, dask: opts.dask } satisfies ProxyRecord));
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
