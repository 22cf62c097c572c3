import type BetterSqlite3 from 'better-sqlite3';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage adapter over the IdP's SQLite file. oidc-provider's built-in adapter
 * keeps everything in process memory (and shares it between every Provider in the process), so a
 * hub restart would end every IdP session and every login in progress; this one keeps them.
 * One table for all models; rows past their expiry are invisible and purged periodically.
 */

/** Models whose rows belong to a grant and go when the grant is revoked (as oidc-provider expects). */
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

interface Row { payload: string }

export function createSqliteAdapterFactory(db: BetterSqlite3.Database): {
  factory: (model: string) => Adapter;
  purgeExpired: () => number;
  /** Ends every sign-in session of an account (its next authorization asks for the password again). */
  endSessions: (accountId: string) => number;
} {
  db.exec(`CREATE TABLE IF NOT EXISTS idp_oidc (
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    grant_id TEXT,
    user_code TEXT,
    uid TEXT,
    expires_at INTEGER,
    PRIMARY KEY (model, id)
  );
  CREATE INDEX IF NOT EXISTS idp_oidc_grant ON idp_oidc (grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS idp_oidc_uid ON idp_oidc (model, uid) WHERE uid IS NOT NULL;
  CREATE INDEX IF NOT EXISTS idp_oidc_user_code ON idp_oidc (model, user_code) WHERE user_code IS NOT NULL;`);

  const upsert = db.prepare(`INSERT INTO idp_oidc (model, id, payload, grant_id, user_code, uid, expires_at)
    VALUES (@model, @id, @payload, @grantId, @userCode, @uid, @expiresAt)
    ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
      user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`);
  const live = '(expires_at IS NULL OR expires_at > @now)';
  const byId = db.prepare(`SELECT payload FROM idp_oidc WHERE model = @model AND id = @id AND ${live}`);
  const byUid = db.prepare(`SELECT payload FROM idp_oidc WHERE model = @model AND uid = @key AND ${live}`);
  const byUserCode = db.prepare(`SELECT payload FROM idp_oidc WHERE model = @model AND user_code = @key AND ${live}`);
  const consume = db.prepare(`UPDATE idp_oidc SET payload = json_set(payload, '$.consumed', @at) WHERE model = @model AND id = @id`);
  const destroy = db.prepare('DELETE FROM idp_oidc WHERE model = @model AND id = @id');
  const revoke = db.prepare(`DELETE FROM idp_oidc WHERE grant_id = @grantId AND model IN (${[...GRANTABLE].map((m) => `'${m}'`).join(', ')})`);
  const purge = db.prepare('DELETE FROM idp_oidc WHERE expires_at IS NOT NULL AND expires_at <= @now');
  const endSessions = db.prepare("DELETE FROM idp_oidc WHERE model = 'Session' AND json_extract(payload, '$.accountId') = @accountId");

  function parse(row: Row | undefined): AdapterPayload | undefined {
    return row ? (JSON.parse(row.payload) as AdapterPayload) : undefined;
  }

  function factory(model: string): Adapter {
    return {
      async upsert(id, payload, expiresIn) {
        upsert.run({
          model,
          id,
          payload: JSON.stringify(payload),
          grantId: GRANTABLE.has(model) && typeof payload.grantId === 'string' ? payload.grantId : null,
          userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
          uid: typeof payload.uid === 'string' ? payload.uid : null,
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null,
        });
      },
      async find(id) {
        return parse(byId.get({ model, id, now: Date.now() }) as Row | undefined);
      },
      async findByUid(uid) {
        return parse(byUid.get({ model, key: uid, now: Date.now() }) as Row | undefined);
      },
      async findByUserCode(userCode) {
        return parse(byUserCode.get({ model, key: userCode, now: Date.now() }) as Row | undefined);
      },
      async consume(id) {
        consume.run({ model, id, at: Math.floor(Date.now() / 1000) });
      },
      async destroy(id) {
        destroy.run({ model, id });
      },
      async revokeByGrantId(grantId) {
        revoke.run({ grantId });
      },
    };
  }

  return {
    factory,
    purgeExpired: function purgeExpired() { return purge.run({ now: Date.now() }).changes; },
    endSessions: function endSessionsOf(accountId: string) { return endSessions.run({ accountId }).changes; },
  };
}
