import { fail } from '../../errors/catalogue.js';

/**
 * Names of groups, roles and services. Groups come from identity providers (INDIGO-IAM's
 * `/cms/analysis`, CILogon's `CO:members:active`), so they allow `/ : @ + .`; never control
 * characters, non-ASCII (look-alike letters), `..` or `//`.
 */
const GROUP = /^[A-Za-z0-9/_.:@+-][A-Za-z0-9/_.:@+ -]{0,254}$/;
const ROLE = /^[a-z](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

export function isValidGroupName(name: unknown): name is string {
  return typeof name === 'string' && GROUP.test(name) && !name.includes('..') && !name.includes('//') && name.trim() === name;
}

export function checkGroupName(name: string): string {
  if (!isValidGroupName(name)) {
    throw fail('INVALID_NAME', `Invalid group name: ${JSON.stringify(name).slice(0, 80)}. Group names are 1–255 ASCII letters, digits, spaces and "/ _ . : @ + -", without "..", "//" or surrounding spaces.`);
  }
  return name;
}

/** Role and service names: JupyterHub's role name rule (lowercase, digits, "._-"). */
export function checkRoleName(name: string, what: 'role' | 'service' = 'role'): string {
  if (typeof name !== 'string' || !ROLE.test(name) || name.includes('..')) {
    throw fail('INVALID_NAME', `Invalid ${what} name: ${JSON.stringify(name).slice(0, 80)}. ${what === 'role' ? 'Role' : 'Service'} names are 1–64 lowercase letters, digits, ".", "_" or "-", starting with a letter and ending with a letter or digit.`);
  }
  return name;
}
