/**
 * The hub's OAuth provider state in the store's behaviour suite (both backends): clients replaced
 * in place, codes taken once (also under concurrent exchanges), and revocation by client (a
 * server's stop) and by browser session (a logout).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OAuthClientRow, OAuthCodeRow, TokenRow } from '../../src/store/types.js';
import type { FreshStore } from './behaviour.js';
import { T0 } from './seed.js';

const client = (id: string, extra: Partial<OAuthClientRow> = {}): OAuthClientRow => ({
  id, secretHash: `secret-${id}`, redirectUri: '/user/ann/oauth_callback', allowedScopes: ['access:servers!server=ann/', 'access:servers!user=ann'],
  description: 'Server at /user/ann/', user: 'ann', server: '', service: null, created: T0, ...extra,
});
const code = (hash: string, clientId: string, extra: Partial<OAuthCodeRow> = {}): OAuthCodeRow => ({
  codeHash: hash, clientId, user: 'ann', sessionId: 'sess-1', scopes: ['access:servers!server=ann/', 'read:users:name!user=ann'],
  redirectUri: '/user/ann/oauth_callback', expiresAt: '2099-01-01T00:00:00.000Z', tokenExpiresAt: '2099-01-02T00:00:00.000Z', created: T0, ...extra,
});
const token = (id: string, extra: Partial<TokenRow> = {}): TokenRow => ({
  id, user: 'ann', hash: `hash-${id}`, prefix: 'abcd', scopes: [], note: '', kind: 'api', created: T0, expiresAt: null, lastActivity: null,
  oauthClient: null, sessionId: null, ...extra,
});

export function oauthBehaviour(fresh: FreshStore): void {
  describe('OAuth clients, codes and tokens', () => {
    test('a client is stored exactly, replaced in place, and gone with its user', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['ann']);
      assert.equal(await store.getOAuthClient('jupyterhub-user-ann'), null);
      await store.putOAuthClient(client('jupyterhub-user-ann'));
      assert.deepEqual(await store.getOAuthClient('jupyterhub-user-ann'), client('jupyterhub-user-ann'));
      await store.putOAuthClient(client('jupyterhub-user-ann', { secretHash: 'rotated', allowedScopes: [] }));
      assert.deepEqual(await store.getOAuthClient('jupyterhub-user-ann'), client('jupyterhub-user-ann', { secretHash: 'rotated', allowedScopes: [] }));
      await store.deleteUser('ann');
      assert.equal(await store.getOAuthClient('jupyterhub-user-ann'), null);
    });

    test('codes are taken once, also by two exchanges at once; a code for a missing client is refused', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['ann']);
      await store.putOAuthClient(client('c1'));
      await store.insertOAuthCode(code('code-1', 'c1'));
      const [a, b] = await Promise.all([store.takeOAuthCode('code-1'), store.takeOAuthCode('code-1')]);
      assert.deepEqual([a, b].filter(Boolean), [code('code-1', 'c1')]);
      assert.equal(await store.takeOAuthCode('code-1'), null);
      await assert.rejects(store.insertOAuthCode(code('code-2', 'no-such-client')), { code: 'BAD_REQUEST', status: 400 });
    });

    test('deleting a client revokes its codes and the tokens issued to it, no others; a logout revokes its session\'s tokens', async (t) => {
      const { store } = await fresh(t);
      await store.createUsers(['ann']);
      await store.putOAuthClient(client('c1'));
      await store.putOAuthClient(client('c2'));
      await store.insertOAuthCode(code('code-1', 'c1'));
      await store.insertToken(token('t1', { oauthClient: 'c1', sessionId: 'sess-1' }));
      await store.insertToken(token('t2', { oauthClient: 'c2', sessionId: 'sess-1' }));
      await store.insertToken(token('t3', { oauthClient: 'c2', sessionId: 'sess-2' }));
      await store.insertToken(token('t4'));
      assert.deepEqual(await store.getToken('ann', 't1'), token('t1', { oauthClient: 'c1', sessionId: 'sess-1' }));
      assert.equal(await store.deleteOAuthClient('c1'), 1);
      assert.equal(await store.getOAuthClient('c1'), null);
      assert.equal(await store.takeOAuthCode('code-1'), null);
      assert.deepEqual((await store.listTokens('ann')).map((x) => x.id).sort(), ['t2', 't3', 't4']);
      assert.equal(await store.deleteTokensOfSession('ann', 'sess-1'), 1);
      assert.deepEqual((await store.listTokens('ann')).map((x) => x.id).sort(), ['t3', 't4']);
      assert.equal(await store.deleteTokensOfSession('bob', 'sess-2'), 0);
    });
  });
}
