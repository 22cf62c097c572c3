import { request as httpsRequest } from 'node:https';
import type { StorageEntry, StorageListing } from '../contracts/storage.js';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';

/** At most this many entries of one directory are listed. */
export const MAX_ENTRIES = 5000;
/** A listing that has not answered within this long fails (XRootD answers a PROPFIND of a few thousand entries in well under a second). */
const LIST_TIMEOUT_MS = 15_000;
/** A larger PROPFIND answer is cut (about 700 bytes per entry in XrdHttp 5.5's answer). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * A storage path from a user: absolute, no `.` or `..` parts, no control characters, at most
 * 4096 bytes; repeated and trailing slashes dropped. Anything else is STORAGE_BAD_PATH (400).
 */
export function checkStoragePath(raw: string | null | undefined): string {
  const example = 'Give an absolute path like /public or /user/<you>/data (no "." or ".." parts).';
  if (typeof raw !== 'string' || raw === '') throw fail('STORAGE_BAD_PATH', `No path given. ${example}`);
  if (!raw.startsWith('/')) throw fail('STORAGE_BAD_PATH', `The path "${raw.slice(0, 100)}" is not absolute. ${example}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw) || Buffer.byteLength(raw) > 4096) throw fail('STORAGE_BAD_PATH', `The path has control characters or is longer than 4096 bytes. ${example}`);
  const parts = raw.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) throw fail('STORAGE_BAD_PATH', `The path "${raw.slice(0, 100)}" has "." or ".." parts. ${example}`);
  return '/' + parts.join('/');
}

/** `/a/b` → `/a`; `/a` → `/`; `/` → null. */
export function parentOf(path: string): string | null {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Each segment percent-encoded, slashes kept. */
export function encodePath(path: string): string {
  return path.split('/').map((p) => encodeURIComponent(p)).join('/');
}

interface DavEntry { href: string; dir: boolean; size: number | null; mtime: string | null }

function textOf(block: string, prop: string): string | null {
  const m = new RegExp(`<(?:[\\w.-]+:)?${prop}\\b[^>]*>([\\s\\S]*?)</(?:[\\w.-]+:)?${prop}>`).exec(block);
  return m ? m[1]!.trim() : null;
}

/**
 * The entries of a WebDAV multistatus answer (RFC 4918 §14.16), as XrdHttp 5.5 writes it: one
 * `response` per entry with `href`, `getcontentlength`, `getlastmodified` (RFC 1123 dates) and a
 * `collection` in `resourcetype` (or XrdHttp's own `iscollection` 1/0) for directories. Namespace
 * prefixes vary (`D:`, `lp1:`), so they are not matched.
 */
export function parseMultistatus(xml: string): DavEntry[] {
  const out: DavEntry[] = [];
  const re = /<(?:[\w.-]+:)?response\b[^>]*>([\s\S]*?)<\/(?:[\w.-]+:)?response>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const block = m[1]!;
    const href = textOf(block, 'href');
    if (href === null) continue;
    const type = textOf(block, 'resourcetype') ?? '';
    const dir = /<(?:[\w.-]+:)?collection\b/.test(type) || textOf(block, 'iscollection') === '1';
    const len = textOf(block, 'getcontentlength');
    const mod = textOf(block, 'getlastmodified');
    const t = mod ? Date.parse(mod) : NaN;
    out.push({ href: decodeHref(href), dir, size: dir || len === null || !/^\d+$/.test(len) ? null : Number(len), mtime: Number.isFinite(t) ? new Date(t).toISOString() : null });
  }
  return out;
}

function decodeHref(href: string): string {
  const unescaped = href.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");
  let path = unescaped;
  try {
    path = decodeURIComponent(new URL(unescaped, 'http://x').pathname);
  } catch { /* keep as is */ }
  return path;
}

export interface BrowseTarget {
  /** The embedded XRootD's port (the hub asks it on the loopback). */
  port: number;
  /** Its certificate (PEM), self-signed. */
  caPem: string;
  /** URL prefixes of the files handed to users. */
  rootUrl: string;
  httpsUrl: string;
}

/** What the storage element answered, before it is turned into the hub's answer or error. */
interface DavAnswer { status: number; body: string; truncated: boolean }

function propfind(target: BrowseTarget, path: string, token: string): Promise<DavAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: target.port, path: encodePath(path) || '/', method: 'PROPFIND', agent: false,
      ca: target.caPem,
      headers: { Depth: '1', 'Content-Length': '0', Authorization: `Bearer ${token}` },
      timeout: LIST_TIMEOUT_MS,
    }, function answered(res) {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (c: Buffer) => {
        if (size >= MAX_BODY_BYTES) { truncated = true; return; }
        chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), truncated }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${LIST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Lists `path` (checked by `checkStoragePath`) on the embedded XRootD with the user's own token,
 * so the user sees exactly what that token may read: XrdHttp's PROPFIND, Depth 1. The storage's
 * refusals become STORAGE_FORBIDDEN (403) and STORAGE_NOT_FOUND (404); the token goes in the
 * Authorization header only. `mayRead`: the paths the token may read, for the refusal's message.
 */
export async function listStorage(target: BrowseTarget, path: string, token: string, mayRead: readonly string[]): Promise<StorageListing> {
  let answer: DavAnswer;
  try {
    answer = await propfind(target, path, token);
  } catch (err) {
    log.warn('storage listing failed', { path, error: String(err) });
    throw fail('STORAGE_UNAVAILABLE', 'The storage element did not answer the listing. Try again in a minute; the Resources page shows its health.');
  }
  if (answer.status === 403 || answer.status === 401) {
    throw fail('STORAGE_FORBIDDEN', `The storage element refused your token for ${path}. Your token may read ${mayRead.join(' and ')}; ask the facility's administrators for access to other areas.`, { detail: answer.body.slice(0, 200) });
  }
  if (answer.status === 404) throw fail('STORAGE_NOT_FOUND', `${path} does not exist on the storage element.`);
  if (answer.status !== 207) {
    log.warn('unexpected storage listing answer', { path, status: answer.status, body: answer.body.slice(0, 200) });
    throw fail('STORAGE_UNAVAILABLE', `The storage element answered the listing of ${path} with HTTP ${answer.status}. Try again in a minute; if it persists, tell the facility's administrators.`);
  }
  const all = parseMultistatus(answer.body);
  // The first response is the path itself: a file lists as itself.
  const self = all.find((e) => e.href.replace(/\/+$/, '') === path.replace(/\/+$/, '') || (path === '/' && e.href === '/'));
  const children = self && !self.dir ? [self] : all.filter((e) => e !== self);
  const entries: StorageEntry[] = children.slice(0, MAX_ENTRIES).map((e) => {
    const p = e.href.replace(/\/+$/, '') || '/';
    return {
      name: p.slice(p.lastIndexOf('/') + 1), path: p, dir: e.dir, size: e.size, mtime: e.mtime,
      // root:// wants the path after a double slash (root://host:port//public/x).
      rootUrl: `${target.rootUrl}/${p}`, httpsUrl: `${target.httpsUrl}${encodePath(p)}`,
    };
  });
  entries.sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  return { path, parent: parentOf(path), entries, truncated: answer.truncated || children.length > MAX_ENTRIES };
}
