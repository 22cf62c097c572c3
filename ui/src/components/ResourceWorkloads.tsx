import type { WorkloadContainer, WorkloadModel } from './ResourceTypes.js';
import { Time } from './Time.js';
import { formatState } from '../format.js';

interface ResourceWorkloadsProps {
  workloads: WorkloadModel[];
  /** Shows the owner column (admins see everyone's). */
  showOwner: boolean;
  selected: string | null;
  onShowLogs: (uid: string) => void;
}

function stateClass(state: string): string {
  const s = state.toLowerCase();
  if (s === 'running') return 'state state-running';
  if (s === 'starting' || s === 'pending' || s === 'stopping') return `state state-${s === 'pending' ? 'starting' : s}`;
  return 'state';
}

/** "main: running", "main: terminated (exit 1, Error)", "main: waiting (Pending)". */
export function containerText(c: WorkloadContainer): string {
  const prefix = c.init ? 'init ' : '';
  if (c.state === 'terminated') return `${prefix}${c.name}: terminated (exit ${c.exitCode ?? '?'}${c.reason ? `, ${c.reason}` : ''})`;
  if (c.state === 'waiting') return `${prefix}${c.name}: waiting${c.reason ? ` (${c.reason})` : ''}`;
  return `${prefix}${c.name}: ${c.state}`;
}

function roleText(w: WorkloadModel): string {
  if (w.role === 'server') return w.name === '' ? 'server (default)' : `server ${w.name}`;
  return `${w.role} of cluster ${w.name}`;
}

/** The pods the hub tracks for the caller, with live container states and a Logs action. */
export function ResourceWorkloads({ workloads, showOwner, selected, onShowLogs }: ResourceWorkloadsProps) {
  if (workloads.length === 0) {
    return (
      <p className="empty" data-testid="no-workloads">
        Nothing is running. Servers and cluster pods appear here while they run.
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="workload-table">
        <caption className="visually-hidden">Workloads</caption>
        <thead>
          <tr>
            {showOwner ? <th scope="col">Owner</th> : null}
            <th scope="col">Workload</th>
            <th scope="col">Executor</th>
            <th scope="col">State</th>
            <th scope="col">Containers</th>
            <th scope="col">Started</th>
            <th scope="col" className="actions-col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {workloads.map(function row(w) {
            return (
              <tr key={w.uid} data-testid={`workload-row-${w.uid}`} aria-selected={selected === w.uid}>
                {showOwner ? <td>{w.owner}</td> : null}
                <th scope="row">
                  {roleText(w)}
                  <div className="hint mono" title="Pod UID">
                    {w.uid}
                  </div>
                </th>
                <td>
                  {w.executor}
                  {w.kind ? <span className="muted"> ({w.kind})</span> : null}
                </td>
                <td>
                  <span className={stateClass(w.state)}>{formatState(w.state)}</span>
                </td>
                <td>
                  {w.containers.length === 0 ? (
                    <span className="muted">{w.statusError ?? '—'}</span>
                  ) : (
                    <ul className="scopes">
                      {w.containers.map(function container(c) {
                        return (
                          <li key={c.name} title={c.message ?? undefined}>
                            {containerText(c)}
                          </li>
                        );
                      })}
                    </ul>
                  )}
                </td>
                <td>
                  <Time value={w.started} />
                </td>
                <td className="actions">
                  <button type="button" className="button" onClick={() => onShowLogs(w.uid)} data-testid="show-logs">
                    Logs
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
