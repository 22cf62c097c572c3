import type { StorageConfig } from '../config/schema.js';

/**
 * What a storage token lets its holder do, as WLCG Common JWT Profile scopes (v1.0, §"Capability-based
 * authorization"): `storage.read:<path>` reads and lists, `storage.create:<path>` writes new files
 * (never overwrites), `storage.modify:<path>` writes, overwrites and deletes. A path authorises
 * itself and everything below it.
 */
export type StorageAction = 'read' | 'create' | 'modify';

export interface StorageGrant {
  action: StorageAction;
  path: string;
}

/** The part of `storage` config the policy reads. */
export type StoragePolicyConfig = Pick<StorageConfig, 'publicPath' | 'userPath' | 'groups'>;

/** `/a//b/` → `/a/b`; `{user}` filled. Config paths are already checked for `..` by the schema. */
function normalise(path: string, user: string): string {
  const filled = path.replace(/\{user\}/g, user);
  const parts = filled.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

/**
 * The grants of `user` (a checked username, so `{user}` cannot smuggle in `/` or `..`) with `groups`:
 * read under the public path, read+create+modify under the user's own path, plus whatever the
 * user's groups add. Duplicates and grants already covered by a wider grant of the same action
 * are dropped, so the scope string stays short.
 */
export function storageGrants(policy: StoragePolicyConfig, user: string, groups: readonly string[]): StorageGrant[] {
  const wanted: StorageGrant[] = [{ action: 'read', path: normalise(policy.publicPath, user) }];
  const own = normalise(policy.userPath, user);
  wanted.push({ action: 'read', path: own }, { action: 'create', path: own }, { action: 'modify', path: own });
  for (const group of groups) {
    const extra = policy.groups[group];
    if (!extra) continue;
    for (const p of extra.read) wanted.push({ action: 'read', path: normalise(p, user) });
    for (const p of extra.write) {
      const path = normalise(p, user);
      wanted.push({ action: 'read', path }, { action: 'create', path }, { action: 'modify', path });
    }
  }
  return wanted.filter(function notCovered(g, i) {
    return !wanted.some((o, j) => o.action === g.action && j !== i && covers(o.path, g.path) && (o.path !== g.path || j < i));
  });
}

/** Whether a grant on `outer` authorises `inner` (same path or below it, on `/` boundaries). */
export function covers(outer: string, inner: string): boolean {
  if (outer === '/') return true;
  return inner === outer || inner.startsWith(outer + '/');
}

/** The `scope` claim value: space-separated `storage.<action>:<path>`, in grant order. */
export function scopeString(grants: readonly StorageGrant[]): string {
  return grants.map((g) => `storage.${g.action}:${g.path}`).join(' ');
}

/** Whether `grants` allow `action` on `path` (the same rule the storage element applies). */
export function allows(grants: readonly StorageGrant[], action: StorageAction, path: string): boolean {
  const p = normalise(path, '');
  return grants.some((g) => g.action === action && covers(g.path, p));
}
