import type { IncomingMessage } from 'node:http';
import { fail } from '../errors/catalogue.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

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
  let text: string;
  try {
    // Fatal decoding: invalid UTF-8 is bad input, not something to repair into U+FFFD.
    text = UTF8.decode(buf);
  } catch {
    throw fail('BAD_JSON', 'The request body is not valid UTF-8.');
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('BAD_JSON');
  }
  checkJsonValue(value);
  return value;
}

/** Deepest nesting a body may have: no API shape needs more, and recursive code (JSON.stringify) must never overflow the stack. */
export const MAX_JSON_DEPTH = 32;

/**
 * Refuses NUL characters (`\u0000` escapes; raw ones are already invalid JSON) in any string or
 * key, and nesting deeper than MAX_JSON_DEPTH. Iterative, so hostile input cannot overflow the stack.
 */
function checkJsonValue(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) throw fail('BAD_REQUEST', 'NUL characters are not allowed in the request body.');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) throw fail('BAD_REQUEST', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k.includes('\0')) throw fail('BAD_REQUEST', 'NUL characters are not allowed in the request body.');
      stack.push([v, depth + 1]);
    }
  }
}
