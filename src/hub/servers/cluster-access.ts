/**
 * What a notebook server gets from the platform's parts so that they work from it (Dask clusters:
 * src/clusters/notebook-env.ts; data: src/data/notebook-env.ts): the hub defines the contract, the
 * parts implement it, so the hub never imports them.
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

/** One provider giving what all of `providers` give (environment, Python path and scopes, in order). */
export function combineNotebookAccess(...providers: Array<NotebookClusterAccessProvider | undefined>): NotebookClusterAccessProvider | undefined {
  const present = providers.filter((p): p is NotebookClusterAccessProvider => p !== undefined);
  if (present.length <= 1) return present[0];
  return {
    issue(user, server) {
      const parts = present.map((p) => p.issue(user, server));
      return {
        env: parts.flatMap((p) => p.env),
        pythonPath: parts.flatMap((p) => p.pythonPath),
        scopes: [...new Set(parts.flatMap((p) => p.scopes))],
      };
    },
  };
}
