import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { Time } from './Time.js';
import { activityPath, type AdminActivity as Activity, type AdminWorkload } from './AdminApi.js';
import { formatBytes, formatCores, formatState } from '../format.js';

const REFRESH_MS = 5000;

/** Everything running: servers and clusters with owner, age, activity and resources; stop any of them. */
export function AdminActivity() {
  const [data, setData] = useState<Activity | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stopping, setStopping] = useState<ReadonlySet<string>>(new Set());

  const load = useCallback(async function loadActivity() {
    try {
      const { body } = await api<Activity>('GET', activityPath);
      setData(body);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(
    function loadAndRefresh() {
      void load();
      const timer = window.setInterval(() => void load(), REFRESH_MS);
      return function stop() {
        window.clearInterval(timer);
      };
    },
    [load],
  );

  async function stop(w: AdminWorkload) {
    if (!w.stop_url) return;
    const key = `${w.kind}/${w.user}/${w.name}`;
    setStopping((s) => new Set([...s, key]));
    setError(null);
    try {
      await api('DELETE', w.stop_url);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setStopping((s) => new Set([...s].filter((k) => k !== key)));
    }
  }

  const rows = data ? [...data.servers, ...data.others] : [];
  return (
    <section className="card" aria-labelledby="admin-activity-title">
      <h2 id="admin-activity-title">Running now</h2>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {data && !data.providers.includes('cluster') ? <p className="muted">No cluster service is registered on this hub; only servers are listed.</p> : null}
      {data?.errors.map((e) => (
        <Alert key={e} kind="warning">
          <p>{e}</p>
        </Alert>
      ))}
      {data === null ? <p className="muted" role="status">Loading…</p> : null}
      {data !== null && rows.length === 0 ? <p className="empty">Nothing is running.</p> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" data-testid="admin-activity">
            <caption className="visually-hidden">Running servers and clusters</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Owner</th>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Started</th>
                <th scope="col">Last activity</th>
                <th scope="col">Cores</th>
                <th scope="col">Memory</th>
                <th scope="col" className="actions-col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(function row(w) {
                const key = `${w.kind}/${w.user}/${w.name}`;
                return (
                  <tr key={key} data-testid={`admin-workload-${w.kind}-${w.user}-${w.name || 'default'}`}>
                    <td>{w.kind}</td>
                    <th scope="row">{w.user}</th>
                    <td>{w.name === '' ? <span className="muted-name">default</span> : w.name}</td>
                    <td>{formatState(w.state)}</td>
                    <td>
                      <Time value={w.started} />
                    </td>
                    <td>
                      <Time value={w.last_activity} empty="Never" />
                    </td>
                    <td>{w.cores ? formatCores(w.cores) : '—'}</td>
                    <td>{w.memory_bytes > 0 ? formatBytes(w.memory_bytes) : '—'}</td>
                    <td className="actions">
                      {w.stop_url ? (
                        <button type="button" className="button button-danger" disabled={stopping.has(key)} onClick={() => void stop(w)} data-testid="admin-stop">
                          {stopping.has(key) ? 'Stopping…' : 'Stop'}
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
