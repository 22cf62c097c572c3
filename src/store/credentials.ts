/**
 * What proves who a user is: API tokens, browser sessions, and logins in flight (OIDC state,
 * PKCE verifier, nonce). The hot reads (a token or session on every request) are one statement.
 */
import { fail } from '../errors/catalogue.js';
import { Aggregate } from './aggregate.js';
import { constraintKind, insertError } from './db-errors.js';
import { fromLoginStateRow, fromSessionRow, fromTokenRow, toLoginStateRow, toSessionRow, toTokenRow } from './rows.js';
import type { LoginStateRow, SessionRow, TokenRow } from './types.js';

export class Credentials extends Aggregate {
  // ---- tokens

  async insertToken(row: TokenRow): Promise<void> {
    try {
      await this.db.insertInto('tokens').values(fromTokenRow(row)).execute();
    } catch (err) {
      throw insertError(err, 'A token with this id or hash', row.user);
    }
  }

  async getTokenByHash(hash: string): Promise<TokenRow | null> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toTokenRow(row) : null;
  }

  async getToken(user: string, id: string): Promise<TokenRow | null> {
    const row = await this.db.selectFrom('tokens').selectAll()
      .where('id', '=', id).where('user_name', '=', user)
      .executeTakeFirst();
    return row ? toTokenRow(row) : null;
  }

  /** Oldest first. */
  async listTokens(user: string): Promise<TokenRow[]> {
    const rows = await this.db.selectFrom('tokens').selectAll()
      .where('user_name', '=', user).orderBy('created').orderBy('id').execute();
    return rows.map(toTokenRow);
  }

  async deleteToken(user: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('tokens')
      .where('id', '=', id).where('user_name', '=', user)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touchToken(id: string, when: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }

  /** Deletes tokens whose `expiresAt` is before `now` (JupyterHub: `expires_at < now`). */
  async deleteExpiredTokens(now: string): Promise<number> {
    const r = await this.db.deleteFrom('tokens')
      .where('expires_at', 'is not', null).where('expires_at', '<', now)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- sessions

  async insertSession(row: SessionRow): Promise<void> {
    try {
      await this.db.insertInto('sessions').values(fromSessionRow(row)).execute();
    } catch (err) {
      throw insertError(err, 'A session with this hash', row.user);
    }
  }

  async getSession(hash: string): Promise<SessionRow | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toSessionRow(row) : null;
  }

  async deleteSession(hash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('hash', '=', hash).execute();
  }

  async deleteSessionsOf(user: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_name', '=', user).execute();
  }

  /** Not in the Store interface (yet): deletes sessions whose `expiresAt` is before `now`. */
  async deleteExpiredSessions(now: string): Promise<number> {
    const r = await this.db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- login states

  async insertLoginState(row: LoginStateRow): Promise<void> {
    try {
      await this.db.insertInto('login_states').values(fromLoginStateRow(row)).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', 'This login state already exists.', { cause: err });
      throw err;
    }
  }

  async takeLoginState(state: string): Promise<LoginStateRow | null> {
    // DELETE … RETURNING (SQLite ≥ 3.35): of two concurrent callbacks with the same state, only
    // the one whose statement deleted the row gets it back.
    const row = await this.db.deleteFrom('login_states').where('state', '=', state).returningAll().executeTakeFirst();
    return row ? toLoginStateRow(row) : null;
  }

  async deleteLoginStatesBefore(when: string): Promise<number> {
    const r = await this.db.deleteFrom('login_states').where('created', '<', when).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
