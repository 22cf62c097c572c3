/**
 * Which account at an external issuer (iss, sub) is which user (migration 2): JWT access tokens
 * often carry only `sub`.
 */
import { Aggregate } from './aggregate.js';
import { insertError } from './db-errors.js';

export class ExternalIdentities extends Aggregate {
  async linkIdentity(issuer: string, sub: string, user: string): Promise<void> {
    try {
      await this.db.insertInto('user_identities').values({ issuer, sub, user_name: user, created: this.now() })
        .onConflict((oc) => oc.columns(['issuer', 'sub']).doUpdateSet({ user_name: user })).execute();
    } catch (err) {
      throw insertError(err, 'This identity', user);
    }
  }

  async userOfIdentity(issuer: string, sub: string): Promise<string | null> {
    const row = await this.db.selectFrom('user_identities').select('user_name').where('issuer', '=', issuer).where('sub', '=', sub).executeTakeFirst();
    return row?.user_name ?? null;
  }
}
