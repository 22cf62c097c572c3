/**
 * What a notebook server gets so that Dask clusters work from it: the hub defines the contract,
 * the clusters part (src/clusters/notebook-env.ts) implements it, so the hub never imports clusters.
 */

/** What the server manager adds to a notebook pod. */
export interface NotebookClusterAccess {
  /** Plain environment variables. */
  env: Array<{ name: string; value: string }>;
  /** Secret environment variables (into the pod's Secret, never its spec). */
  secretEnv: Record<string, string>;
  /** Host directories of Python modules the notebook imports (read-only; on PYTHONPATH). */
  pythonPath: string[];
  /** Kept with the server, to revoke the token at stop. */
  tokenId: string;
}

/** Issues and revokes notebook servers' cluster access. */
export interface NotebookClusterAccessProvider {
  issue(user: string, server: string): Promise<NotebookClusterAccess>;
  revoke(user: string, tokenId: string | undefined | null): Promise<void>;
}
