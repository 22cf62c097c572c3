import type { ServerResponse } from 'node:http';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * The hub's security headers. The CSP allows no inline script or style: the portal is built so,
 * and server-rendered pages below use only the portal stylesheet.
 */
export function securityHeaders(https: boolean): Record<string, string> {
  const h: Record<string, string> = {
    'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
  };
  if (https) h['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
  return h;
}

/** A small server-rendered page (errors, refusals) in the portal's look; every value escaped. */
export function sendPage(res: ServerResponse, status: number, title: string, message: string, opts: { https?: boolean; link?: { href: string; text: string } } = {}): void {
  const link = opts.link ? `<p><a href="${escapeHtml(opts.link.href)}">${escapeHtml(opts.link.text)}</a></p>` : '';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — highrate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/svg+xml" href="/hub/static/favicon.svg"></head>
<body><main class="page-message"><h1>${escapeHtml(title)}</h1><pre class="message">${escapeHtml(message)}</pre>${link}</main></body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...securityHeaders(opts.https ?? false) });
  res.end(body);
}

/**
 * Accepts only local, absolute paths as redirect targets (`/hub/home`, `/user/alice/`), refusing
 * `//evil`, `/\evil`, schemes and control characters, so `next=` cannot become an open redirect.
 */
export function safeNext(next: string | null | undefined, fallback = '/hub/home'): string {
  if (!next || typeof next !== 'string') return fallback;
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  try {
    const u = new URL(next, 'http://local.invalid');
    if (u.host !== 'local.invalid') return fallback;
  } catch {
    return fallback;
  }
  // A Location header is Latin-1 on the wire: anything outside printable ASCII goes percent-encoded
  // (a path with "é" or "。" stays that path), never a 500 from an invalid header.
  try {
    return next.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
  } catch {
    return fallback; // a lone surrogate cannot be encoded
  }
}
