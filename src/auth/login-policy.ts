import type { Config } from '../config/schema.js';
import type { Store, UserRow } from '../store/types.js';

/** The outcome of the login policy for verified claims. */
export type LoginDecision =
  | { allowed: true; admin: boolean; groups: string[] }
  | { allowed: false; reason: 'not-in-allowed-group' | 'blocked'; message: string };

/**
 * The one login policy, applied to verified claims at every browser login and every use of a JWT
 * access token (never at spawn only):
 * - outside `auth.allowedGroups` (when set) and not in `auth.adminUsers`: refused;
 * - blocked: refused;
 * - admin: in `adminUsers`, or in an admin group, or (no admin groups configured) already admin;
 *   an admin granted through the API holds the `admin` role by assignment, which logins do not touch.
 * Groups: the claims, except groups made through the API (source 'api'), whose membership is
 * managed there and kept as it is.
 */
export async function decideLogin(config: Pick<Config, 'auth'>, store: Store, username: string, claimed: readonly string[], existing: UserRow | null): Promise<LoginDecision> {
  const { allowedGroups, adminGroups, adminUsers } = config.auth;
  if (allowedGroups.length && !claimed.some((g) => allowedGroups.includes(g)) && !adminUsers.includes(username)) {
    return { allowed: false, reason: 'not-in-allowed-group', message: `Your account (${username}) is not a member of a group allowed on this platform (${allowedGroups.join(', ')}). Ask your facility administrator for access.` };
  }
  if (existing?.blocked) return { allowed: false, reason: 'blocked', message: `The account ${username} is blocked on this platform.` };
  const admin = adminUsers.includes(username) || claimed.some((g) => adminGroups.includes(g)) || (adminGroups.length === 0 && (existing?.admin ?? false));
  const apiGroups = new Set(await store.apiGroupsAmong([...claimed, ...(existing?.groups ?? [])]));
  const groups = [...new Set([...claimed.filter((g) => !apiGroups.has(g)), ...(existing?.groups ?? []).filter((g) => apiGroups.has(g))])].sort();
  return { allowed: true, admin, groups };
}
