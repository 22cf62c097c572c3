/** Small helpers for the proxy's integration tests: ports, HTTP calls, WebSockets, a real CHP. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection; the whole answer, body as text. */
export function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A port that was free a moment ago (for programs that cannot report the port they bound). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Opens a WebSocket; resolves when open, rejects with the HTTP status when the upgrade is refused. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** Sends a text message and waits for the next one. */
export function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.once('error', reject);
    ws.send(text);
  });
}

/** Polls `probe` until it resolves truthy, or fails after `ms`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export interface ChpProcess {
  readonly publicUrl: string;
  readonly apiUrl: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the real configurable-http-proxy (devDependency) on free ports and waits until its API answers. */
export async function startChp(token: string, extraArgs: string[] = []): Promise<ChpProcess> {
  const port = await freePort();
  const apiPort = await freePort();
  const child = spawn(path.join(REPO, 'node_modules/.bin/configurable-http-proxy'),
    ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--log-level', 'error', ...extraArgs],
    { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await waitFor(async () => (await call(`${apiUrl}/api/routes`, { headers: { authorization: `token ${token}` } })).status === 200, 15_000);
  } catch (err) {
    await stop();
    throw new Error(`CHP did not start: ${(err as Error).message}\n${stderr}`);
  }
  return { publicUrl: `http://127.0.0.1:${port}`, apiUrl, child, stop };
}
