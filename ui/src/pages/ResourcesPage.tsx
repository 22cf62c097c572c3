import { useCallback, useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import type { UserModel } from '../api/types.js';
import { Alert } from '../components/Alert.js';
import { ResourceExecutors } from '../components/ResourceExecutors.js';
import { ResourceLogViewer } from '../components/ResourceLogViewer.js';
import { ResourceStorage } from '../components/ResourceStorage.js';
import { storageElementsPath, type StorageElementModel } from '../components/StorageApi.js';
import { executorsPath, workloadsPath, type ExecutorModel, type WorkloadModel } from '../components/ResourceTypes.js';
import { ResourceWorkloads } from '../components/ResourceWorkloads.js';
import { usePageTitle } from '../session.js';

/** How often the page refreshes what runs (executor pings are cached by the hub anyway). */
const REFRESH_MS = 10_000;

/**
 * Resources: where workloads can run (executors: health, capacity, what they honour), the storage
 * elements' health, what runs (the caller's pods, everyone's for admins) and the log of any of them.
 */
export function ResourcesPage({ user }: { user: UserModel }) {
  usePageTitle('Resources');
  const [executors, setExecutors] = useState<ExecutorModel[] | null>(null);
  const [workloads, setWorkloads] = useState<WorkloadModel[] | null>(null);
  const [storage, setStorage] = useState<StorageElementModel[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  // refresh: the Refresh button asks the hub to probe the storage elements now.
  const load = useCallback(async function loadResources(refresh = false) {
    try {
      const [ex, wl, st] = await Promise.all([
        api<{ executors: ExecutorModel[] }>('GET', executorsPath),
        api<{ workloads: WorkloadModel[] }>('GET', workloadsPath),
        api<{ elements: StorageElementModel[] }>('GET', storageElementsPath(refresh)),
      ]);
      setExecutors(ex.body?.executors ?? []);
      setWorkloads(wl.body?.workloads ?? []);
      setStorage(st.body?.elements ?? []);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(
    function refresh() {
      void load();
      const t = window.setInterval(function tick() {
        void load();
      }, REFRESH_MS);
      return function stop() {
        window.clearInterval(t);
      };
    },
    [load],
  );

  const chosen = workloads?.find((w) => w.uid === selected) ?? null;
  return (
    <>
      <div className="page-heading">
        <h1>Resources</h1>
        <button type="button" className="button" onClick={() => void load(true)} data-testid="refresh">
          Refresh
        </button>
      </div>
      {error !== null ? (
        <Alert kind="error" title="Resources could not be loaded">
          <p>{error}</p>
        </Alert>
      ) : null}
      <section aria-labelledby="executors-heading">
        <h2 id="executors-heading">Executors</h2>
        {executors === null ? <p className="muted">Loading…</p> : <ResourceExecutors executors={executors} />}
      </section>
      <section aria-labelledby="storage-heading">
        <h2 id="storage-heading">Storage</h2>
        {storage === null ? <p className="muted">Loading…</p> : <ResourceStorage elements={storage} />}
      </section>
      <section aria-labelledby="workloads-heading">
        <h2 id="workloads-heading">{user.admin ? 'Workloads' : 'Your workloads'}</h2>
        {workloads === null ? (
          <p className="muted">Loading…</p>
        ) : (
          <ResourceWorkloads workloads={workloads} showOwner={user.admin} selected={selected} onShowLogs={setSelected} />
        )}
      </section>
      {chosen !== null ? <ResourceLogViewer key={chosen.uid} workload={chosen} /> : null}
    </>
  );
}
