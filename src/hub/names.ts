import { fail } from '../errors/catalogue.js';
import { isValidUsername } from '../auth/username.js';

/** Server names follow JupyterHub 6: lowercase letters, digits and "-", 1–30 characters. */
const SERVER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,29})$/;

export function checkUsername(name: string): string {
  if (!isValidUsername(name)) throw fail('INVALID_NAME', `Invalid username: ${JSON.stringify(name).slice(0, 80)}. Usernames are 1–64 lowercase letters, digits, "-", "_" or ".", starting with a letter or digit.`);
  return name;
}

export function checkServerName(name: string): string {
  if (name === '') return name;
  if (!SERVER_NAME.test(name) || name.length > 30) throw fail('INVALID_NAME', `Invalid server name: ${JSON.stringify(name).slice(0, 80)}. Server names are 1–30 lowercase letters, digits or "-".`);
  return name;
}
