import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { Time } from './Time.js';
import { CREATE_USERS_PATH, parseUsernames, userAdminPath, usersPath, type AdminUser } from './AdminApi.js';

const PAGE = 50;

/** Users: search by name, block or unblock, grant or remove admin. Every change is the admin's own, audited action. */
export function AdminUsers({ self }: { self: string }) {
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const [offset, setOffset] = useState(0);
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [newNames, setNewNames] = useState('');
  const [newAdmin, setNewAdmin] = useState(false);
  const [added, setAdded] = useState<string | null>(null);

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

  /** Adds hub users through the API (JupyterHub's `POST /hub/api/users`). */
  async function addUsers(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const usernames = parseUsernames(newNames);
    if (usernames.length === 0) return;
    setError(null);
    setAdded(null);
    setBusy('+');
    try {
      await api('POST', CREATE_USERS_PATH, { usernames, admin: newAdmin });
      setAdded(usernames.join(', '));
      setNewNames('');
      setNewAdmin(false);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
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
      {added !== null ? (
        <Alert kind="success" onDismiss={() => setAdded(null)}>
          <p data-testid="admin-add-user-done">
            Added {added}. With the built-in login each person also needs an account: <code>highrate user add NAME</code>.
          </p>
        </Alert>
      ) : null}
      <form className="inline-form" onSubmit={(e) => void addUsers(e)} aria-label="Add users">
        <div className="field">
          <label htmlFor="admin-add-user">Add users (names separated by spaces or commas)</label>
          <input id="admin-add-user" type="text" value={newNames} onChange={(e) => setNewNames(e.target.value)} maxLength={2000} autoComplete="off" data-testid="admin-add-user" />
        </div>
        <div className="field">
          <label>
            <input type="checkbox" checked={newAdmin} onChange={(e) => setNewAdmin(e.target.checked)} data-testid="admin-add-user-admin" /> Admin
          </label>
        </div>
        <button type="submit" className="button button-primary" disabled={busy === '+' || parseUsernames(newNames).length === 0} data-testid="admin-add-user-submit">
          Add
        </button>
      </form>
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
