/**
 * Debian's JupyterHub 3.0 (`/usr/bin/jupyterhub`, package `jupyterhub`) as a peer: in a temp dir
 * on free ports, DummyAuthenticator, SimpleLocalProcessSpawner running Debian's
 * jupyterhub-singleuser, SQLite, an admin service token. Its proxy is whatever command is given
 * (default: Debian's configurable-http-proxy). Used by the benchmarks that measure JupyterHub
 * beside highrate and by the test that runs JupyterHub on highrate's proxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/http/ports.js';
import { http } from './http.js';

export const JUPYTERHUB = '/usr/bin/jupyterhub';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface JupyterHubOptions {
  /** ConfigurableHTTPProxy.command; default Debian's configurable-http-proxy. */
  proxyCommand?: string[];
  /** Leave the proxy and servers running when the hub stops (cleanup_proxy/cleanup_servers False), for restart tests. */
  keepProxyOnStop?: boolean;
  /** More lines of jupyterhub_config.py. */
  extraConfig?: string[];
  /**
   * An externally managed proxy (ConfigurableHTTPProxy.should_start = False, as zero-to-jupyterhub
   * runs CHP in a pod of its own): called before the hub starts, it starts the proxy on
   * `hub.port`/`hub.apiPort` with `hub.proxyToken`.
   */
  externalProxy?: (hub: JupyterHub3) => Promise<void>;
}

/** A JupyterHub 3.0 in its own temp dir; `close()` kills everything it started and removes the dir. */
export class JupyterHub3 {
  readonly dir: string;
  readonly port: number;
  readonly apiPort: number;
  readonly hubPort: number;
  readonly adminToken = randomBytes(24).toString('hex');
  readonly proxyToken = randomBytes(24).toString('hex');
  readonly base: string;
  readonly logFile: string;
  #child: ChildProcess | undefined;

  private constructor(dir: string, ports: [number, number, number]) {
    this.dir = dir;
    [this.port, this.apiPort, this.hubPort] = ports;
    this.base = `http://127.0.0.1:${this.port}`;
    this.logFile = join(dir, 'jupyterhub.log');
  }

  /** Writes the config and starts the hub; resolves once `/hub/api` answers through the proxy. */
  static async start(parent: string, opts: JupyterHubOptions = {}): Promise<JupyterHub3> {
    const dir = mkdtempSync(join(parent, 'jupyterhub-'));
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const hub = new JupyterHub3(dir, [...ports] as [number, number, number]);
    hub.#writeConfig(opts);
    try {
      await opts.externalProxy?.(hub);
      await hub.startHub();
    } catch (err) {
      hub.close();
      throw err;
    }
    return hub;
  }

  #writeConfig(opts: JupyterHubOptions): void {
    const py = (s: string) => JSON.stringify(s);
    const dir = this.dir;
    writeFileSync(join(dir, 'jupyterhub_config.py'), [
      `c.JupyterHub.ip = '127.0.0.1'`,
      `c.JupyterHub.port = ${this.port}`,
      `c.JupyterHub.hub_ip = '127.0.0.1'`,
      `c.JupyterHub.hub_port = ${this.hubPort}`,
      `c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${this.apiPort}'`,
      `c.ConfigurableHTTPProxy.auth_token = ${py(this.proxyToken)}`,
      `c.ConfigurableHTTPProxy.command = ${JSON.stringify(opts.proxyCommand ?? ['/usr/bin/configurable-http-proxy'])}`,
      `c.ConfigurableHTTPProxy.pid_file = ${py(join(dir, 'proxy.pid'))}`,
      `c.JupyterHub.pid_file = ${py(join(dir, 'jupyterhub.pid'))}`,
      `c.JupyterHub.db_url = ${py(`sqlite:///${join(dir, 'jupyterhub.sqlite')}`)}`,
      `c.JupyterHub.cookie_secret_file = ${py(join(dir, 'jupyterhub_cookie_secret'))}`,
      `c.JupyterHub.authenticator_class = 'dummy'`,
      `c.JupyterHub.spawner_class = 'jupyterhub.spawner.SimpleLocalProcessSpawner'`,
      `c.SimpleLocalProcessSpawner.home_dir_template = ${py(join(dir, 'homes', '{username}'))}`,
      `c.Spawner.cmd = ['/usr/bin/jupyterhub-singleuser']`,
      `c.Spawner.args = ['--allow-root']`,
      `c.Spawner.notebook_dir = ${py(join(dir, 'homes', '{username}'))}`,
      `c.JupyterHub.services = [{'name': 'admin-service', 'api_token': ${py(this.adminToken)}}]`,
      `c.JupyterHub.load_roles = [{'name': 'admin-service', 'scopes': ['admin:users', 'admin:servers', 'tokens', 'proxy'], 'services': ['admin-service']}]`,
      ...(opts.keepProxyOnStop ? ['c.JupyterHub.cleanup_proxy = False', 'c.JupyterHub.cleanup_servers = False'] : []),
      ...(opts.externalProxy ? ['c.ConfigurableHTTPProxy.should_start = False'] : []),
      ...(opts.extraConfig ?? []),
    ].join('\n') + '\n');
  }

  /** Starts the hub process (again, after `stopHub`); resolves once `/hub/api` answers through the proxy. */
  async startHub(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    // Debian's configurable-http-proxy finds its modules (commander, http-proxy…) in
    // /usr/share/nodejs, which only Debian's own node searches; this machine's node is another build.
    const env = { ...process.env, NODE_PATH: ['/usr/share/nodejs', process.env.NODE_PATH].filter(Boolean).join(':') };
    const child = spawn(JUPYTERHUB, ['-f', join(this.dir, 'jupyterhub_config.py')], { cwd: this.dir, env, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    this.#child = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await http('GET', `${this.base}/hub/api`).catch(() => undefined);
      if (r?.status === 200) return;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`JupyterHub did not start (exit ${child.exitCode}):\n${this.logTail(30)}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM to the hub process alone, waiting for it to exit (what it cleans up depends on keepProxyOnStop). */
  async stopHub(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** The proxy's pid as JupyterHub recorded it, or null. */
  proxyPid(): number | null {
    const file = join(this.dir, 'proxy.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
  }

  logTail(lines: number): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Creates `name` and returns an API token of that user. */
  async newUser(name: string): Promise<string> {
    const headers = { authorization: `token ${this.adminToken}` };
    const u = await http('POST', `${this.base}/hub/api/users/${name}`, { headers });
    if (u.status !== 201) throw new Error(`JupyterHub: create ${name}: ${u.status} ${u.text.slice(0, 300)}`);
    const t = await http('POST', `${this.base}/hub/api/users/${name}/tokens`, { headers, body: { note: 'test' } });
    if (t.status !== 201) throw new Error(`JupyterHub: token for ${name}: ${t.status} ${t.text.slice(0, 300)}`);
    return t.json().token;
  }

  /** Kills the hub, its proxy and servers (by process group, then by cwd), synchronously, and removes the dir. */
  close(): void {
    try { process.kill(-this.#child!.pid!, 'SIGKILL'); } catch { /* gone */ }
    // The proxy and every server run in sessions of their own, all with their cwd in `dir`.
    for (let i = 0; i < 5 && killUnder(this.dir) > 0; i++) { /* until none is left */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIGKILLs every process of ours whose working directory is `dir` or below; how many. */
export function killUnder(dir: string): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cwd: string;
    try { cwd = readlinkSync(`/proc/${pid}/cwd`); } catch { continue; }
    if (cwd !== dir && !cwd.startsWith(dir + '/')) continue;
    try { process.kill(pid, 'SIGKILL'); n++; } catch { /* gone */ }
  }
  return n;
}
