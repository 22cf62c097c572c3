import { Link } from './Link.js';
import { Time } from './Time.js';
import { clusterPagePath, workersSummary, type ClusterModel } from './ClusterApi.js';
import { formatCores, formatMemory, formatState } from '../format.js';

interface ClusterTableProps {
  clusters: ClusterModel[];
  busy: ReadonlySet<string>;
  onStop: (name: string) => void;
}

/** A user's clusters, newest first, with their state, workers and a way to stop them. */
export function ClusterTable({ clusters, busy, onStop }: ClusterTableProps) {
  if (clusters.length === 0) {
    return (
      <p className="empty" data-testid="no-clusters">
        You have no cluster running. Create one below, or from a notebook with <code>dask_gateway.Gateway().new_cluster()</code>.
      </p>
    );
  }
  const rows = [...clusters].sort((a, b) => (a.created < b.created ? 1 : -1));
  return (
    <div className="table-wrap">
      <table className="table" data-testid="cluster-table">
        <caption className="visually-hidden">Your clusters</caption>
        <thead>
          <tr>
            <th scope="col">Cluster</th>
            <th scope="col">State</th>
            <th scope="col">Workers</th>
            <th scope="col">Each worker</th>
            <th scope="col">Created</th>
            <th scope="col" className="actions-col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(function row(c) {
            const state = busy.has(c.name) && c.status !== 'STOPPED' ? 'STOPPING' : c.status;
            return (
              <tr key={c.name} data-testid={`cluster-row-${c.name}`} data-state={state.toLowerCase()}>
                <th scope="row">
                  {/* The whole name, cut only visually (CSS): copied or searched, it is complete. */}
                  <Link to={clusterPagePath(c.name)} className="mono cluster-name" title={c.name}>
                    {c.name}
                  </Link>
                </th>
                <td>
                  <span className={`state cluster-state-${state.toLowerCase()}`} data-testid="state">
                    {formatState(state)}
                  </span>
                </td>
                <td>{workersSummary(c)}</td>
                <td>
                  {formatCores(c.worker_cores)} · {formatMemory(c.worker_memory)} · {c.worker_executor}
                </td>
                <td>
                  <Time value={c.created} />
                </td>
                <td className="actions">
                  <Link to={clusterPagePath(c.name)} className="button" aria-label={`Open cluster ${c.name}`}>
                    Open
                  </Link>
                  {c.status === 'PENDING' || c.status === 'RUNNING' ? (
                    <button type="button" className="button button-danger" disabled={busy.has(c.name)} onClick={() => onStop(c.name)} data-testid="stop" aria-label={`Stop cluster ${c.name}`}>
                      {busy.has(c.name) ? 'Stopping…' : 'Stop'}
                    </button>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
