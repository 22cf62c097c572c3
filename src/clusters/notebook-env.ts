import { hashSecret, newSecret, newTokenId } from '../auth/tokens.js';
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

/** What the server manager adds to a notebook pod. */
export interface NotebookClusterAccess {
  /** Plain environment variables. */
  env: Array<{ name: string; value: string }>;
  /** Secret environment variables (into the pod's Secret, never its spec). */
  secretEnv: Record<string, string>;
  /** Kept with the server, to revoke the token at stop. */
  tokenId: string;
}

/** Issues and revokes notebook servers' cluster tokens. */
export interface NotebookClusterAccessProvider {
  issue(user: string, server: string): Promise<NotebookClusterAccess>;
  revoke(user: string, tokenId: string | undefined | null): Promise<void>;
}

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
        { name: 'PYTHONPATH', value: PYTHON_DIR },
        // highrate_dask is imported from the installed package: leave no __pycache__ in it.
        { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
      ];
      return { env, secretEnv: { JUPYTERHUB_API_TOKEN: value }, tokenId: id, hostDirs: [PYTHON_DIR] };
    },
    async revoke(user, tokenId) {
      if (!tokenId) return;
      await deps.store.deleteToken(user, tokenId).catch((err: unknown) => log.warn('notebook cluster token not revoked', { user, error: String(err) }));
    },
  };
}
