import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { groupPath, groupsPath, groupUsersPath, type AdminGroup } from './AdminApi.js';

/** Groups: where they come from, members, roles; create and delete groups managed here, add and remove members. */
export function AdminGroups() {
  const [groups, setGroups] = useState<AdminGroup[] | null>(null);
  const [selected, setSelected] = useState<AdminGroup | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [newGroup, setNewGroup] = useState('');
  const [newMember, setNewMember] = useState('');

  const load = useCallback(async function loadGroups() {
    try {
      const { body } = await api<AdminGroup[]>('GET', groupsPath(0, 200));
      setGroups(body ?? []);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);

  useEffect(
    function loadOnce() {
      void load();
    },
    [load],
  );

  async function act(fn: () => Promise<void>) {
    setError(null);
    try {
      await fn();
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  async function open(name: string) {
    await act(async function openGroup() {
      const { body } = await api<AdminGroup>('GET', groupPath(name));
      setSelected(body);
    });
  }

  function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = newGroup.trim();
    if (name === '') return;
    void act(async function createGroup() {
      const { body } = await api<AdminGroup>('POST', groupPath(name), {});
      setSelected(body);
      setNewGroup('');
    });
  }

  function addMember(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!selected || newMember.trim() === '') return;
    void act(async function add() {
      const { body } = await api<AdminGroup>('POST', groupUsersPath(selected.name), { users: [newMember.trim()] });
      setSelected(body);
      setNewMember('');
    });
  }

  return (
    <>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      <section className="card" aria-labelledby="admin-groups-title">
        <h2 id="admin-groups-title">Groups</h2>
        <p className="muted">Groups from the identity provider are synced at every login; groups created here keep their members until changed here.</p>
        <form className="inline-form" onSubmit={create}>
          <div className="field">
            <label htmlFor="admin-new-group">New group</label>
            <input id="admin-new-group" type="text" value={newGroup} onChange={(e) => setNewGroup(e.target.value)} maxLength={255} data-testid="admin-new-group" />
          </div>
          <button type="submit" className="button button-primary" data-testid="admin-new-group-submit">
            Create
          </button>
        </form>
        {groups === null ? <p className="muted" role="status">Loading…</p> : null}
        {groups !== null && groups.length === 0 ? <p className="empty">No groups yet.</p> : null}
        {groups !== null && groups.length > 0 ? (
          <div className="table-wrap">
            <table className="table" data-testid="admin-groups">
              <caption className="visually-hidden">Groups</caption>
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  <th scope="col">From</th>
                  <th scope="col">Members</th>
                  <th scope="col">Roles</th>
                  <th scope="col" className="actions-col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {groups.map(function row(g) {
                  return (
                    <tr key={g.name} data-testid="admin-group-row">
                      <th scope="row">
                        <code>{g.name}</code>
                      </th>
                      <td>{g.source === 'api' ? 'this portal' : 'identity provider'}</td>
                      <td>{g.member_count}</td>
                      <td>{g.roles.join(', ')}</td>
                      <td className="actions">
                        <button type="button" className="button" onClick={() => void open(g.name)}>
                          Members
                        </button>
                        {g.source === 'api' ? (
                          <button type="button" className="button button-danger" onClick={() => void act(async () => { await api('DELETE', groupPath(g.name)); if (selected?.name === g.name) setSelected(null); })}>
                            Delete
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {selected ? (
        <section className="card" aria-labelledby="admin-members-title" data-testid="admin-group-members">
          <h2 id="admin-members-title">
            Members of <code>{selected.name}</code>
          </h2>
          <form className="inline-form" onSubmit={addMember}>
            <div className="field">
              <label htmlFor="admin-new-member">Add user</label>
              <input id="admin-new-member" type="text" value={newMember} onChange={(e) => setNewMember(e.target.value)} maxLength={64} data-testid="admin-new-member" />
            </div>
            <button type="submit" className="button">
              Add
            </button>
          </form>
          {(selected.users ?? []).length === 0 ? <p className="empty">No members.</p> : null}
          <ul className="member-list">
            {(selected.users ?? []).map(function member(u) {
              return (
                <li key={u}>
                  {u}{' '}
                  <button type="button" className="button button-danger" onClick={() => void act(async () => { const { body } = await api<AdminGroup>('DELETE', groupUsersPath(selected.name), { users: [u] }); setSelected(body); })}>
                    Remove
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      ) : null}
    </>
  );
}
