import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from '../components/Alert.js';
import { clusterPath, takeWarnings, workersSummary, type ClusterModel } from '../components/ClusterApi.js';
import { ClusterCharts } from '../components/ClusterCharts.js';
import { ClusterProgress } from '../components/ClusterProgress.js';
import { ClusterScale } from '../components/ClusterScale.js';
import { Link } from '../components/Link.js';
import { Time } from '../components/Time.js';
import { formatCores, formatMemory, formatState } from '../format.js';

const POLL_MS = 2000;

/** Python that connects a notebook on the platform to this cluster. */
function connectCode(name: string): string {
  return [
    '# with dask-gateway installed',
    'from dask_gateway import Gateway',
    `cluster = Gateway().connect("${name}")`,
    'client = cluster.get_client()',
    '',
    '# with distributed only (highrate_dask is on the notebook\'s PYTHONPATH)',
    'from highrate_dask import connect',
    `client = connect("${name}")`,
  ].join('\n');
}

/** One cluster: how it came up, its workers, scale / adapt / shut down, live dashboards. */
export function ClusterPage({ name }: { name: string }) {
  const [cluster, setCluster] = useState<ClusterModel | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(
    function showCreateWarnings() {
      const warnings = takeWarnings(name);
      if (warnings.length) setNotice(warnings.join(' '));
    },
    [name],
  );

  const load = useCallback(
    async function loadCluster() {
      try {
        const r = await api<ClusterModel>('GET', clusterPath(name));
        setCluster(r.body);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [name],
  );

  useEffect(
    function poll() {
      let stopped = false;
      let timer: number | undefined;
      async function tick() {
        await load();
        if (!stopped) timer = window.setTimeout(tick, POLL_MS);
      }
      void tick();
      return function stop() {
        stopped = true;
        window.clearTimeout(timer);
      };
    },
    [load],
  );

  async function act(path: string, body: unknown, method: 'POST' | 'DELETE' = 'POST') {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const r = await api<{ ok?: boolean; msg?: string | null; warnings?: string[] }>(method, path, body);
      // The cap at max_workers and what exceeds the executor's reported capacity: told, not refused.
      const told = [r.body?.msg ?? '', ...(r.body?.warnings ?? [])].filter((m) => m !== '');
      if (told.length) setNotice(told.join(' '));
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  if (cluster === null) {
    return error ? (
      <Alert kind="error" title="Cluster not available">
        <p>{error}</p>
        <p>
          <Link to="/hub/clusters">All clusters</Link>
        </p>
      </Alert>
    ) : (
      <p className="muted" role="status">
        Loading…
      </p>
    );
  }
  const active = cluster.status === 'PENDING' || cluster.status === 'RUNNING';
  return (
    <>
      <div className="page-heading">
        <h1>
          Cluster <span className="mono cluster-name" title={cluster.name} data-testid="cluster-name">{cluster.name}</span>
        </h1>
        <Link to="/hub/clusters" className="button">
          All clusters
        </Link>
      </div>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {notice !== null ? (
        <Alert kind="warning" onDismiss={() => setNotice(null)}>
          <p data-testid="cluster-notice">{notice}</p>
        </Alert>
      ) : null}
      {cluster.status === 'FAILED' || cluster.status === 'STOPPED' ? (
        <Alert kind={cluster.status === 'FAILED' ? 'error' : 'info'} title={cluster.status === 'FAILED' ? 'The cluster failed' : 'The cluster was stopped'}>
          <pre className="failure-log" data-testid="cluster-failure">{cluster.failure ?? 'No reason was recorded.'}</pre>
          {cluster.stopped ? (
            <p>
              Ended <Time value={cluster.stopped} />.
            </p>
          ) : null}
        </Alert>
      ) : null}
      <section className="card" aria-labelledby="cluster-facts">
        <h2 id="cluster-facts" className="visually-hidden">
          Facts
        </h2>
        <dl className="cluster-summary">
          <div><dt>State</dt><dd><span className={`state cluster-state-${cluster.status.toLowerCase()}`} data-testid="cluster-status">{formatState(cluster.status)}</span></dd></div>
          <div><dt>Workers</dt><dd data-testid="cluster-workers">{workersSummary(cluster)}</dd></div>
          <div><dt>Each worker</dt><dd>{formatCores(cluster.worker_cores)}, {formatMemory(cluster.worker_memory)}, on {cluster.worker_executor}</dd></div>
          <div><dt>Created</dt><dd><Time value={cluster.created} /></dd></div>
          {cluster.scheduler_address ? <div><dt>Scheduler</dt><dd className="mono">{cluster.scheduler_address}</dd></div> : null}
        </dl>
      </section>
      {cluster.status === 'PENDING' ? <ClusterProgress url={cluster.progress_url} onEnd={() => void load()} /> : null}
      {active ? (
        <ClusterScale
          key={`${cluster.adaptive?.minimum}-${cluster.adaptive?.maximum}-${cluster.workers.requested}`}
          cluster={cluster}
          busy={busy}
          onScale={(count) => void act(`${clusterPath(cluster.name)}/scale`, { count })}
          onAdapt={(minimum, maximum) => void act(`${clusterPath(cluster.name)}/adapt`, { minimum, maximum, active: true })}
          onStop={() => void act(clusterPath(cluster.name), undefined, 'DELETE')}
        />
      ) : null}
      {cluster.status === 'RUNNING' ? (
        <>
          <ClusterCharts name={cluster.name} dashboardRoute={cluster.dashboard_route} />
          <section className="card" aria-labelledby="connect-title">
            <h2 id="connect-title">Connect from a notebook</h2>
            <pre className="mono cluster-code" data-testid="connect-code">{connectCode(cluster.name)}</pre>
            <p className="hint">
              Outside the platform: TLS to <span className="mono">{cluster.tls_address}</span> with server name{' '}
              <span className="mono">{cluster.sni}</span> and the cluster's certificate and key from the dask-gateway API.
            </p>
          </section>
        </>
      ) : null}
    </>
  );
}
