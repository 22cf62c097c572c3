import { chmodSync, existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fail, type HighrateError } from '../errors/catalogue.js';
import type { Executor, RetrievedPodData } from '../executors/types.js';
import { readJson } from '../http/body.js';
import { sendError, sendJson } from '../http/respond.js';
import { log, redactUrl } from '../log.js';
import type { BearerAuthenticator } from './auth.js';
import {
  checkLogStruct, checkPod, checkPodCreateRequests, checkPodList, checkRetrievedPodData, looksLikePodCreateRequests, toRetrievedPodData,
} from '../executors/interlink/wire.js';

/**
 * An executor as an interLink plugin (the "sidecar"), wire-compatible with interLink ≥ 0.5:
 *
 * | path       | body                                   | 200 answer                          |
 * |------------|----------------------------------------|-------------------------------------|
 * | /create    | one RetrievedPodData (≤0.4: an array)  | CreateStruct {PodUID, PodJID}       |
 * | /status    | Pod[]; `[]` (or null, or none) = ping  | PodStatus[]; for a ping PingResponse |
 * | /getLogs   | LogStruct                              | text/plain, streamed (flushed when Follow) |
 * | /delete    | v1.Pod                                 | text                                |
 *
 * As interLink's Go servers, the method is ignored (interLink sends GET with a JSON body to
 * /status and /getLogs, the virtual kubelet DELETE to /delete). Unlike them, a malformed body
 * is a 400 with a message, never a 500.
 *
 * With `api`, the same server also answers the paths the virtual kubelet calls on interLink
 * (`/pinglink`, `/updateCache`, and PodCreateRequests bodies on `/create`), so that the
 * `interlink` executor can be pointed at it; see docs/executors.md for what differs from
 * interLink (no status cache).
 */
export interface PluginHandlerOptions {
  executor: Executor;
  /** Bearer-token check on every request (see auth.ts); none: no authentication. */
  auth?: BearerAuthenticator;
  /** Also answer the virtual kubelet → interLink paths. */
  api?: boolean;
  /** Largest accepted body, bytes (default 16 MiB: a pod with its Secrets and ConfigMaps). */
  bodyLimit?: number;
}

/** interLink's session header, set on every hop (`CreatePod#n`, `Request-<uuid>`). */
export const SESSION_HEADER = 'interlink-http-session';
const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/** The request handler of a plugin server. */
export function createPluginHandler(opts: PluginHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { executor } = opts;
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;

  async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req, limit);
    if (body === undefined) throw fail('BAD_REQUEST', 'The /create body must be a RetrievedPodData object.');
    let pods: RetrievedPodData[];
    if (Array.isArray(body)) {
      // interLink 0.3/0.4 sent a one-element array and read one CreateStruct back.
      if (body.length === 0) throw fail('BAD_REQUEST', 'The /create body is an empty array.');
      pods = body.map((d, i) => checkRetrievedPodData(d, `body[${i}]`));
    } else if (looksLikePodCreateRequests(body)) {
      if (!opts.api) throw fail('BAD_REQUEST', 'This is a PodCreateRequests body, which interLink\'s API takes; this server is a plugin (serve with --api to accept it).');
      pods = [toRetrievedPodData(checkPodCreateRequests(body))];
    } else {
      pods = [checkRetrievedPodData(body)];
    }
    let answer;
    for (const p of pods) answer = await executor.create(p);
    sendJson(res, 200, answer);
  }

  async function status(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pods = checkPodList(await readJson(req, limit));
    // interLink pings its plugin with GET /status and `[]`; 0.6.2 reads a PingResponse back.
    if (pods.length === 0) return sendJson(res, 200, await executor.ping());
    sendJson(res, 200, await executor.status(pods));
  }

  async function getLogs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const logReq = checkLogStruct(await readJson(req, limit));
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const stream = await executor.logs(logReq, ac.signal);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    // Headers at once when following: interLink and the VK time out on a silent response.
    if (logReq.Opts.Follow) res.flushHeaders();
    for await (const chunk of stream) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
    }
    res.end();
  }

  async function remove(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pod = checkPod(await readJson(req, limit));
    await executor.delete(pod);
    sendText(res, 200, `Pod ${pod.metadata.uid} deleted`);
  }

  async function pinglink(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    sendJson(res, 200, await executor.ping());
  }

  async function updateCache(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkPod(await readJson(req, limit));
    // No status cache here: nothing to update (interLink answers the same text).
    sendText(res, 200, 'Updated cache');
  }

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    '/create': create, '/status': status, '/getLogs': getLogs, '/delete': remove,
    ...(opts.api ? { '/pinglink': pinglink, '/updateCache': updateCache } : {}),
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (opts.auth) await opts.auth(req);
    const handler = routes[path];
    if (!handler) throw fail('NOT_FOUND', `No plugin endpoint at ${path.slice(0, 200)}.`);
    await handler(req, res);
  }

  return function handlePluginRequest(req, res) {
    const session = req.headers[SESSION_HEADER];
    route(req, res).catch((err: unknown) => {
      const status = (err as HighrateError).status;
      if (status === 401 && !res.headersSent) res.setHeader('www-authenticate', 'Bearer realm="highrate-plugin", error="invalid_token"');
      if (status !== undefined && status < 500) log.debug('plugin request refused', { method: req.method, url: redactUrl(req.url ?? ''), session, status, message: (err as Error).message });
      sendError(res, err, { method: req.method, url: redactUrl(req.url ?? ''), session });
    });
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Where a plugin server listens: `127.0.0.1:PORT`, `[::1]:PORT`, `unix:PATH` or `unix:///PATH`. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parses a --listen value; junk is CONFIG_INVALID. */
export function parseListen(raw: string): ListenAddress {
  if (raw.startsWith('unix:')) {
    const path = raw.replace(/^unix:(\/\/)?/, '');
    if (!path.startsWith('/') && !path.startsWith('.')) throw fail('CONFIG_INVALID', `--listen ${raw}: a unix socket needs a path, e.g. unix:/run/highrate/plugin.sock.`);
    return { kind: 'unix', path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw fail('CONFIG_INVALID', `--listen ${raw}: expected HOST:PORT (e.g. 127.0.0.1:4000) or unix:PATH.`);
  return { kind: 'tcp', host: m[1] ?? m[2]!, port };
}

export interface PluginTlsOptions {
  certFile: string;
  keyFile: string;
  /** With a CA, clients must present a certificate it signed (mTLS, as interLink's TLS config). */
  caFile?: string;
}

export interface ServePluginOptions extends PluginHandlerOptions {
  listen: ListenAddress;
  tls?: PluginTlsOptions;
}

export interface PluginServer {
  /** `http://127.0.0.1:PORT`, `https://…`, or `unix:///PATH`: what a client is configured with. */
  readonly url: string;
  readonly server: Server;
  /** Stops listening and ends open connections (the executor is the caller's to close). */
  close(): Promise<void>;
}

/** Starts a plugin server; resolves once it listens. */
export async function servePlugin(opts: ServePluginOptions): Promise<PluginServer> {
  const handler = createPluginHandler(opts);
  const server: Server = opts.tls
    ? createHttpsServer({
      cert: readFileSync(opts.tls.certFile),
      key: readFileSync(opts.tls.keyFile),
      ...(opts.tls.caFile ? { ca: readFileSync(opts.tls.caFile), requestCert: true, rejectUnauthorized: true } : {}),
    }, handler)
    : createHttpServer(handler);
  // Followed logs stay open as long as the container runs.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const { listen } = opts;
  if (listen.kind === 'unix' && existsSync(listen.path)) {
    // A socket left by a killed server is replaced; any other file is not ours to remove.
    if (!lstatSync(listen.path).isSocket()) throw fail('CONFIG_INVALID', `${listen.path} exists and is not a socket.`);
    rmSync(listen.path);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.kind === 'unix') server.listen(listen.path, () => resolve());
    else server.listen(listen.port, listen.host, () => resolve());
  });
  let url: string;
  if (listen.kind === 'unix') {
    chmodSync(listen.path, 0o660);
    url = `unix://${listen.path}`;
  } else {
    const a = server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    url = `${opts.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }
  return {
    url,
    server,
    close: () => new Promise<void>((resolve) => {
      server.close(() => {
        if (listen.kind === 'unix') rmSync(listen.path, { force: true });
        resolve();
      });
      server.closeAllConnections();
    }),
  };
}
