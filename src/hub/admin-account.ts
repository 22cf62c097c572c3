import { randomBytes } from 'node:crypto';

/** The part of the embedded IdP's account store the hub needs at first start. */
export interface AdminAccounts {
  get?(username: string): unknown;
  list(): Array<{ username: string }> | Promise<Array<{ username: string }>>;
  add(username: string, password: string, groups: string[]): unknown;
}

/**
 * At first start, creates the embedded IdP's `admin` account with the password from
 * HIGHRATE_ADMIN_PASSWORD, or a generated one that is printed once (never logged).
 */
export async function ensureAdminAccount(accounts: AdminAccounts, announce: (line: string) => void): Promise<void> {
  const existing = await accounts.list();
  if (existing.some((a) => a.username === 'admin')) return;
  const fromEnv = process.env.HIGHRATE_ADMIN_PASSWORD;
  const password = fromEnv && fromEnv.length > 0 ? fromEnv : randomBytes(12).toString('base64url');
  await accounts.add('admin', password, []);
  if (fromEnv) announce('Created the account "admin" with the password from HIGHRATE_ADMIN_PASSWORD.');
  else announce(`Created the account "admin" with the password: ${password}\n(shown only this once; change it with \`highrate user passwd admin\`)`);
}
