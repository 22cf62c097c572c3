import type { StorageElementModel } from './StorageApi.js';
import { Time } from './Time.js';

const STATE_WORDS: Record<string, string> = { ok: 'OK', degraded: 'Degraded', unreachable: 'Unreachable' };
const STATE_CLASS: Record<string, string> = { ok: 'state state-running', degraded: 'state state-starting', unreachable: 'state state-failed' };

/** Every storage element: state from the hub's last probe, latency, version, and what went wrong last. */
export function ResourceStorage({ elements }: { elements: StorageElementModel[] }) {
  if (elements.length === 0) {
    return <p className="empty">No storage elements are configured (storage.embedded, storage.elements).</p>;
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="storage-table">
        <caption className="visually-hidden">Storage elements</caption>
        <thead>
          <tr>
            <th scope="col">Storage element</th>
            <th scope="col">Kind</th>
            <th scope="col">State</th>
            <th scope="col">Latency</th>
            <th scope="col">Version</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {elements.map(function row(e) {
            const state = e.state ?? 'unknown';
            return (
              <tr key={e.name} data-testid={`storage-row-${e.name}`} data-state={state}>
                <th scope="row">
                  {e.name}
                  <div className="hint mono">{e.url}</div>
                </th>
                <td>{e.kind}</td>
                <td>
                  <span className={STATE_CLASS[state] ?? 'state'} data-testid="storage-state">{STATE_WORDS[state] ?? 'Not checked yet'}</span>
                  <div className="hint" data-testid="storage-message">{e.message}</div>
                  <div className="hint">
                    checked <Time value={e.checked} empty="never" />
                  </div>
                </td>
                <td className="mono" data-testid="storage-latency">{e.latencyMs === null ? '—' : `${e.latencyMs} ms`}</td>
                <td className="mono" data-testid="storage-version">{e.version ?? '—'}</td>
                <td data-testid="storage-error">
                  {e.lastError === null ? <span className="muted">none</span> : (
                    <>
                      {e.lastError.message}
                      <div className="hint"><Time value={e.lastError.at} /></div>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
