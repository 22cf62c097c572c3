import type { RucioCaller } from './client.js';
import type { Account, AccountUsage } from './types.js';

/** The account endpoints (`/accounts/...`). */
export class Accounts {
  constructor(private readonly rucio: RucioCaller) {}

  /** `GET /accounts/whoami`: a 303 to `/accounts/{account}`, followed here. */
  whoami(): Promise<Account> {
    return this.rucio.json<Account>('GET', 'accounts/whoami');
  }

  get(account: string): Promise<Account> {
    return this.rucio.json<Account>('GET', `accounts/${encodeURIComponent(account)}`);
  }

  /** `GET /accounts/{a}/limits/local[/{rse}]` → `{rse: bytes}` (null: no limit, which Rucio treats as none left). */
  limits(account: string, rse?: string): Promise<Record<string, number | null>> {
    return this.rucio.json('GET', `accounts/${encodeURIComponent(account)}/limits/local${rse ? '/' + encodeURIComponent(rse) : ''}`);
  }

  /** `GET /accounts/{a}/usage/local[/{rse}]` (json-stream): bytes and files per RSE with limit and remainder. */
  async usage(account: string, rse?: string): Promise<AccountUsage[]> {
    const out: AccountUsage[] = [];
    for await (const u of this.rucio.stream<AccountUsage>('GET', `accounts/${encodeURIComponent(account)}/usage/local${rse ? '/' + encodeURIComponent(rse) : ''}`)) out.push(u);
    return out;
  }
}
