/**
 * Who is asking, and what they may do: one walk from a credential to a decision, in this folder.
 *
 * - `tokens.ts`: the credential a request carries (API token, session cookie, bearer) and how
 *   secrets are made and hashed; `jwt-access.ts`: an external issuer's JWT access token,
 *   verified, its groups from the token's claims.
 * - `oidc-login.ts`: the browser login at an OIDC issuer; `login-policy.ts`: who may log in,
 *   with which groups, as admin or not.
 * - `roles/`: roles → scopes (JupyterHub's built-in roles, the role book, names of groups and roles).
 * - `scopes.ts`: JupyterHub's scope table (a scope grants its sub-scopes, filters narrow it).
 * - `identity.ts`: the resolved caller, the owner's role scopes intersected with the token's;
 *   `rbac.ts`: what resolves a credential into one.
 * - `username.ts` (the name rule) and `seal.ts` (secrets kept at rest).
 */
export { Rbac, serviceIdentity } from './rbac.js';
export { RoleBook, type RoleModel } from './roles/role-book.js';
export { BUILTIN_ROLES, BUILTIN_ROLE_NAMES } from './roles/builtin-roles.js';
export { JwtAccessTokens, type JwtRefusal } from './jwt-access.js';
export { decideLogin, type LoginDecision } from './login-policy.js';
export { checkGroupName, checkRoleName, isValidGroupName } from './roles/names.js';
export { holdsEverything, mergeInto, expandRole } from './roles/scope-sets.js';
