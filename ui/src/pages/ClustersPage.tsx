import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from '../components/Alert.js';
import { clusterOptionsPath, clusterPagePath, clusterPath, clustersPath, isActiveCluster, keepWarnings, type ClusterModel, type OptionField } from '../components/ClusterApi.js';
import { ClusterForm, type ClusterRequest } from '../components/ClusterForm.js';
import { ClusterTable } from '../components/ClusterTable.js';
import { navigate } from '../router.js';

const POLL_MS = 3000;

/** The Clusters page: your Dask clusters, and a form to create one with the allowed options. */
export function ClustersPage() {
  const [clusters, setClusters] = useState<ClusterModel[] | null>(null);
  const [fields, setFields] = useState<OptionField[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());

  useEffect(function loadAndPoll() {
    let stopped = false;
    let timer: number | undefined;
    async function load() {
      try {
        const r = await api<{ clusters: ClusterModel[] }>('GET', clustersPath);
        if (!stopped) setClusters((r.body?.clusters ?? []).filter(isActiveCluster));
      } catch (err) {
        if (!stopped) setError(errorMessage(err));
      }
      if (!stopped) timer = window.setTimeout(load, POLL_MS);
    }
    void load();
    api<{ cluster_options: OptionField[] }>('GET', clusterOptionsPath).then(
      (r) => { if (!stopped) setFields(r.body?.cluster_options ?? []); },
      (err: unknown) => { if (!stopped) setError(errorMessage(err)); },
    );
    return function stop() {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, []);

  async function create(request: ClusterRequest) {
    setCreating(true);
    setError(null);
    try {
      const r = await api<ClusterModel & { warnings?: string[] }>('POST', clustersPath, request);
      if (r.body) {
        keepWarnings(r.body.name, r.body.warnings);
        navigate(clusterPagePath(r.body.name));
      }
    } catch (err) {
      setError(errorMessage(err));
      setCreating(false);
    }
  }

  async function stop(name: string) {
    setBusy((prev) => new Set([...prev, name]));
    try {
      await api('DELETE', clusterPath(name));
      setClusters((prev) => (prev ?? []).filter((c) => c.name !== name));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy((prev) => new Set([...prev].filter((n) => n !== name)));
    }
  }

  return (
    <>
      <div className="page-heading">
        <h1>Your Dask clusters</h1>
      </div>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {clusters === null ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : (
        <ClusterTable clusters={clusters} busy={busy} onStop={(name) => void stop(name)} />
      )}
      {fields !== null ? <ClusterForm fields={fields} submitting={creating} onSubmit={(r) => void create(r)} /> : null}
    </>
  );
}
