import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { ServerResponse } from 'node:http';
import { securityHeaders } from './html.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Serves a file from `root`, refusing anything that resolves outside it. Hashed assets are
 * immutable; index.html is never cached so a new build is picked up at once.
 */
export function serveFile(res: ServerResponse, root: string, relPath: string, https: boolean): boolean {
  const full = normalize(join(root, relPath));
  if (full !== root && !full.startsWith(root.endsWith(sep) ? root : root + sep)) return false;
  let size: number;
  try {
    const st = statSync(full);
    if (!st.isFile()) return false;
    size = st.size;
  } catch {
    return false;
  }
  const ext = extname(full);
  res.writeHead(200, {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'content-length': size,
    'cache-control': ext === '.html' ? 'no-store' : 'public, max-age=31536000, immutable',
    ...securityHeaders(https),
  });
  createReadStream(full).pipe(res);
  return true;
}
