import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { rolesPath, type RoleModel } from './AdminApi.js';

/** Roles (named lists of scopes) and who holds them. Config roles change in the config file, the rest through the API. */
export function AdminRoles() {
  const [roles, setRoles] = useState<RoleModel[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(function loadOnce() {
    let live = true;
    api<RoleModel[]>('GET', rolesPath).then(
      ({ body }) => {
        if (live) setRoles(body ?? []);
      },
      (err: unknown) => {
        if (live) setError(errorMessage(err));
      },
    );
    return function cancel() {
      live = false;
    };
  }, []);

  return (
    <section className="card" aria-labelledby="admin-roles-title">
      <h2 id="admin-roles-title">Roles</h2>
      {error !== null ? (
        <Alert kind="error">
          <p>{error}</p>
        </Alert>
      ) : null}
      {roles === null && error === null ? <p className="muted" role="status">Loading…</p> : null}
      {roles !== null ? (
        <div className="table-wrap">
          <table className="table" data-testid="admin-roles">
            <caption className="visually-hidden">Roles</caption>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">From</th>
                <th scope="col">Scopes</th>
                <th scope="col">Held by</th>
              </tr>
            </thead>
            <tbody>
              {roles.map(function row(r) {
                const holders = [...r.users.map((u) => `user ${u}`), ...r.groups.map((g) => `group ${g}`), ...r.services.map((s) => `service ${s}`)];
                return (
                  <tr key={r.name}>
                    <th scope="row">
                      {r.name}
                      {r.description ? <p className="muted">{r.description}</p> : null}
                    </th>
                    <td>{r.source}</td>
                    <td>
                      <ul className="scopes">
                        {(r.name === 'admin' ? ['every scope'] : r.scopes).map((s) => (
                          <li key={s}>
                            <code>{s}</code>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>{r.name === 'user' ? 'every user' : holders.length ? holders.join(', ') : '—'}</td>
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
