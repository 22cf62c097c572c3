import { hashSecret, newSecret, newTokenId } from '../auth/tokens.js';
import type { NotebookClusterAccessProvider } from '../hub/servers/cluster-access.js';
import { log } from '../log.js';
import type { Store } from '../store/types.js';
import { GATEWAY_PREFIX } from './gateway-api.js';
import { PYTHON_DIR } from './workload.js';

/**
 * What a notebook server needs so that `dask_gateway.Gateway()` finds the clusters service and
 * `highrate_dask.connect()` (or plain `distributed.Client`) reaches a cluster: dask-gateway's
 * configuration as DASK_GATEWAY__* variables, and JUPYTERHUB_API_TOKEN, a token issued for this
 * server alone with only cluster scopes, revoked when the server stops.
 */

/** The scopes of a notebook server's token: its owner's clusters, nothing else. */
export const NOTEBOOK_TOKEN_SCOPES = ['clusters!user', 'access:clusters!user', 'read:users:name!user'];


/**
 * @param publicUrl where the notebook reaches the platform (its API and the dask-gateway API)
 * @param proxyAddress `host:port` of the Dask port
 */
export function notebookClusterAccess(deps: { store: Store; publicUrl: string; proxyAddress: () => string }): NotebookClusterAccessProvider {
  return {
    async issue(user, server) {
      const value = newSecret();
      const id = newTokenId();
      await deps.store.insertToken({
        id, user, hash: hashSecret(value), prefix: value.slice(0, 4), scopes: [...NOTEBOOK_TOKEN_SCOPES],
        note: `Dask clusters from ${server ? `server '${server}'` : 'the default server'} (revoked when it stops)`, kind: 'api',
        created: new Date().toISOString(), expiresAt: null, lastActivity: null,
      });
      const env = [
        { name: 'DASK_GATEWAY__ADDRESS', value: `${deps.publicUrl}${GATEWAY_PREFIX}` },
        // dashboard links are <public-address><dashboard_route>, the route being /clusters/<name>/status
        { name: 'DASK_GATEWAY__PUBLIC_ADDRESS', value: deps.publicUrl },
        { name: 'DASK_GATEWAY__PROXY_ADDRESS', value: `gateway://${deps.proxyAddress()}` },
        { name: 'DASK_GATEWAY__AUTH__TYPE', value: 'jupyterhub' },
      ];
      return { env, secretEnv: { JUPYTERHUB_API_TOKEN: value }, tokenId: id, pythonPath: [PYTHON_DIR] };
    },
    async revoke(user, tokenId) {
      if (!tokenId) return;
      await deps.store.deleteToken(user, tokenId).catch((err: unknown) => log.warn('notebook cluster token not revoked', { user, error: String(err) }));
    },
  };
}
