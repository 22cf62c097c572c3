import { posix } from 'node:path';
import { fail } from '../../errors/catalogue.js';

/**
 * Names that end up in file names and paths of the pod directory are checked here, so nothing a
 * pod says can escape its directory or inject into the script.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Container and volume names: DNS-1123 labels, as the API server enforces. */
export function checkLabel(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name.length > 63 || !DNS_LABEL.test(name)) {
    throw fail('BAD_REQUEST', `Invalid ${kind} name ${JSON.stringify(name)}: must be a DNS label (lowercase letters, digits and "-", at most 63).`);
  }
  return name;
}

/** Pod UIDs: UUIDs in practice; anything safe as one path component is accepted. */
export function checkUid(uid: unknown): string {
  if (typeof uid !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(uid)) {
    throw fail('BAD_REQUEST', `Invalid pod UID ${JSON.stringify(uid)}.`);
  }
  return uid;
}

/** An absolute container path (mountPath, workingDir), normalised; no newline or NUL. */
export function checkAbsolutePath(what: string, p: unknown): string {
  if (typeof p !== 'string' || !p.startsWith('/') || /[\0\n]/.test(p)) {
    throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(p)}: must be an absolute path.`);
  }
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** A relative path inside a volume (ConfigMap item path, subPath): no "..", not absolute. */
export function checkRelativePath(what: string, p: unknown): string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || /[\0\n]/.test(p)) {
    throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(p)}: must be a relative path.`);
  }
  const n = posix.normalize(p);
  if (n === '.' || n === '..' || n.startsWith('../') || n.split('/').includes('..')) {
    throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(p)}: must stay inside the volume.`);
  }
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

/** True when `p` is `dir` or inside it (both normalised absolute paths). */
export function isWithin(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}
