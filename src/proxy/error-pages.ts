import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { ErrorCode } from '../errors/catalogue.js';
import { log, redactUrl } from '../log.js';
import { sendProblem } from './responses.js';

/** The proxy's own errors that CHP lets an operator restyle: no route, and a target that cannot be reached. */
export type ProxyErrorStatus = 404 | 503;

/**
 * How the proxy answers its own 404 (no route) and 503 (target unreachable), as CHP:
 * - with `errorTarget`: `GET <errorTarget>/<status>?url=<request url>`, whose body (and
 *   Content-Type/-Encoding) is sent with the proxy's status; if that fails, the default answer;
 * - with `errorPath`: the file `<status>.html`, else `error.html`, from that directory, as text/html;
 * - otherwise highrate's default: an HTML page for browsers, the catalogue's JSON for other clients.
 * Only error responses come here, so none of this is on the forwarding hot path.
 */
export class ErrorPages {
  readonly #target: URL | null;
  readonly #dir: string | null;

  readonly #insecure: boolean;

  constructor(opts: { errorTarget?: string | undefined; errorPath?: string | undefined; insecure?: boolean }) {
    this.#insecure = opts.insecure ?? false;
    // A trailing slash, so that `<target>/404` keeps the target's own path (as CHP).
    this.#target = opts.errorTarget === undefined ? null : new URL(opts.errorTarget.endsWith('/') ? opts.errorTarget : `${opts.errorTarget}/`);
    this.#dir = opts.errorPath ?? null;
  }

  send(req: IncomingMessage, res: ServerResponse, status: ProxyErrorStatus, code: ErrorCode, message: string): void {
    if (this.#target !== null) return this.#fromTarget(this.#target, req, res, status, code, message);
    if (this.#dir !== null) return this.#fromDirectory(this.#dir, req, res, status, code, message);
    sendProblem(req, res, code, message);
  }

  #fromTarget(base: URL, req: IncomingMessage, res: ServerResponse, status: ProxyErrorStatus, code: ErrorCode, message: string): void {
    const url = new URL(String(status), base);
    url.searchParams.set('url', req.url ?? '/');
    const client = url.protocol === 'https:' ? https : http;
    const errorRequest = client.request(url, { method: 'GET', agent: false, rejectUnauthorized: !this.#insecure }, function onErrorPage(page) {
      if (res.headersSent || res.writableEnded) {
        page.resume();
        return;
      }
      for (const name of ['content-type', 'content-encoding']) {
        const value = page.headers[name];
        if (value !== undefined) res.setHeader(name, value);
      }
      res.writeHead(status);
      page.pipe(res);
    });
    errorRequest.on('error', function onErrorTargetDown(err: NodeJS.ErrnoException) {
      log.warn('error target unreachable', { errorTarget: url.origin, url: redactUrl(req.url ?? ''), error: err.code ?? err.message });
      sendProblem(req, res, code, message);
    });
    errorRequest.end();
  }

  #fromDirectory(dir: string, req: IncomingMessage, res: ServerResponse, status: ProxyErrorStatus, code: ErrorCode, message: string): void {
    const specific = path.join(dir, `${status}.html`);
    fs.readFile(specific, function onSpecific(err, page) {
      if (!err) return sendPage(res, status, page);
      const generic = path.join(dir, 'error.html');
      fs.readFile(generic, function onGeneric(err2, page2) {
        if (!err2) return sendPage(res, status, page2);
        log.warn('no error page', { errorPath: dir, tried: [`${status}.html`, 'error.html'] });
        sendProblem(req, res, code, message);
      });
    });
  }
}

function sendPage(res: ServerResponse, status: number, page: Buffer): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'text/html', 'content-length': page.length });
  res.end(page);
}
