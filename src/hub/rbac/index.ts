/** Roles, scopes, services and external access tokens: who may do what. */
export { Rbac, serviceIdentity } from './rbac.js';
export { RoleBook, type RoleModel } from './role-book.js';
export { BUILTIN_ROLES, BUILTIN_ROLE_NAMES } from './builtin-roles.js';
export { JwtAccessTokens, type JwtRefusal } from './jwt-access.js';
export { decideLogin, type LoginDecision } from './login-policy.js';
export { checkGroupName, checkRoleName, isValidGroupName } from './names.js';
export { holdsEverything, mergeInto, expandRole } from './scope-sets.js';
