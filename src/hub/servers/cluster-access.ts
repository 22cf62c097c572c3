/**
 * What a notebook server gets so that Dask clusters work from it: the hub defines the contract,
 * the clusters part (src/clusters/notebook-env.ts) implements it, so the hub never imports clusters.
 */

/** What the server manager adds to a notebook pod. */
export interface NotebookClusterAccess {
  /** Plain environment variables. */
  env: Array<{ name: string; value: string }>;
  /** Host directories of Python modules the notebook imports (read-only; on PYTHONPATH). */
  pythonPath: string[];
  /**
   * Scopes added to the server's own API token (JUPYTERHUB_API_TOKEN, revoked when it stops),
   * which dask-gateway's `jupyterhub` auth presents.
   */
  scopes: string[];
}

/** Says what a notebook server needs for Dask clusters. */
export interface NotebookClusterAccessProvider {
  issue(user: string, server: string): NotebookClusterAccess;
}
