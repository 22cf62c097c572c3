/**
 * Rows for store tests and the store benchmark: a fixed timestamp, a server row builder and a
 * facility-sized population.
 */
import type { ServerRow, ServerState, UserRow } from '../../src/store/types.js';

export const T0 = '2030-01-02T03:04:05.678Z';

/** A server row with every optional field empty, overridden by `extra`. */
export function server(user: string, name: string, state: ServerState, extra: Partial<ServerRow> = {}): ServerRow {
  return {
    user, name, state, userOptions: {}, started: null, lastActivity: null, url: null,
    executor: null, podUid: null, secret: null, failure: null, spawnState: {}, ...extra,
  };
}

/**
 * users u00000…: every 10th has a running default server (1,000 for 10,000 users), every 7th a
 * stopped named one; every user is in one of 5 groups, every 3rd also in "all".
 */
export function seedRows(nUsers: number, nRunning: number): { users: UserRow[]; servers: ServerRow[] } {
  const users: UserRow[] = [];
  const servers: ServerRow[] = [];
  const every = Math.max(1, Math.floor(nUsers / nRunning));
  let running = 0;
  for (let i = 0; i < nUsers; i++) {
    const name = `u${String(i).padStart(5, '0')}`;
    const groups = i % 3 === 0 ? ['all', `g${i % 5}`] : [`g${i % 5}`];
    users.push({ name, admin: i === 0, blocked: false, created: T0, lastActivity: T0, groups });
    if (i % every === 0 && running < nRunning) {
      running++;
      servers.push(server(name, '', 'running', {
        userOptions: { profile: 'default', cores: 1, memory: '2G', image: 'default' },
        started: T0, lastActivity: T0, url: `http://127.0.0.1:${20000 + (i % 40000)}/user/${name}/`,
        executor: 'local', podUid: `pod-${i}`, secret: `secret-${i}`, spawnState: { port: 20000 + (i % 40000) },
      }));
    }
    if (i % 7 === 0) servers.push(server(name, 'old', 'stopped'));
  }
  return { users, servers };
}
