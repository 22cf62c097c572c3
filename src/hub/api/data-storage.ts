import { readFileSync } from 'node:fs';
import { needsScope } from '../../auth/scopes.js';
import type { StorageRoots } from '../../contracts/storage.js';
import { fail } from '../../errors/catalogue.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { checkStoragePath, listStorage } from '../../storage/browse.js';
import type { StorageService, StorageToken } from '../../storage/index.js';
import type { RequestContext } from '../request.js';

const READ = needsScope('read:data');
/** A cached token is reused while it has this long left (seconds): a listing never races its expiry. */
const TOKEN_MARGIN_S = 60;
const MAX_CACHED_TOKENS = 1000;

/**
 * `GET /hub/api/data/storage[?path=/…]` (scope `read:data`): without `path`, the areas the
 * caller's storage token may use; with it, that directory of the embedded XRootD, listed *with
 * the caller's own storage token*, so they see exactly what that token may read. The storage's
 * refusal is 403 STORAGE_FORBIDDEN; a bad path 400 STORAGE_BAD_PATH.
 */
export function registerDataStorageRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/data/storage', (ctx) => browse(ctx));
}

/** Storage tokens the hub issued for browsing, per user and groups (never logged, never sent to the browser). */
const tokens = new WeakMap<StorageService, Map<string, StorageToken>>();

async function tokenFor(svc: StorageService, user: string, groups: readonly string[]): Promise<StorageToken> {
  let cache = tokens.get(svc);
  if (!cache) tokens.set(svc, (cache = new Map()));
  const key = `${user}\n${[...groups].sort().join(',')}`;
  const hit = cache.get(key);
  if (hit && hit.expiresAt - Date.now() / 1000 > TOKEN_MARGIN_S) return hit;
  const fresh = await svc.issue(user, groups);
  if (cache.size >= MAX_CACHED_TOKENS) cache.clear();
  cache.set(key, fresh);
  return fresh;
}

async function browse(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  if (who.kind !== 'user') throw fail('FORBIDDEN', 'Storage is browsed as a user, with that user\'s storage token; services have none.');
  await ctx.require(READ, { user: who.name, groups: who.user.groups });
  const raw = ctx.url.searchParams.get('path');
  const path = raw === null ? null : checkStoragePath(raw);
  const svc = ctx.hub.storage;
  const ep = svc?.endpoints;
  if (!svc || !ep) throw fail('STORAGE_NOT_CONFIGURED', 'This hub runs no embedded storage element, so there is nothing to browse here (storage.embedded in the hub\'s config).');
  const token = await tokenFor(svc, who.name, who.user.groups);
  const access = new Map<string, string[]>();
  for (const g of token.grants) access.set(g.path, [...(access.get(g.path) ?? []), g.action]);
  if (path === null) {
    const roots: StorageRoots = { rootUrl: ep.rootUrl, httpsUrl: ep.httpsUrl, roots: [...access].map(([p, a]) => ({ path: p, access: a.join(', ') })) };
    sendJson(ctx.res, 200, roots);
    return;
  }
  const mayRead = token.grants.filter((g) => g.action === 'read').map((g) => g.path);
  const listing = await listStorage(
    { port: Number(new URL(ep.httpsUrl).port), caPem: readFileSync(ep.caFile, 'utf8'), rootUrl: ep.rootUrl, httpsUrl: ep.httpsUrl },
    path, token.token, mayRead,
  );
  sendJson(ctx.res, 200, listing);
}
