import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage } from '../api/client.js';
import { Alert } from '../components/Alert.js';
import {
  dataInfoPath, dataDidPath, dataQuotaPath, dataReplicasPath, dataRulePath, dataRulesPath, dataSearchPath, formatBytes,
  type DidDetail, type DidHit, type QuotaModel, type ReplicaView, type RuleModel,
} from '../components/DataApi.js';
import { StorageBrowser } from '../components/StorageBrowser.js';
import { usePageTitle } from '../session.js';

const POLL_MS = 2000;

/**
 * Data: Rucio when the hub has one (data.rucio); else the embedded storage element, browsed with
 * the user's own storage token.
 */
export function DataPage() {
  usePageTitle('Data');
  const [rucio, setRucio] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(function askRucio() {
    api('GET', dataInfoPath).then(
      () => setRucio(true),
      (err: unknown) => {
        // 404 NOT_FOUND: no Rucio is configured on this hub.
        if (err instanceof ApiError && err.status === 404) setRucio(false);
        else setError(errorMessage(err));
      },
    );
  }, []);
  if (error !== null) return <Alert kind="error" title="Data"><p data-testid="data-error">{error}</p></Alert>;
  if (rucio === null) return <p className="muted" role="status">Loading…</p>;
  return rucio ? <RucioData /> : (
    <>
      <div className="page-heading"><h1>Data</h1></div>
      <StorageBrowser />
    </>
  );
}

/**
 * Search Rucio, look at a dataset's files and where they are, make it available at this
 * facility (a Rucio rule, with its files' progress), your rules and quota. Everything goes
 * through the hub as your Rucio account.
 */
function RucioData() {
  const [query, setQuery] = useState('');
  const [type, setType] = useState('collection');
  const [hits, setHits] = useState<DidHit[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [detail, setDetail] = useState<DidDetail | null>(null);
  const [replicas, setReplicas] = useState<ReplicaView | null>(null);
  const [rules, setRules] = useState<RuleModel[] | null>(null);
  const [quota, setQuota] = useState<QuotaModel | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const loadRules = useCallback(async function loadRules() {
    try {
      const [r, q] = await Promise.all([api<{ rules: RuleModel[] }>('GET', dataRulesPath), api<QuotaModel>('GET', dataQuotaPath)]);
      setRules(r.body?.rules ?? []);
      setQuota(q.body);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(function pollRules() {
    let stopped = false;
    let timer: number | undefined;
    async function tick() {
      await loadRules();
      if (!stopped) timer = window.setTimeout(tick, POLL_MS);
    }
    void tick();
    return function stop() { stopped = true; window.clearTimeout(timer); };
  }, [loadRules]);

  const open = useCallback(async function openDid(did: string) {
    setSelected(did);
    setDetail(null);
    setReplicas(null);
    try {
      const [d, r] = await Promise.all([api<DidDetail>('GET', dataDidPath(did)), api<ReplicaView>('GET', dataReplicasPath(did))]);
      setDetail(d.body);
      setReplicas(r.body);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  async function search(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ dids: DidHit[] }>('GET', dataSearchPath(query.trim(), type));
      setHits(r.body?.dids ?? []);
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  async function stage(did: string) {
    setBusy(true);
    setError(null);
    try {
      await api('POST', dataRulesPath, { did });
      await loadRules();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function remove(id: string) {
    setError(null);
    try {
      await api('DELETE', dataRulePath(id));
      await loadRules();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  const ruleOf = (did: string) => rules?.find((r) => r.did === did);

  return (
    <>
      <div className="page-heading">
        <h1>Data</h1>
        {quota ? (
          <p className="muted" data-testid="data-quota">
            Rucio account {quota.account}: {formatBytes(quota.facility.bytes)} of{' '}
            {quota.facility.bytes_limit === null ? 'no quota' : formatBytes(quota.facility.bytes_limit)} used at {quota.facility_rse}
          </p>
        ) : null}
      </div>
      {error !== null ? (
        <Alert kind="error" title="Rucio" onDismiss={() => setError(null)}>
          <p data-testid="data-error">{error}</p>
        </Alert>
      ) : null}
      <form className="card" onSubmit={(e) => void search(e)} aria-label="Search Rucio">
        <label>
          Data identifier (scope:pattern){' '}
          <input name="did" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="data:*2024*" required data-testid="data-query" />
        </label>{' '}
        <select value={type} onChange={(e) => setType(e.target.value)} aria-label="Type">
          <option value="collection">datasets and containers</option>
          <option value="dataset">datasets</option>
          <option value="container">containers</option>
          <option value="file">files</option>
          <option value="all">everything</option>
        </select>{' '}
        <button type="submit" className="button" data-testid="data-search">Search</button>
      </form>
      {hits !== null ? (
        <div className="table-wrap">
          <table className="table" data-testid="data-hits">
            <thead><tr><th>DID</th><th>Type</th><th>Size</th><th>Files</th></tr></thead>
            <tbody>
              {hits.length === 0 ? <tr><td colSpan={4} className="muted">Nothing matches.</td></tr> : null}
              {hits.map((h) => (
                <tr key={h.did}>
                  <th><button type="button" className="link-button" onClick={() => void open(h.did)}>{h.did}</button></th>
                  <td>{h.type}</td><td>{formatBytes(h.bytes)}</td><td>{h.length ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {selected !== null ? (
        <section className="card" aria-label={selected} data-testid="data-detail">
          <h2>{selected}</h2>
          {detail === null || replicas === null ? <p className="muted" role="status">Loading…</p> : (
            <>
              <p>{detail.type}, {formatBytes(detail.bytes)} in {detail.files_count} file{detail.files_count === 1 ? '' : 's'}</p>
              <p data-testid="data-facility">
                {replicas.facility.complete ? `Available at this facility (${replicas.facility.rse}).` : `${replicas.facility.files} of ${replicas.files_count} files at this facility (${replicas.facility.rse}).`}{' '}
                {!replicas.facility.complete && !ruleOf(selected) ? (
                  <button type="button" className="button" disabled={busy} onClick={() => void stage(selected)} data-testid="data-stage">Make available here</button>
                ) : null}
              </p>
              <table className="table" aria-label="Replicas per RSE">
                <thead><tr><th>RSE</th><th>Files</th><th>Size</th></tr></thead>
                <tbody>{replicas.rses.map((r) => <tr key={r.rse}><th>{r.rse}</th><td>{r.files}/{replicas.files_count}{r.complete ? ' (complete)' : ''}</td><td>{formatBytes(r.bytes)}</td></tr>)}</tbody>
              </table>
              <table className="table" aria-label="Files">
                <thead><tr><th>File</th><th>Size</th><th>adler32</th></tr></thead>
                <tbody>{detail.files.map((f) => <tr key={f.did}><th>{f.did}</th><td>{formatBytes(f.bytes)}</td><td><code>{f.adler32 ?? '—'}</code></td></tr>)}</tbody>
              </table>
            </>
          )}
        </section>
      ) : null}
      <section className="card" aria-label="Your rules">
        <h2>Your rules</h2>
        {rules === null ? <p className="muted" role="status">Loading…</p> : rules.length === 0 ? <p className="muted">No rules.</p> : (
          <table className="table" data-testid="data-rules">
            <thead><tr><th>DID</th><th>To</th><th>State</th><th>Progress</th><th /></tr></thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id} data-rule={r.id}>
                  <th>{r.did}</th><td>{r.rse_expression}</td>
                  <td data-testid="rule-state">{r.state}</td>
                  <td><progress className="progress" max={1} value={r.progress} aria-label={`${r.locks.ok} of ${r.locks.total} files`} /> {r.locks.ok}/{r.locks.total} files</td>
                  <td className="actions"><button type="button" className="button" onClick={() => void remove(r.id)}>Delete</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
