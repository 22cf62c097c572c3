import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { startHub, type RunningHub } from '../../src/platform/start.js';
import { SqliteAccountStore } from '../../src/idp/accounts.js';
import { removeXrootdEnvFile } from '../../src/storage/xrootd-process.js';
import { removePodCgroup, type PodCgroup } from '../../src/executors/local/cgroups.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { browserLogin, CookieJar, http } from './http.js';
import { readProgress } from './kernel.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'bin', 'highrate.js');

/** Two consecutive free ports (public port and the route API at port + 1). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    // Below Linux's ephemeral range (32768–60999): an outgoing connection never takes the port
    // between this check and the proxy's listen.
    const p = 20000 + Math.floor(Math.random() * 12700);
    if ((await canBind(p)) && (await canBind(p + 1))) return p;
  }
  throw new Error('no free port pair');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface PlatformOptions {
  /** Config overrides (merged over hub.port etc.). */
  config?: Record<string, any>;
  /** Run the hub as its own `highrate up` process (for restart tests) instead of in-process. */
  process?: boolean;
  users?: Array<{ name: string; password?: string; groups?: string[] }>;
  /**
   * Where the data directory is made (default the OS temp dir). /tmp is a private tmpfs in every
   * pod, which would hide a data directory there for free; tests of the hiding itself put it elsewhere.
   */
  dataParent?: string;
}

/**
 * A whole platform on free ports in a temp data dir: hub, proxy and embedded IdP, with accounts.
 * `close()` stops every server it started, the hub and the proxy (by PID), and removes the dir.
 */
export class Platform {
  hub?: RunningHub;
  child?: ChildProcess;
  output = '';

  private constructor(readonly dataDir: string, readonly port: number, readonly configFile: string) {}

  get base(): string { return `http://127.0.0.1:${this.port}`; }

  static async start(opts: PlatformOptions = {}): Promise<Platform> {
    if (opts.dataParent) mkdirSync(opts.dataParent, { recursive: true });
    const dataDir = mkdtempSync(join(opts.dataParent ?? tmpdir(), 'highrate-test-'));
    // A test that must know the port before the hub starts (an IdP's redirect URI) passes hub.port.
    const port: number = opts.config?.hub?.port ?? await freePortPair();
    // Every port from the OS, so platforms of parallel test files never collide (Dask's 8786 included).
    const raw = {
      ...(opts.config ?? {}),
      hub: { port, hubPort: 0, reconcileInterval: 2, ...(opts.config?.hub ?? {}) },
      clusters: { daskPort: 0, ...(opts.config?.clusters ?? {}) },
      // `highrate up` runs the embedded XRootD where it is installed, on port 1094: tests that
      // want it say so (with a free port), the others must not compete for that port.
      storage: { embedded: false, ...(opts.config?.storage ?? {}) },
    };
    const configFile = join(dataDir, 'config.yaml');
    writeFileSync(configFile, stringify(raw));
    const p = new Platform(dataDir, port, configFile);
    const accounts = new SqliteAccountStore(new Database(join(mkdirp(join(dataDir, 'idp')), 'idp.sqlite')));
    for (const u of opts.users ?? []) await accounts.add(u.name, u.password ?? `${u.name}-password`, u.groups ?? []);
    if (!(await accounts.get('admin'))) await accounts.add('admin', 'admin-password', []);
    try {
      if (opts.process) await p.startProcess();
      else p.hub = await startHub({ config: validateConfig(raw), dataDir, announce: (l) => { p.output += l + '\n'; } });
    } catch (err) {
      // A start that failed half way may have left a proxy running: the caller has no handle to close.
      if (p.child && p.child.exitCode === null) p.child.kill('SIGKILL');
      killRecordedProcesses(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    return p;
  }

  /** Starts the hub as a separate `highrate up` process and waits until it answers. */
  async startProcess(): Promise<void> {
    this.output = '';
    const child = spawn(process.execPath, [CLI, 'up', '--data-dir', this.dataDir, '--config', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HIGHRATE_LOG_LEVEL: 'warn' },
    });
    child.stdout!.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (!this.output.includes('highrate is running at')) {
      if (child.exitCode !== null) throw new Error(`highrate up exited ${child.exitCode}: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`highrate up did not start: ${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The pid of the proxy the hub started (from `<data>/run/proxy.json`). */
  proxyPid(): number {
    return (JSON.parse(readFileSync(join(this.dataDir, 'run', 'proxy.json'), 'utf8')) as { pid: number }).pid;
  }

  /** The pid of a pod's supervisor (process group leader), from its executor's state file. */
  podPid(row: { executor: string | null; podUid: string | null }): number {
    return (JSON.parse(readFileSync(join(this.dataDir, 'executors', row.executor!, 'pods', row.podUid!, 'state.json'), 'utf8')) as { pid: number }).pid;
  }

  /** SIGKILLs the hub process (not the proxy, not the servers). */
  async killHub(): Promise<void> {
    const child = this.child!;
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  }

  async login(name: string, password = `${name}-password`): Promise<CookieJar> {
    return browserLogin(this.base, name, name === 'admin' && password === 'admin-password' ? 'admin-password' : password);
  }

  /** An API token for `name` (creating the user if needed), through the store. */
  async token(name: string, scopes: string[] = []): Promise<string> {
    const store = await this.openStore();
    try {
      if (!(await store.getUser(name))) await store.createUsers([name]);
    } finally {
      await store.close();
    }
    const args = ['token', 'issue', name, '--data-dir', this.dataDir, '--config', this.configFile];
    if (scopes.length) args.push('--scopes', scopes.join(','));
    return execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' }).trim().split('\n').pop()!;
  }

  async openStore(): Promise<Store> {
    const store = await createStore(`sqlite://${join(this.dataDir, 'highrate.sqlite')}`);
    await store.migrate();
    return store;
  }

  /**
   * Starts `user`'s server through the API with `token` and reads its progress stream to the end;
   * throws unless it ends ready. Returns the progress events.
   */
  async startServer(user: string, token: string, body: Record<string, unknown> = { cores: 1 }, server = ''): Promise<any[]> {
    const path = server ? `/hub/api/users/${user}/servers/${server}` : `/hub/api/users/${user}/server`;
    const r = await this.api('POST', path, { token }, body);
    if (![201, 202].includes(r.status)) throw new Error(`start of ${user}/${server}: ${r.status} ${r.text}`);
    const events = await readProgress(this.base, `${path}/progress`, { authorization: `token ${token}` });
    if (events.at(-1)?.ready !== true) throw new Error(`${user}/${server} did not start: ${JSON.stringify(events.at(-1))}`);
    return events;
  }

  api(method: string, path: string, auth: { token?: string; jar?: CookieJar }, body?: unknown) {
    const headers: Record<string, string> = {};
    if (auth.token) headers.authorization = `token ${auth.token}`;
    if (auth.jar) {
      headers.cookie = auth.jar.header();
      const x = auth.jar.get('_xsrf');
      if (x) headers['x-xsrftoken'] = x;
    }
    return http(method, `${this.base}${path}`, { headers, body });
  }

  async close(): Promise<void> {
    try {
      const store = await this.openStore();
      const active = await store.listActiveServers();
      await store.close();
      if (this.hub) {
        for (const row of active) await this.hub.hub.servers.stopNow(row, 'test cleanup').catch(() => undefined);
        await this.hub.hub.servers.settle();
        await this.hub.close();
      }
    } finally {
      if (this.child && this.child.exitCode === null) {
        this.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 300));
        this.child.kill('SIGKILL');
      }
      killRecordedProcesses(this.dataDir);
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

function mkdirp(dir: string): string {
  execFileSync('mkdir', ['-p', dir]);
  return dir;
}

/** Kills the proxy, the storage element and every pod supervisor recorded under the data dir, by PID. */
export function killRecordedProcesses(dataDir: string): void {
  const pids: number[] = [];
  const cgroups: PodCgroup[] = [];
  try {
    pids.push(JSON.parse(readFileSync(join(dataDir, 'run', 'proxy.json'), 'utf8')).pid);
  } catch { /* no proxy */ }
  try {
    // The embedded storage element (`highrate up` runs it when XRootD is installed) outlives the hub too.
    pids.push(JSON.parse(readFileSync(join(dataDir, 'run', 'xrootd.json'), 'utf8')).pid);
  } catch { /* no storage element */ }
  const podsRoot = join(dataDir, 'executors');
  if (existsSync(podsRoot)) {
    for (const ex of readdirSync(podsRoot)) {
      const pods = join(podsRoot, ex, 'pods');
      if (!existsSync(pods)) continue;
      for (const uid of readdirSync(pods)) {
        for (const f of ['supervisor.json', 'pid', 'state.json']) {
          try {
            const txt = readFileSync(join(pods, uid, f), 'utf8');
            const pid = Number(/"pid"\s*:\s*(\d+)/.exec(txt)?.[1] ?? txt.trim());
            if (pid > 1) pids.push(pid);
            if (f === 'state.json') {
              const cgroup = (JSON.parse(txt) as { cgroup?: PodCgroup | null }).cgroup;
              if (cgroup) cgroups.push(cgroup);
            }
          } catch { /* absent */ }
        }
      }
    }
  }
  for (const pid of pids) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* not a group */ }
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    // The embedded xrootd's environment file in /tmp, when it names this (killed) xrootd.
    removeXrootdEnvFile(pid, { killed: true });
  }
  // The pods' cgroups (the executor removes them when it deletes a pod; a killed platform does
  // not): empty once the killed processes are gone, which takes a moment.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (const cgroup of cgroups) {
    for (let i = 0; i < 50 && !removePodCgroup(cgroup); i++) Atomics.wait(pause, 0, 0, 20);
  }
}
