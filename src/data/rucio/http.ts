import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { RucioError } from './errors.js';

/** TLS material for a Rucio server with its own CA, or client certificates (x509 auth). */
export interface RucioTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** One HTTP exchange with Rucio; the answer's body is left unread for streaming. */
export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body?: string;
  tls?: RucioTls;
  timeoutMs: number;
}

/**
 * Sends one request with node's own http/https (not fetch: x509 auth needs a client certificate
 * on the TLS connection, which fetch cannot present). Network failures become RucioUnreachable.
 */
export function send(url: URL, opts: SendOptions): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const https = url.protocol === 'https:';
    const make = https ? httpsRequest : httpRequest;
    const req = make(url, {
      method: opts.method,
      headers: { ...opts.headers, ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) },
      ...(https && opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key } : {}),
      timeout: opts.timeoutMs,
    }, resolve);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new RucioError('RucioUnreachable', `Rucio at ${url.origin} is not reachable: ${err.code ?? err.message}`, 0));
    });
    req.end(opts.body);
  });
}

/** The whole body as text (answers that are not streams, error bodies). */
export async function readText(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new RucioError('RucioProtocolError', `Rucio's answer exceeds ${limit} bytes`, res.statusCode ?? 0);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses `application/x-json-stream` as it arrives: one JSON value per `\n`-terminated line
 * (Rucio's `try_stream`; an empty result is an empty body). Lines are yielded as soon as they are
 * complete, so a long listing is not held in memory. A server that answers `application/json`
 * with an array instead (a proxy that buffered, or an older endpoint) is read whole.
 */
export async function* parseJsonStream<T>(res: IncomingMessage): AsyncGenerator<T> {
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    const text = await readText(res);
    const value = text.trim() ? JSON.parse(text) as unknown : [];
    if (Array.isArray(value)) yield* value as T[];
    else yield value as T;
    return;
  }
  // A chunk may end inside a multi-byte character: decode across chunk boundaries.
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of res as AsyncIterable<Buffer>) {
    pending += decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield parseLine<T>(line);
    }
  }
  pending += decoder.end();
  if (pending.trim()) yield parseLine<T>(pending.trim());
}

function parseLine<T>(line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new RucioError('RucioProtocolError', `Rucio sent a line that is not JSON: ${line.slice(0, 80)}`, 200);
  }
}
