/**
 * What a notebook server gets from the hub at start, as JupyterHub's spawner gives it: an API
 * token holding the server role (`users:activity!user`, `access:servers!server`, plus whatever
 * the platform adds, e.g. Dask clusters), and an OAuth client whose secret is that token, through
 * which `jupyterhub-singleuser` logs browsers in. Both are revoked when the server stops.
 */
import { hashSecret, newSecret, newTokenId } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import type { Store } from '../../store/types.js';
import { serverPath } from '../models.js';

/** The OAuth client of a server, named as JupyterHub names it. */
export function oauthClientId(user: string, server: string): string {
  return `jupyterhub-user-${encodeURIComponent(user)}${server ? `-${encodeURIComponent(server)}` : ''}`;
}

/** JupyterHub's `oauth_access_scopes` of a server: who holds one of these may use it. */
export function accessScopes(user: string, server: string): string[] {
  return [`access:servers!server=${user}/${server}`, `access:servers!user=${user}`];
}

/** The scopes of a server's own API token: JupyterHub 4's `server` role, bound to this server. */
export function serverRoleScopes(user: string, server: string): string[] {
  return [`users:activity!user=${user}`, `access:servers!server=${user}/${server}`];
}

/** Where a server's OAuth flow returns (JupyterHub's JUPYTERHUB_OAUTH_CALLBACK_URL). */
export function oauthCallbackPath(user: string, server: string): string {
  return `${serverPath(user, server)}oauth_callback`;
}

export interface ServerCredentials {
  /** JUPYTERHUB_API_TOKEN, and the OAuth client's secret. */
  apiToken: string;
  /** Kept with the server, to revoke the token at stop. */
  tokenId: string;
  clientId: string;
}

/**
 * Issues a server's API token and (re)registers its OAuth client. A client id another server
 * holds (JupyterHub's naming makes `a` + server `b-c` and `a-b` + server `c` collide) is refused
 * rather than taken over.
 */
export async function issueServerCredentials(store: Store, user: string, server: string, extraScopes: readonly string[] = []): Promise<ServerCredentials> {
  const clientId = oauthClientId(user, server);
  const existing = await store.getOAuthClient(clientId);
  if (existing && (existing.user !== user || existing.server !== server)) {
    throw fail('CONFLICT', `The OAuth client name ${clientId} is taken by another server (${existing.user}/${existing.server}); choose another server name.`);
  }
  // Tokens left from an earlier run of this server (a stop that could not finish) go first.
  if (existing) await store.deleteOAuthClient(clientId);
  const apiToken = newSecret();
  const tokenId = newTokenId();
  const now = new Date().toISOString();
  await store.insertToken({
    id: tokenId, user, hash: hashSecret(apiToken), prefix: apiToken.slice(0, 4),
    scopes: [...new Set([...serverRoleScopes(user, server), ...extraScopes])],
    note: `Server at ${serverPath(user, server)} (revoked when it stops)`, kind: 'api',
    created: now, expiresAt: null, lastActivity: null,
  });
  await store.putOAuthClient({
    id: clientId, secretHash: hashSecret(apiToken), redirectUri: oauthCallbackPath(user, server),
    allowedScopes: accessScopes(user, server), description: `Server at ${serverPath(user, server)}`,
    user, server, service: null, created: now,
  });
  return { apiToken, tokenId, clientId };
}

/** Revokes a server's API token, its OAuth client and every token issued through it. */
export async function revokeServerCredentials(store: Store, user: string, server: string, tokenId: string | undefined): Promise<void> {
  if (tokenId) await store.deleteToken(user, tokenId);
  const client = await store.getOAuthClient(oauthClientId(user, server));
  if (client && client.user === user && client.server === server) await store.deleteOAuthClient(client.id);
}
