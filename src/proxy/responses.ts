import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, errorBody, fail, type ErrorCode } from '../errors/catalogue.js';
import { sendJson } from '../http/respond.js';

/** A browser navigation: it accepts HTML. API clients (fetch, curl, the hub) get JSON instead. */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * Answers a request the proxy itself refuses: a small HTML page for browsers, the catalogue's
 * JSON body `{status, message, code}` for everyone else.
 */
export function sendProblem(req: IncomingMessage, res: ServerResponse, code: ErrorCode, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = message ?? ERRORS[code].message;
  if (wantsHtml(req)) {
    const status = ERRORS[code].status;
    const html = problemPage(status, text);
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
    });
    res.end(html);
    return;
  }
  const body = errorBody(fail(code, text));
  sendJson(res, body.status, body);
}

/** Sends a browser to log in, coming back to where it was going: `<login>?next=<path+query>`. */
export function sendLoginRedirect(res: ServerResponse, loginUrl: string, next: string): void {
  res.writeHead(302, {
    location: `${loginUrl}?next=${encodeURIComponent(next)}`,
    'content-length': 0,
    'cache-control': 'no-store',
  });
  res.end();
}

/**
 * Refuses a WebSocket upgrade on the raw socket: an HTTP response with the JSON error body,
 * then the connection is closed (there is no ServerResponse for upgrade requests).
 */
export function refuseUpgrade(socket: Duplex, code: ErrorCode, message?: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(fail(code, message)));
  const status = ERRORS[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** CHP's page titles for the proxy's own errors, so that a browser tab reads the same. */
const PAGE_TITLE: Record<number, string> = { 404: 'Not Found', 503: 'Proxy Target Missing' };

function problemPage(status: number, message: string): string {
  const safe = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<title>${status}: ${PAGE_TITLE[status] ?? STATUS_TEXT[status] ?? 'Error'}</title>` +
    '<style>body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:36rem;color:#222}</style>' +
    `</head><body><h1>${status}</h1><p>${safe}</p><p><a href="/hub/home">Back to the hub</a></p></body></html>`
  );
}
