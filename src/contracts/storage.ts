/**
 * The storage API's JSON, shared by the hub (src/hub/api/storage.ts) and the portal
 * (ui/src/components/Storage*.tsx): one definition, so they cannot drift. Types only.
 */

/** What a probe concluded: `ok` answers; `degraded` answers but something is wrong (slow, 5xx, TLS); `unreachable` no answer. */
export type StorageElementState = 'ok' | 'degraded' | 'unreachable';

/** One storage element in `GET /hub/api/storage` (facility health: no token, nothing secret). */
export interface StorageElementModel {
  /** `embedded` for the hub's own XRootD, else the configured name. */
  name: string;
  /** root://, https:// or davs:// (no credentials: the schema refuses them). */
  url: string;
  /** Informational: xrootd, dcache, eos, xcache, webdav. */
  kind: string;
  /** Null before the first probe has finished. */
  state: StorageElementState | null;
  /** How long the last probe took, ms. */
  latencyMs: number | null;
  /** The software's version when the element said it (XRootD's `query config version`, an HTTP Server header). */
  version: string | null;
  /** What the last probe saw, in words (for `ok` too). */
  message: string;
  /** ISO time of the last finished probe. */
  checked: string | null;
  /** The last failure (it may be older than `checked`), with what to do about it. */
  lastError: { message: string; at: string } | null;
}

/** One entry of a directory listing (`GET /hub/api/data/storage?path=…`). */
export interface StorageEntry {
  name: string;
  /** Absolute path on the storage element. */
  path: string;
  dir: boolean;
  /** Bytes; null for directories. */
  size: number | null;
  /** ISO time of the last modification, when the element said it. */
  mtime: string | null;
  /** `root://host:port//path`, for XRootD clients (uproot, xrdcp), with BEARER_TOKEN_FILE. */
  rootUrl: string;
  /** `https://host:port/path`, for HTTP clients, with `Authorization: Bearer`. */
  httpsUrl: string;
}

export interface StorageListing {
  path: string;
  /** The directory above, or null at `/`. */
  parent: string | null;
  entries: StorageEntry[];
  /** More entries than the hub lists (MAX_ENTRIES) exist. */
  truncated: boolean;
}

/** `GET /hub/api/data/storage` without `path`: where the caller's token may look. */
export interface StorageRoots {
  rootUrl: string;
  httpsUrl: string;
  roots: Array<{ path: string; access: string }>;
}
