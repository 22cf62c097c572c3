import type { NotebookClusterAccessProvider } from '../hub/servers/cluster-access.js';
import { DATA_PYTHON_DIR } from './index.js';

/** The scopes a notebook server's token gets for data: its owner's Rucio view and rules, nothing more. */
export const NOTEBOOK_DATA_SCOPES = ['read:data!user', 'write:data!user'];

/**
 * What a notebook server needs so that `import highrate_data` works and its calls to the hub's
 * data API (`/hub/api/data/…`, with JUPYTERHUB_API_TOKEN) are allowed.
 */
export function notebookDataAccess(): NotebookClusterAccessProvider {
  return {
    issue() {
      return { env: [], scopes: [...NOTEBOOK_DATA_SCOPES], pythonPath: [DATA_PYTHON_DIR] };
    },
  };
}
