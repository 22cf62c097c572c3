import type { ServerResponse } from 'node:http';
import { errorBody, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { storeFailureError } from '../store/db-errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(data);
}

/** A redirect that no cache keeps (logins, links into servers, pages). */
export function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

export function sendEmpty(res: ServerResponse, status = 204, headers: Record<string, string> = {}): void {
  res.writeHead(status, headers);
  res.end();
}

/**
 * The one place an error becomes an HTTP response. Catalogue errors keep their status and code;
 * anything else is logged with its stack and answered as 500 INTERNAL without detail.
 */
export function sendError(res: ServerResponse, err: unknown, context: Record<string, unknown> = {}): void {
  // A full disk or a database that did not answer is the facility's to fix, not a bug: 507/503, not 500.
  err = storeFailureError(err);
  const body = errorBody(err);
  if (err instanceof HighrateError) {
    if (err.status >= 500 || err.detail) log.warn('request failed', { ...context, code: err.code, detail: err.detail });
  } else {
    log.error('unhandled error', { ...context, error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  // Every 429 (spawn and server limits, rate limits) and 503 that knows says when to come back (RFC 6585 §4, RFC 9110 §10.2.3).
  if ((body.status === 429 || body.status === 503) && typeof body.retryAfter === 'number') headers['retry-after'] = String(body.retryAfter);
  sendJson(res, body.status, body, headers);
}
