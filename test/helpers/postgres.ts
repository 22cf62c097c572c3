/**
 * A real, throwaway PostgreSQL server for tests and benchmarks, from the Debian binaries
 * (/usr/lib/postgresql/<version>/bin). Each call makes its own temp dir (data, unix socket,
 * log) and port, so several test files can run it in parallel.
 *
 * PostgreSQL refuses to run as root; tests run as root here, so the dir is given to the
 * `postgres` system user and initdb/pg_ctl run through `runuser -u postgres --`. As any other
 * user they run directly.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { pidAlive as isAlive } from './processes.js';

const run = promisify(execFile);

/** A running test server. `stop()` is idempotent and removes everything it made. */
export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth, no password). */
  url: string;
  port: number;
  /** The temp dir holding data/, sock/ and postgres.log. */
  dir: string;
  /** The postmaster's PID. */
  pid: number;
  /** Major version of the binaries used, e.g. "15". */
  version: string;
  /** Creates an empty database and returns its URL (one per test keeps tests independent). */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The newest installed PostgreSQL bin dir (HIGHRATE_PG_BIN overrides), or throws saying what
 * to install.
 */
export function findPostgresBin(): string {
  const override = process.env.HIGHRATE_PG_BIN;
  if (override) return override;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')) && fs.existsSync(path.join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions.length === 0) {
    throw new Error(`No PostgreSQL server binaries under ${root}/*/bin: apt-get install postgresql (scripts/install-deps.sh does).`);
  }
  return path.join(root, versions[0]!, 'bin');
}

/** A port the OS just gave out on 127.0.0.1 (free now; start() retries if it is taken later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', function onListening() {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}


/**
 * 'exit' handlers do not run when the test process is killed by a signal (a runner timeout,
 * Ctrl-C, SIGKILL). A detached shell watches the test process and, once it is gone, stops the
 * server and removes its dir, so no cluster outlives its test. stop() ends the watchdog.
 */
function startWatchdog(serverPid: number, dir: string): number {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'kill -QUIT "$2" 2>/dev/null; sleep 2; kill -KILL "$2" 2>/dev/null',
    'rm -rf "$3"',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'highrate-pg-watchdog', String(process.pid), String(serverPid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid ?? 0;
}

/** Starts a fresh server; resolves once it accepts connections (typically 1–3 s). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const version = path.basename(path.dirname(bin));
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-pg-'));
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  const logFile = path.join(dir, 'postgres.log');
  let pid = 0;
  let stopped = false;

  /** Runs a PostgreSQL tool as the user allowed to run it, in the temp dir. */
  function tool(name: string, args: string[]) {
    const exe = path.join(bin, name);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
    return run(file, argv, { cwd: dir, timeout: 60_000 });
  }

  /** The postmaster's PID, also when start() failed after the server came up. */
  function serverPid(): number {
    if (pid > 0) return pid;
    try {
      return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0;
    } catch {
      return 0;
    }
  }

  function killNow(): void {
    const pid = serverPid();
    // SIGQUIT is PostgreSQL's "immediate shutdown"; the postmaster takes its children down.
    if (pid > 0 && isAlive(pid)) {
      try { process.kill(pid, 'SIGQUIT'); } catch { /* already gone */ }
    }
  }

  // If the test process dies without calling stop(), take the server and its files with it.
  function onExit(): void {
    if (stopped) return;
    killNow();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.on('exit', onExit);
  let watchdogPid = 0;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    if (watchdogPid > 0) {
      try { process.kill(watchdogPid, 'SIGTERM'); } catch { /* already gone */ }
    }
    const pid = serverPid();
    if (pid > 0 && isAlive(pid)) {
      await tool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '10', 'stop']).catch(function stopFailed() { /* killed below */ });
      if (isAlive(pid)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }

  try {
    fs.mkdirSync(sock);
    if (asRoot) {
      const { uid, gid } = await postgresIds();
      fs.chownSync(dir, uid, gid);
      fs.chownSync(sock, uid, gid);
    }
    // --no-sync: a throwaway cluster needs no fsync; it saves most of initdb's time.
    await tool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      // The settings make a small, fast, non-durable server: fine for tests, never for data.
      fs.writeFileSync(path.join(data, 'postgresql.auto.conf'), [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${sock}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        'max_connections = 50',
        '',
      ].join('\n'));
      try {
        await tool('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '30', 'start']);
        break;
      } catch (err) {
        const logText = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
        // Another process took the port between freePort() and the bind: pick another.
        if (attempt < 5 && /could not (bind|create listen)|already in use/i.test(logText)) continue;
        throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${logText.slice(-2000)}`);
      }
    }
    pid = serverPid();
    watchdogPid = startWatchdog(pid, dir);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

    async function createDatabase(name: string): Promise<string> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Bad test database name: ${name}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`create database "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    }

    return { url, port, dir, pid, version, createDatabase, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
