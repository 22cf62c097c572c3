/**
 * Test peers for the proxy: a tiny backend (HTTP + WebSocket echo) standing in for a notebook
 * server, and a fake hub answering the proxy's authorize calls. Both are real servers on
 * OS-chosen ports; the benchmark uses them too.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Backend {
  readonly port: number;
  readonly url: string;
  /** Requests seen (only when started with `record: true`). */
  readonly seen: SeenRequest[];
  /** WebSocket upgrade requests seen (always recorded). */
  readonly upgrades: SeenRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

const SMALL_BODY = 'x'.repeat(99) + '\n';

/**
 * A backend that answers every request with 200 and a 100-byte text body (`name` in the
 * `x-backend` header), echoes WebSocket messages, and on `/echo` answers the request it saw as JSON.
 */
export async function startBackend(name = 'backend', opts: { record?: boolean } = {}): Promise<Backend> {
  const seen: SeenRequest[] = [];
  const upgrades: SeenRequest[] = [];
  const server = http.createServer({ keepAliveTimeout: 65_000 }, function backendRequest(req, res) {
    const path = (req.url ?? '').split('?', 1)[0]!;
    if (!opts.record && req.method === 'GET' && !path.endsWith('/echo') && !path.endsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL_BODY.length, 'x-backend': name });
      res.end(SMALL_BODY);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      if (opts.record) seen.push(entry);
      if (path.endsWith('/echo')) {
        const body = JSON.stringify({ backend: name, ...entry });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': name });
        res.end(body);
        return;
      }
      if (path.endsWith('/stream')) {
        // Chunked, slow: proves streaming and activity stamping while a response is running.
        res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
        let n = 0;
        const timer = setInterval(() => {
          res.write(`chunk ${n}\n`);
          if (++n === 3) {
            clearInterval(timer);
            res.end();
          }
        }, 50);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL_BODY.length, 'x-backend': name });
      res.end(SMALL_BODY);
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  const wss = new WebSocketServer({ server });
  wss.on('connection', function echo(ws, req: IncomingMessage) {
    upgrades.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    upgrades,
    get connections() {
      return connections;
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface FakeHub {
  readonly port: number;
  readonly url: string;
  readonly authorizeUrl: string;
  /** Bodies of the authorize calls received, in order. */
  readonly calls: Array<{ authorization: string | undefined; body: unknown }>;
  close(): Promise<void>;
}

/**
 * A hub that knows credentials: `credentials` maps a credential value (cookie or token) to the
 * user it belongs to. A credential is allowed on a user's server when it belongs to that user,
 * or to someone listed in `grants[user]`. Calls without `Authorization: token <proxyToken>`
 * get 403, as the real hub would. Every other path answers 200 "hub" (the default target).
 */
export async function startFakeHub(proxyToken: string, credentials: Record<string, string>, grants: Record<string, string[]> = {}): Promise<FakeHub> {
  const calls: FakeHub['calls'] = [];
  const server = http.createServer({ keepAliveTimeout: 65_000 }, function hubRequest(req, res) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/hub/api/proxy/authorize') {
        let body: { credential?: { kind?: string; value?: string }; user?: string; server?: string } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400).end();
          return;
        }
        calls.push({ authorization: req.headers.authorization, body });
        if (req.headers.authorization !== `token ${proxyToken}`) {
          res.writeHead(403, { 'content-type': 'application/json' }).end('{"status":403}');
          return;
        }
        const owner = credentials[body.credential?.value ?? ''];
        const allowed = owner !== undefined && (owner === body.user || (grants[body.user ?? ''] ?? []).includes(owner));
        const answer = JSON.stringify({ authenticated: owner !== undefined, allowed, name: owner ?? '' });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': 'hub' });
      res.end('hub\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    authorizeUrl: `http://127.0.0.1:${port}/hub/api/proxy/authorize`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
