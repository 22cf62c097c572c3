/**
 * The hub as OAuth provider (migration 5): clients (one per notebook server), authorization codes
 * in flight, and the revocation of the tokens issued to a client or in a browser session.
 */
import { fail } from '../errors/catalogue.js';
import { Aggregate } from './aggregate.js';
import { constraintKind } from './db-errors.js';
import type { OAuthClientsTable, OAuthCodesTable } from './schema.js';
import type { OAuthClientRow, OAuthCodeRow } from './types.js';

export class OAuth extends Aggregate {
  async putOAuthClient(row: OAuthClientRow): Promise<void> {
    const values = fromClientRow(row);
    const { id: _id, ...rest } = values;
    await this.db.insertInto('oauth_clients').values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(rest))
      .execute();
  }

  async getOAuthClient(id: string): Promise<OAuthClientRow | null> {
    const row = await this.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toClientRow(row) : null;
  }

  async deleteOAuthClient(id: string): Promise<number> {
    return this.tx('write', async function deleteClientInTransaction(db) {
      const r = await db.deleteFrom('tokens').where('oauth_client', '=', id).executeTakeFirst();
      await db.deleteFrom('oauth_codes').where('client_id', '=', id).execute();
      await db.deleteFrom('oauth_clients').where('id', '=', id).execute();
      return Number(r.numDeletedRows);
    });
  }

  async insertOAuthCode(row: OAuthCodeRow): Promise<void> {
    try {
      await this.db.insertInto('oauth_codes').values(fromCodeRow(row)).execute();
    } catch (err) {
      // The client went away (its server stopped) between the check and the insert.
      if (constraintKind(err) === 'foreign-key') throw fail('BAD_REQUEST', 'The OAuth client or the user is gone.', { cause: err });
      throw err;
    }
    // Codes live for minutes; whoever makes one sweeps the dead ones.
    await this.db.deleteFrom('oauth_codes').where('expires_at', '<', this.now()).execute();
  }

  async takeOAuthCode(codeHash: string): Promise<OAuthCodeRow | null> {
    const row = await this.db.deleteFrom('oauth_codes').where('code_hash', '=', codeHash).returningAll().executeTakeFirst();
    return row ? toCodeRow(row) : null;
  }

  async deleteTokensOfSession(user: string, sessionId: string): Promise<number> {
    const r = await this.db.deleteFrom('tokens').where('user_name', '=', user).where('session_id', '=', sessionId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function fromClientRow(c: OAuthClientRow): OAuthClientsTable {
  return {
    id: c.id, secret_hash: c.secretHash, redirect_uri: c.redirectUri, allowed_scopes: JSON.stringify(c.allowedScopes),
    description: c.description, user_name: c.user, server_name: c.server, service_name: c.service, created: c.created,
  };
}

function toClientRow(r: OAuthClientsTable): OAuthClientRow {
  return {
    id: r.id, secretHash: r.secret_hash, redirectUri: r.redirect_uri, allowedScopes: JSON.parse(r.allowed_scopes) as string[],
    description: r.description, user: r.user_name ?? null, server: r.server_name ?? null, service: r.service_name ?? null, created: r.created,
  };
}

function fromCodeRow(c: OAuthCodeRow): OAuthCodesTable {
  return {
    code_hash: c.codeHash, client_id: c.clientId, user_name: c.user, session_id: c.sessionId, scopes: JSON.stringify(c.scopes),
    redirect_uri: c.redirectUri, expires_at: c.expiresAt, token_expires_at: c.tokenExpiresAt, created: c.created,
  };
}

function toCodeRow(r: OAuthCodesTable): OAuthCodeRow {
  return {
    codeHash: r.code_hash, clientId: r.client_id, user: r.user_name, sessionId: r.session_id ?? null, scopes: JSON.parse(r.scopes) as string[],
    redirectUri: r.redirect_uri, expiresAt: r.expires_at, tokenExpiresAt: r.token_expires_at, created: r.created,
  };
}
