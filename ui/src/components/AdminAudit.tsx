import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { Time } from './Time.js';
import { auditPath, type AuditEntry, type AuditPage } from './AdminApi.js';

interface Filters {
  user: string;
  action: string;
  outcome: string;
}

const EMPTY: Filters = { user: '', action: '', outcome: '' };

/** The audit log, newest first, filtered by user, action and outcome, one page at a time. */
export function AdminAudit() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [pages, setPages] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState<AuditPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const before = pages[pages.length - 1] ?? null;

  const load = useCallback(
    async function loadAudit() {
      try {
        const { body } = await api<AuditPage>('GET', auditPath(filters, before));
        setPage(body);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [filters, before],
  );

  useEffect(
    function loadOnChange() {
      void load();
    },
    [load],
  );

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setPages([null]);
    setFilters({ user: draft.user.trim(), action: draft.action.trim(), outcome: draft.outcome });
  }

  return (
    <section className="card" aria-labelledby="admin-audit-title">
      <h2 id="admin-audit-title">Audit log</h2>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      <form className="inline-form" onSubmit={apply} role="search">
        <div className="field">
          <label htmlFor="audit-user">User</label>
          <input id="audit-user" type="text" value={draft.user} onChange={(e) => setDraft({ ...draft, user: e.target.value })} maxLength={64} data-testid="audit-user" />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <input id="audit-action" type="text" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} placeholder="e.g. server. or login" maxLength={64} data-testid="audit-action" />
        </div>
        <div className="field">
          <label htmlFor="audit-outcome">Outcome</label>
          <select id="audit-outcome" value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })} data-testid="audit-outcome">
            <option value="">Any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <button type="submit" className="button" data-testid="audit-submit">
          Filter
        </button>
      </form>
      {page === null ? <p className="muted" role="status">Loading…</p> : null}
      {page !== null && page.items.length === 0 ? <p className="empty">No entries.</p> : null}
      {page !== null && page.items.length > 0 ? (
        <div className="table-wrap">
          <table className="table" data-testid="admin-audit">
            <caption className="visually-hidden">Audit entries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">On</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map(function row(e: AuditEntry) {
                return (
                  <tr key={e.id} data-testid="audit-row" data-action={e.action} data-outcome={e.outcome}>
                    <td>
                      <Time value={e.time} />
                    </td>
                    <th scope="row">
                      {e.actor}
                      {e.ip ? <span className="muted"> ({e.ip})</span> : null}
                    </th>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>{e.target ?? '—'}</td>
                    <td className={`outcome outcome-${e.outcome}`}>
                      {e.outcome}
                      {e.code ? ` (${e.code})` : ''}
                    </td>
                    <td>
                      <code className="audit-detail">{JSON.stringify(e.detail)}</code>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className="button" disabled={pages.length <= 1} onClick={() => setPages(pages.slice(0, -1))}>
          Newer
        </button>
        <button type="button" className="button" disabled={!page?._pagination.next} onClick={() => page?._pagination.next && setPages([...pages, page._pagination.next.before])}>
          Older
        </button>
      </div>
    </section>
  );
}
