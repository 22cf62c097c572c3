import { log } from '../log.js';
import type { Store } from '../store/types.js';

/**
 * Store methods after which an edge decision the proxy cached may be wrong: a credential, a
 * session or a user went away, or what someone may access changed.
 */
const REVOKING: ReadonlySet<string> = new Set([
  'upsertUser', 'deleteUser', 'deleteToken', 'deleteExpiredTokens', 'deleteSession', 'deleteSessionsOf',
  'createGroup', 'deleteGroup', 'addGroupMembers', 'removeGroupMembers',
  'putRole', 'deleteRole', 'setRoleAssignments', 'syncDeclaredRoles', 'deleteAssignmentsOf', 'deleteServiceToken',
]);

/**
 * Wraps the store so that every revoking write, once committed, empties the proxy's cache of
 * edge decisions before the handler answers. Without it a revoked token could keep reaching a
 * server for the cache's lifetime (60 s). A proxy that cannot be reached only logs a warning: its
 * own cache expires on time.
 */
export function revocationAwareStore(store: Store, flush: () => Promise<void>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (!REVOKING.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async function revokingWrite(...args: unknown[]) {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await flush().catch((err: unknown) => log.warn('could not flush the proxy auth cache', { error: String(err) }));
        return result;
      };
    },
  });
}
