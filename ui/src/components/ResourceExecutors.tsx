import type { ExecutorModel } from './ResourceTypes.js';
import { Time } from './Time.js';
import { formatCores, formatMemory } from '../format.js';

/** What an executor honours, as short words. */
function capabilityWords(c: ExecutorModel['capabilities']): string[] {
  const out: string[] = [];
  if (c.images) out.push('images');
  if (c.cpuLimits) out.push('cpu limits');
  if (c.memoryLimits) out.push('memory limits');
  if (c.remoteAddress) out.push('remote');
  if (c.mountPaths) out.push('volumes at mountPath');
  return out;
}

/** Every executor: health from its last ping, capacity as it reports it, what it honours. */
export function ResourceExecutors({ executors }: { executors: ExecutorModel[] }) {
  if (executors.length === 0) {
    return <p className="empty">No executors are configured.</p>;
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="executor-table">
        <caption className="visually-hidden">Executors</caption>
        <thead>
          <tr>
            <th scope="col">Executor</th>
            <th scope="col">Kind</th>
            <th scope="col">Health</th>
            <th scope="col">CPU</th>
            <th scope="col">Memory</th>
            <th scope="col">Pods</th>
            <th scope="col">Honours</th>
          </tr>
        </thead>
        <tbody>
          {executors.map(function row(e) {
            const cap = e.capacity;
            return (
              <tr key={e.name} data-testid={`executor-row-${e.name}`} data-health={e.health.ok ? 'ok' : 'failing'}>
                <th scope="row">{e.name}</th>
                <td>{e.kind}</td>
                <td>
                  <span className={e.health.ok ? 'state state-running' : 'state'}>{e.health.ok ? 'Healthy' : 'Failing'}</span>
                  {e.health.message ? <div className="hint">{e.health.message}</div> : null}
                  <div className="hint">
                    checked <Time value={e.health.checked} />
                  </div>
                </td>
                <td title={cap?.cpu}>{formatCores(cap?.cpu)}</td>
                <td title={cap?.memory}>{formatMemory(cap?.memory)}</td>
                <td className="mono">{cap?.pods ?? '—'}</td>
                <td>
                  {capabilityWords(e.capabilities).map(function badge(w) {
                    return (
                      <span key={w} className="badge">
                        {w}
                      </span>
                    );
                  })}
                  {e.taints.map(function taint(t) {
                    return (
                      <span key={`${t.key}:${t.effect}`} className="badge badge-danger" title="taint">
                        {t.key}
                        {t.value ? `=${t.value}` : ''}:{t.effect}
                      </span>
                    );
                  })}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
