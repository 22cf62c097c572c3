import { covers, expandScopes, ownerRoleScopes, type Filter, type ScopeSet } from '../scopes.js';

/** Adds every scope and filter of `from` to `into`; a scope held on '*' keeps only '*'. */
export function mergeInto(into: ScopeSet, from: ScopeSet): ScopeSet {
  for (const [scope, filters] of from) {
    let held = into.get(scope);
    if (!held) into.set(scope, (held = new Set<Filter>()));
    if (held.has('*')) continue;
    if (filters.has('*')) {
      held.clear();
      held.add('*');
      continue;
    }
    for (const f of filters) held.add(f);
  }
  return into;
}

/**
 * A role's scope strings expanded for one principal. The built-in admin role's marker `*` means
 * every scope in the table; metascopes (`self`) bind to the principal; `inherit` has no meaning
 * in a role and is skipped.
 */
export function expandRole(scopes: readonly string[], owner: { name: string; admin: boolean }): ScopeSet {
  const list = scopes.includes('*') ? ownerRoleScopes({ admin: true }) : scopes.filter((s) => s.split('!')[0] !== 'inherit');
  return expandScopes(list, owner);
}

/** Names of the scopes a set holds with any filter (for `list:` style checks that filter rows after). */
export function heldWithAnyFilter(set: ScopeSet, scope: string): boolean {
  const f = set.get(scope);
  return f !== undefined && f.size > 0;
}

/** Whether an identity holds every scope on every object (its roles and its token alike). */
export function holdsEverything(who: { ownerScopes: ScopeSet; tokenScopes: ScopeSet | null }): boolean {
  const all = expandRole(['*'], { name: '', admin: true });
  return covers(who.ownerScopes, all) === null && (who.tokenScopes === null || covers(who.tokenScopes, all) === null);
}
