import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { Time } from './Time.js';
import { userAdminPath, usersPath, type AdminUser } from './AdminApi.js';

const PAGE = 50;

/** Users: search by name, block or unblock, grant or remove admin. Every change is the admin's own, audited action. */
export function AdminUsers({ self }: { self: string }) {
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [offset, setOffset] = useState(0);
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(
    async function loadUsers() {
      try {
        const { body } = await api<AdminUser[]>('GET', usersPath(offset, PAGE, applied));
        setUsers(body ?? []);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [offset, applied],
  );

  useEffect(
    function loadOnChange() {
      void load();
    },
    [load],
  );

  function search(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setOffset(0);
    setApplied(filter.trim());
  }

  async function change(name: string, patch: { admin?: boolean; blocked?: boolean }) {
    setError(null);
    setBusy(name);
    try {
      await api('PATCH', userAdminPath(name), patch);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card" aria-labelledby="admin-users-title">
      <h2 id="admin-users-title">Users</h2>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      <form className="inline-form" onSubmit={search} role="search">
        <div className="field">
          <label htmlFor="admin-user-search">Name contains</label>
          <input id="admin-user-search" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} maxLength={64} data-testid="admin-user-search" />
        </div>
        <button type="submit" className="button" data-testid="admin-user-search-submit">
          Search
        </button>
      </form>
      {users === null ? <p className="muted" role="status">Loading…</p> : null}
      {users !== null && users.length === 0 ? <p className="empty">No users match.</p> : null}
      {users !== null && users.length > 0 ? (
        <div className="table-wrap">
          <table className="table" data-testid="admin-users">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Groups</th>
                <th scope="col">Roles</th>
                <th scope="col">Servers</th>
                <th scope="col">Last activity</th>
                <th scope="col" className="actions-col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map(function row(u) {
                const active = Object.values(u.servers ?? {}).filter((s) => s.ready || s.pending !== null).length;
                return (
                  <tr key={u.name} data-testid={`admin-user-${u.name}`}>
                    <th scope="row">
                      {u.name}
                      {u.blocked ? <span className="badge badge-danger">blocked</span> : null}
                      {u.admin ? <span className="badge">admin</span> : null}
                    </th>
                    <td>
                      <ul className="scopes">
                        {u.groups.map((g) => (
                          <li key={g}>
                            <code>{g}</code>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>{u.roles.join(', ')}</td>
                    <td>{active}</td>
                    <td>
                      <Time value={u.last_activity} empty="Never" />
                    </td>
                    <td className="actions">
                      <button type="button" className={u.blocked ? 'button' : 'button button-danger'} disabled={busy === u.name || u.name === self} onClick={() => void change(u.name, { blocked: !u.blocked })} data-testid="admin-block">
                        {u.blocked ? 'Unblock' : 'Block'}
                      </button>
                      <button type="button" className="button" disabled={busy === u.name || u.name === self} onClick={() => void change(u.name, { admin: !u.admin })} data-testid="admin-toggle-admin">
                        {u.admin ? 'Remove admin' : 'Make admin'}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <button type="button" className="button" disabled={users === null || users.length < PAGE} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </div>
    </section>
  );
}
