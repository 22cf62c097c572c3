import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/executors/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'bin', 'highrate.js');

/** A `highrate plugin serve` process started by a test. */
export interface PluginProcess {
  /** What it printed it serves at: http://127.0.0.1:PORT or unix:///path. */
  url: string;
  child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts `highrate plugin serve ARGS…` and waits until it prints where it listens. */
export async function startPluginProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<PluginProcess> {
  const child = spawn(process.execPath, [CLI, 'plugin', 'serve', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HIGHRATE_LOG_LEVEL: process.env.HIGHRATE_LOG_LEVEL ?? 'warn', ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // The safety net: should the test process end without its after-hooks (an uncaught error),
  // the plugin process ends with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`plugin serve did not start within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = / at ((?:https?|unix):\/\/\S+?)(?: with|,|\n)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`plugin serve exited (${code ?? sig}) before listening:\n${out}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { url, child, output: () => out, stop };
}

/** A response as the wire tests look at it. */
export interface WireReply { status: number; headers: Record<string, string | string[] | undefined>; text: string; json<T = any>(): T }

/**
 * One request with node:http: any method, any body (GET with a JSON body included), over TCP
 * (`http://…`) or a unix socket (`unix:///path`).
 */
export function wire(base: string, method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<WireReply> {
  const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  const target = base.startsWith('unix://')
    ? { socketPath: base.slice('unix://'.length), path }
    : (() => { const u = new URL(base); return { hostname: u.hostname, port: u.port, path }; })();
  return new Promise((resolveReply, reject) => {
    const req = request({ ...target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolveReply({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
