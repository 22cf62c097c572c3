/**
 * Which account at an external issuer (iss, sub) is which user (migration 2): JWT access tokens
 * often carry only `sub`. And the user's refresh token there, sealed by the caller (migration 6):
 * what storage tokens are refreshed from when the issuer issues them (storage.tokenSource oidc).
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

  async putUpstreamToken(user: string, issuer: string, sealed: string, scope: string): Promise<void> {
    try {
      await this.db.insertInto('upstream_tokens').values({ user_name: user, issuer, sealed, scope, updated: this.now() })
        .onConflict((oc) => oc.columns(['user_name', 'issuer']).doUpdateSet({ sealed, scope, updated: this.now() })).execute();
    } catch (err) {
      throw insertError(err, 'This refresh token', user);
    }
  }

  async getUpstreamToken(user: string, issuer: string): Promise<{ sealed: string; scope: string; updated: string } | null> {
    const row = await this.db.selectFrom('upstream_tokens').select(['sealed', 'scope', 'updated'])
      .where('user_name', '=', user).where('issuer', '=', issuer).executeTakeFirst();
    return row ?? null;
  }

  async deleteUpstreamToken(user: string, issuer: string): Promise<boolean> {
    const r = await this.db.deleteFrom('upstream_tokens').where('user_name', '=', user).where('issuer', '=', issuer).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
