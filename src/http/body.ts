import type { IncomingMessage } from 'node:http';
import { fail } from '../errors/catalogue.js';

/** Default cap on request bodies; bigger bodies are refused with 413 before they are buffered. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Reads the whole body as a Buffer, refusing more than `limit` bytes (413 BODY_TOO_LARGE). */
export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw fail('BODY_TOO_LARGE', `The request body is larger than ${limit} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw fail('BODY_TOO_LARGE', `The request body is larger than ${limit} bytes.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON body. An empty body gives `undefined`; malformed JSON is 400 BAD_JSON.
 * Null bytes are refused outright: no name or option of ours may contain one.
 */
export async function readJson(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) return undefined;
  const text = buf.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw fail('BAD_JSON');
  }
}
