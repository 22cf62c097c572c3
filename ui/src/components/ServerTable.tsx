import type { ServerModel, UserModel } from '../api/types.js';
import { spawnPagePath } from '../api/paths.js';
import { formatOptions, serverLabel, serverState, type ServerState } from '../format.js';
import { Link } from './Link.js';
import { Time } from './Time.js';

interface ServerTableProps {
  user: UserModel;
  /** Servers with a stop request in flight. */
  busy: ReadonlySet<string>;
  onStop: (name: string) => void;
}

/** Default server first, then named servers by name. */
function sortedServers(servers: Record<string, ServerModel>): [string, ServerModel][] {
  return Object.entries(servers).sort(function byName([a], [b]) {
    if (a === '') return -1;
    if (b === '') return 1;
    return a.localeCompare(b);
  });
}

/** All of a user's servers, stopped ones included, with what can be done to each. */
export function ServerTable({ user, busy, onStop }: ServerTableProps) {
  const rows = sortedServers(user.servers ?? {});
  if (rows.length === 0) {
    return (
      <p className="empty" data-testid="no-servers">
        You have no servers yet. Start one to get a notebook.
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="server-table">
        <caption className="visually-hidden">Your servers</caption>
        <thead>
          <tr>
            <th scope="col">Server</th>
            <th scope="col">State</th>
            <th scope="col">Started</th>
            <th scope="col">Last activity</th>
            <th scope="col">Options</th>
            <th scope="col" className="actions-col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(function row([key, server]) {
            const label = serverLabel(key);
            const observed = serverState(server);
            // A stop was asked for: say so at once, before the hub reports pending 'stop'.
            const state: ServerState = busy.has(key) && observed !== 'Stopped' ? 'Stopping' : observed;
            return (
              <tr key={key} data-testid={`server-row-${label}`} data-state={state.toLowerCase()}>
                <th scope="row">{key === '' ? <span className="muted-name">default</span> : key}</th>
                <td>
                  <span className={`state state-${state.toLowerCase()}`} data-testid="state">
                    {state}
                  </span>
                </td>
                <td>
                  <Time value={server.started} />
                </td>
                <td>
                  <Time value={server.last_activity} />
                </td>
                <td className="options">{formatOptions(server.user_options) || <span className="muted">—</span>}</td>
                <td className="actions">
                  <ServerActions user={user} name={key} server={server} state={state} onStop={onStop} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface ServerActionsProps {
  user: UserModel;
  name: string;
  server: ServerModel;
  state: ServerState;
  onStop: (name: string) => void;
}

function ServerActions({ user, name, server, state, onStop }: ServerActionsProps) {
  const label = serverLabel(name);
  const spawnPage = spawnPagePath(user.name, name, user.name);
  switch (state) {
    case 'Running':
      return (
        <>
          {/* Full navigation: the server lives behind the proxy, outside the portal. */}
          <a className="button button-primary" href={server.url} data-testid="open" aria-label={`Open ${label}`}>
            Open
          </a>
          <button type="button" className="button button-danger" onClick={() => onStop(name)} data-testid="stop" aria-label={`Stop ${label}`}>
            Stop
          </button>
        </>
      );
    case 'Starting':
      return (
        <>
          <Link to={spawnPage} className="button" data-testid="progress" aria-label={`Show start progress of ${label}`}>
            Progress
          </Link>
          <button type="button" className="button button-danger" onClick={() => onStop(name)} data-testid="stop" aria-label={`Stop ${label}`}>
            Stop
          </button>
        </>
      );
    case 'Stopping':
      return (
        <button type="button" className="button" disabled data-testid="stopping">
          Stopping…
        </button>
      );
    case 'Stopped':
      return (
        <Link to={spawnPage} className="button" data-testid="start" aria-label={`Start ${label}`}>
          Start
        </Link>
      );
  }
}
