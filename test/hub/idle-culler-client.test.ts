import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { http, type Reply } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';

const PAGINATION = 'application/jupyterhub-pagination+json';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface CullerOptions {
  /** JUPYTERHUB_API_URL, e.g. http://127.0.0.1:8000/hub/api */
  url: string;
  token: string;
  /** --timeout, seconds */
  inactiveLimit: number;
  cullUsers?: boolean;
  removeNamedServers?: boolean;
  maxAge?: number;
  cullAdminUsers?: boolean;
  apiPageSize?: number;
  cullDefaultServers?: boolean;
  cullNamedServers?: boolean;
}

/** "1.4.0" >= "1.3.0", as packaging.version compares release numbers. */
function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(/[^0-9]+/).filter(Boolean).map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!;
  }
  return true;
}

/** dateutil's parse as the culler uses it: a timestamp without a zone is UTC. */
function parseDate(s: string): number {
  return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(s) ? s : `${s}Z`);
}

/** Python's urllib.parse.quote with its default safe="/" (for names it is encodeURIComponent). */
const quote = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');

/**
 * What jupyterhub-idle-culler 1.4.0 (`cull_idle` in jupyterhub_idle_culler/__init__.py) sends, in the
 * same order: `GET {url}/` for the version (the state filter needs ≥ 1.3.0); with cull_users first
 * `GET {url}/users?state=inactive[&limit=N]`, then `GET {url}/users?[limit=N&]state=ready`, each with
 * the pagination media type and every further page fetched from `_pagination.next.url` verbatim;
 * then, user by user, `DELETE {url}/users/{name}/server` or `…/servers/{name}` (body
 * `{"remove": true}` with remove_named_servers) for idle servers, and `DELETE {url}/users/{name}` for
 * idle users whose servers all stopped. Like tornado's client, any 4xx/5xx is an error.
 */
class IdleCullerClient {
  readonly requests: string[] = [];
  readonly errors: string[] = [];
  readonly stoppedServers: string[] = [];
  readonly deletedUsers: string[] = [];
  readonly #o: Required<CullerOptions>;
  #now = 0;

  constructor(opts: CullerOptions) {
    this.#o = { cullUsers: false, removeNamedServers: false, maxAge: 0, cullAdminUsers: true, apiPageSize: 0, cullDefaultServers: true, cullNamedServers: true, ...opts };
  }

  async #fetch(method: string, url: string, opts: { accept?: string; body?: string } = {}): Promise<Reply> {
    this.requests.push(`${method} ${url}`);
    const headers: Record<string, string> = { authorization: `token ${this.#o.token}` };
    if (opts.accept) headers.accept = opts.accept;
    const r = await http(method, url, { headers, raw: opts.body });
    if (r.status >= 400) throw new Error(`HTTP ${r.status}: ${method} ${url}: ${r.text.slice(0, 200)}`);
    return r;
  }

  async *#fetchPaginated(url: string): AsyncGenerator<any> {
    let next: string | null = url;
    while (next) {
      const model: any = (await this.#fetch('GET', next, { accept: PAGINATION })).json();
      if (Array.isArray(model)) {
        next = null;
        yield* model;
      } else {
        next = model._pagination.next ? model._pagination.next.url : null;
        yield* model.items;
      }
    }
  }

  async #handleServer(user: any, serverName: string, server: any): Promise<boolean> {
    const o = this.#o;
    if (server.pending) return false;
    if (!(server.ready ?? Boolean(server.url))) return false;
    const age = server.started ? (this.#now - parseDate(server.started)) / 1000 : null;
    const inactive = server.last_activity ? (this.#now - parseDate(server.last_activity)) / 1000 : age;
    let shouldCull = inactive !== null && inactive >= o.inactiveLimit
      && ((o.cullDefaultServers && serverName === '') || (o.cullNamedServers && serverName !== ''));
    if (o.maxAge && !shouldCull && age !== null && age >= o.maxAge) shouldCull = true;
    if (!shouldCull) return false;
    let body: string | undefined;
    let deleteUrl: string;
    if (serverName) {
      deleteUrl = `${o.url}/users/${quote(user.name)}/servers/${quote(server.name)}`;
      if (o.removeNamedServers) body = JSON.stringify({ remove: true });
    } else {
      deleteUrl = `${o.url}/users/${quote(user.name)}/server`;
    }
    const r = await this.#fetch('DELETE', deleteUrl, { body });
    if (r.status === 202) return false; // slow to stop: not user-removable yet
    this.stoppedServers.push(`${user.name}/${serverName}`);
    return true;
  }

  async #handleUser(user: any): Promise<boolean | undefined> {
    const o = this.#o;
    let servers: Record<string, any>;
    if ('servers' in user) servers = user.servers;
    else servers = user.server ? { '': { last_activity: user.last_activity, pending: user.pending, url: user.server } } : {};
    const results = await Promise.all(Object.entries(servers).map(([name, s]) => this.#handleServer(user, name, s)));
    if (!o.cullUsers) return undefined;
    if (results.length - results.filter(Boolean).length > 0) return false;
    const age = user.created ? (this.#now - parseDate(user.created)) / 1000 : null;
    const inactive = user.last_activity ? (this.#now - parseDate(user.last_activity)) / 1000 : age;
    let shouldCull = inactive !== null && inactive >= o.inactiveLimit && (o.cullAdminUsers || !user.admin);
    if (o.maxAge && !shouldCull && age !== null && age >= o.maxAge) shouldCull = true;
    if (!shouldCull) return false;
    await this.#fetch('DELETE', `${o.url}/users/${user.name}`);
    this.deletedUsers.push(user.name);
    return true;
  }

  /** One `cull_idle` pass. */
  async cullIdle(): Promise<void> {
    const o = this.#o;
    const root = (await this.#fetch('GET', `${o.url}/`)).json();
    const stateFilter = versionAtLeast(root.version, '1.3.0');
    this.#now = Date.now();
    const params = new URLSearchParams();
    if (o.apiPageSize) params.set('limit', String(o.apiPageSize));
    const pending: Array<[string, any]> = [];
    const usersUrl = `${o.url}/users`;
    if (stateFilter && o.cullUsers) {
      const inactive = new URLSearchParams({ state: 'inactive', ...Object.fromEntries(params) });
      for await (const user of this.#fetchPaginated(`${usersUrl}?${inactive}`)) pending.push([user.name, user]);
    }
    if (stateFilter) params.set('state', 'ready');
    const query = params.toString();
    for await (const user of this.#fetchPaginated(query ? `${usersUrl}?${query}` : usersUrl)) pending.push([user.name, user]);
    for (const [name, user] of pending) {
      try {
        await this.#handleUser(user);
      } catch (err) {
        this.errors.push(`${name}: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * jupyterhub-idle-culler's requests against the real hub and proxy: five users with running servers
 * listed two per page, idle ones stopped (a named one removed), then idle users deleted.
 */
describe('a client doing what jupyterhub-idle-culler 1.4 does', () => {
  let p: Platform;
  let admin: string;
  let token: string;
  const LIMIT = 3;

  before(async () => {
    p = await Platform.start({
      config: {
        culler: { idleTimeout: 0, maxAge: 0 },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
        // The culler's documented role, and admin:users for --cull-users.
        roles: [{ name: 'cull-users', scopes: ['admin:users'] }],
        services: [{ name: 'culler', roles: ['idle-culler', 'cull-users'] }],
      },
    });
    admin = await p.token('admin');
    const issued = await p.api('POST', '/hub/api/services/culler/tokens', { token: admin }, { note: 'idle culler' });
    assert.equal(issued.status, 201, issued.text);
    token = issued.json().token;
    const users = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'];
    assert.equal((await p.api('POST', '/hub/api/users', { token: admin }, { usernames: users })).status, 201);
    for (const u of ['c1', 'c2', 'c3', 'c4', 'c5']) {
      const r = await p.api('POST', `/hub/api/users/${u}/server`, { token: admin }, {});
      assert.equal(r.status, 201, `${u}: ${r.text}`);
    }
    assert.equal((await p.api('POST', '/hub/api/users/c3/servers/extra', { token: admin }, {})).status, 201);
    await sleep(LIMIT * 1000 + 500);
  });
  after(async () => { await p?.close(); });

  /** What the servers of c2 and c4 report while people work in them. */
  async function busy(): Promise<void> {
    const now = new Date().toISOString();
    for (const u of ['c2', 'c4']) {
      const r = await p.api('POST', `/hub/api/users/${u}/activity`, { token: admin }, { last_activity: now, servers: { '': { last_activity: now } } });
      assert.equal(r.status, 200, r.text);
    }
  }

  const serversOf = async (u: string) => (await p.api('GET', `/hub/api/users/${u}?include_stopped_servers`, { token: admin })).json().servers;

  test('idle servers are stopped, a named one removed, busy ones kept; pages are followed by next.url', async () => {
    await busy();
    const url = `${p.base}/hub/api`;
    const culler = new IdleCullerClient({ url, token, inactiveLimit: LIMIT, removeNamedServers: true, apiPageSize: 2 });
    await culler.cullIdle();
    assert.deepEqual(culler.errors, []);
    assert.deepEqual(culler.requests, [
      `GET ${url}/`,
      `GET ${url}/users?limit=2&state=ready`,
      `GET ${p.base}/hub/api/users?limit=2&state=ready&offset=2`,
      `GET ${p.base}/hub/api/users?limit=2&state=ready&offset=4`,
      `DELETE ${url}/users/c1/server`,
      `DELETE ${url}/users/c3/server`,
      `DELETE ${url}/users/c3/servers/extra`,
      `DELETE ${url}/users/c5/server`,
    ]);
    assert.deepEqual(culler.stoppedServers.sort(), ['c1/', 'c3/', 'c3/extra', 'c5/']);
    for (const u of ['c1', 'c3', 'c5']) assert.equal((await serversOf(u))[''].stopped, true, u);
    assert.deepEqual(Object.keys(await serversOf('c3')), [''], 'the named server was removed, not only stopped');
    for (const u of ['c2', 'c4']) assert.equal((await serversOf(u))[''].ready, true, u);
  });

  test('with --cull-users, idle users without servers are deleted (admins spared with --cull-admin-users=false)', async () => {
    await busy();
    const url = `${p.base}/hub/api`;
    const culler = new IdleCullerClient({ url, token, inactiveLimit: LIMIT, cullUsers: true, cullAdminUsers: false, apiPageSize: 2 });
    await culler.cullIdle();
    assert.deepEqual(culler.errors, []);
    assert.deepEqual(culler.requests.slice(0, 6), [
      `GET ${url}/`,
      `GET ${url}/users?state=inactive&limit=2`,
      `GET ${p.base}/hub/api/users?state=inactive&limit=2&offset=2`,
      `GET ${p.base}/hub/api/users?state=inactive&limit=2&offset=4`,
      `GET ${url}/users?limit=2&state=ready`,
      `DELETE ${url}/users/c1`,
    ]);
    assert.deepEqual(culler.stoppedServers, []);
    assert.deepEqual(culler.deletedUsers.sort(), ['c1', 'c3', 'c5', 'c6', 'c7']);
    const left = (await p.api('GET', '/hub/api/users', { token: admin })).json().map((u: any) => u.name).sort();
    assert.deepEqual(left, ['admin', 'c2', 'c4']);
    for (const u of ['c2', 'c4']) assert.equal((await serversOf(u))[''].ready, true, u);
  });
});
