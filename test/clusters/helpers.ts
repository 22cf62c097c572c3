import { spawn } from 'node:child_process';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, type Reply } from '../helpers/http.js';
import { ROOT, type Platform } from '../helpers/platform.js';

export const PYTHON = '/usr/bin/python3';
export const CLIENT = join(ROOT, 'test', 'fixtures', 'dask_client.py');
export const GATEWAY = '/services/dask-gateway';

/** A dask-gateway API call as its Python client makes it: JSON, `Authorization: jupyterhub <token>`. */
export function gw(p: Platform, method: string, path: string, token: string | null, body?: unknown, scheme = 'jupyterhub'): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `${scheme} ${token}`;
  return http(method, `${p.base}${GATEWAY}${path}`, { headers, body });
}

/** Polls `fn` until it returns a truthy value, or fails after `ms` with `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 60_000, every = 200): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal) throw err;
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The cluster JSON once it is not PENDING (dask-gateway's `?wait` loop). */
export async function waitRunning(p: Platform, token: string, name: string): Promise<any> {
  return waitFor(`cluster ${name} to leave PENDING`, async () => {
    const r = await gw(p, 'GET', `/api/v1/clusters/${name}?wait`, token);
    if (r.status !== 200) throw new Error(`GET cluster: ${r.status} ${r.text}`);
    const c = r.json();
    return c.status === 'PENDING' ? null : c;
  }, 90_000, 50);
}

/** highrate's model of a cluster (worker counts and failure). */
export async function model(p: Platform, token: string, name: string): Promise<any> {
  const r = await http('GET', `${p.base}/hub/api/clusters/${name}`, { headers: { authorization: `token ${token}` } });
  if (r.status !== 200) throw new Error(`GET /hub/api/clusters/${name}: ${r.status} ${r.text}`);
  return r.json();
}

/** Waits until the scheduler has exactly `n` connected workers (per highrate's model). */
export function waitWorkers(p: Platform, token: string, name: string, n: number, ms = 90_000): Promise<any> {
  return waitFor(`${n} connected workers on ${name}`, async () => {
    const m = await model(p, token, name);
    if (m.status === 'FAILED') throw Object.assign(new Error(`cluster failed: ${m.failure}`), { fatal: true });
    return m.workers.connected_to_scheduler === n && m.workers.running === n && m.workers.starting === 0 ? m : null;
  }, ms);
}

/** Runs test/fixtures/dask_client.py with `spec` on stdin; resolves with its JSON line. */
export function daskClient(spec: Record<string, unknown>, timeoutMs = 120_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dask client timed out; stderr: ${err.slice(-2000)}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`dask client exited ${code} without JSON: ${out.slice(-500)} ${err.slice(-2000)}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

/** A Dask client kept open: `next()` resolves with its next JSON line; `send` writes one line to it. */
export interface DaskSession {
  next(timeoutMs?: number): Promise<any>;
  send(line: string): void;
  kill(): void;
}

/** Starts test/fixtures/dask_client.py with `spec` and keeps it running (job "session"). */
export function daskSession(spec: Record<string, unknown>): DaskSession {
  const child = spawn(PYTHON, [CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  let err = '';
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiting.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  child.on('exit', () => { for (const w of waiting.splice(0)) w(); });
  child.stdin.write(JSON.stringify(spec) + '\n');
  return {
    async next(timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (lines.length === 0) {
        if (child.exitCode !== null || Date.now() > end) throw new Error(`dask session: no line (exit ${child.exitCode}); stderr: ${err.slice(-2000)}`);
        await new Promise<void>((r) => { waiting.push(r); setTimeout(r, 200); });
      }
      return JSON.parse(lines.shift()!);
    },
    send(line: string) { child.stdin.write(line + '\n'); },
    kill() { child.kill('SIGKILL'); },
  };
}

/** The connection spec of a cluster through the platform's Dask port. */
export function connection(p: Platform, cluster: { name: string; tls_cert: string; tls_key: string }, daskPort?: number): Record<string, unknown> {
  const port = daskPort ?? p.hub!.clusters!.service.proxyAddress.split(':').pop();
  return { address: `tls://127.0.0.1:${port}`, sni: `daskgateway-${cluster.name}`, cert: cluster.tls_cert, key: cluster.tls_key };
}

/** A free TCP port on 127.0.0.1 (for a Dask port that must stay the same across hub restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The python process of a cluster's scheduler or of one worker (not its bubblewrap parents). */
export function pythonProcess(cluster: string, kind: 'scheduler' | 'worker', worker?: string): number | undefined {
  for (const pid of daskProcesses(cluster, kind)) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]!.includes('python')) continue;
    if (worker && !argv.includes(worker)) continue;
    return pid;
  }
  return undefined;
}

/**
 * PIDs of Dask scheduler and worker processes (with bubblewrap, its two processes per container
 * count too); with `cluster`, only that cluster's; with `kind`, only schedulers or workers.
 */
export function daskProcesses(cluster?: string, kind?: 'scheduler' | 'worker'): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (!/distributed\.cli\.dask_(scheduler|worker)/.test(cmd)) continue;
    if (kind && !cmd.includes(`distributed.cli.dask_${kind}`)) continue;
    if (cluster && !cmd.includes(cluster)) continue;
    out.push(Number(entry));
  }
  return out;
}

/**
 * Stops every active cluster of the platform (test cleanup): in-process through the service, for
 * a hub process through the API with an admin token.
 */
/** A test file's `after`: every cluster stopped (and waited for), then the platform closed, whatever failed. */
export async function closeWithClusters(p: Platform | undefined, adminToken?: string): Promise<void> {
  if (!p) return;
  try {
    await stopAllClusters(p, adminToken);
  } finally {
    await p.close();
  }
}

export async function stopAllClusters(p: Platform, adminToken?: string): Promise<void> {
  const svc = p.hub?.clusters?.service;
  if (!svc) {
    if (!adminToken || p.child?.exitCode !== null) return;
    const r = await http('GET', `${p.base}/hub/api/clusters?all=1&status=PENDING,RUNNING,STOPPING`, { headers: { authorization: `token ${adminToken}` } }).catch(() => null);
    for (const c of r?.status === 200 ? r.json().clusters : []) {
      await http('DELETE', `${p.base}/hub/api/clusters/${c.name}`, { headers: { authorization: `token ${adminToken}` } }).catch(() => undefined);
    }
    return;
  }
  const rows = await svc.list(undefined, ['PENDING', 'RUNNING', 'STOPPING']);
  await Promise.all(rows.map((r) => svc.stop(r.name).catch(() => undefined)));
  await svc.settle();
}
