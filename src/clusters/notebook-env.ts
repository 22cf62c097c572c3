import type { NotebookClusterAccessProvider } from '../hub/servers/cluster-access.js';
import { GATEWAY_PREFIX } from './gateway-api.js';
import { PYTHON_DIR } from './workload.js';

/**
 * What a notebook server needs so that `dask_gateway.Gateway()` finds the clusters service and
 * `highrate_dask.connect()` (or plain `distributed.Client`) reaches a cluster: dask-gateway's
 * configuration as DASK_GATEWAY__* variables, and cluster scopes on the server's own API token
 * (JUPYTERHUB_API_TOKEN, issued by the hub for this server alone and revoked when it stops).
 */

/** The scopes a notebook server's token gets for clusters: its owner's clusters, nothing more. */
export const NOTEBOOK_TOKEN_SCOPES = ['clusters!user', 'access:clusters!user', 'read:users:name!user'];


/**
 * @param publicUrl where the notebook reaches the platform (its API and the dask-gateway API)
 * @param proxyAddress `host:port` of the Dask port
 */
export function notebookClusterAccess(deps: { publicUrl: string; proxyAddress: () => string }): NotebookClusterAccessProvider {
  return {
    issue() {
      const env = [
        { name: 'DASK_GATEWAY__ADDRESS', value: `${deps.publicUrl}${GATEWAY_PREFIX}` },
        // dashboard links are <public-address><dashboard_route>, the route being /clusters/<name>/status
        { name: 'DASK_GATEWAY__PUBLIC_ADDRESS', value: deps.publicUrl },
        { name: 'DASK_GATEWAY__PROXY_ADDRESS', value: `gateway://${deps.proxyAddress()}` },
        { name: 'DASK_GATEWAY__AUTH__TYPE', value: 'jupyterhub' },
      ];
      return { env, scopes: [...NOTEBOOK_TOKEN_SCOPES], pythonPath: [PYTHON_DIR] };
    },
  };
}
