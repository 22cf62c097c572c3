/**
 * What a chaos test checks after each fault: the store still holds what was committed (users,
 * tokens, servers) and the proxy's routes are exactly the store's running servers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverPath, routeKey } from '../../src/hub/models.js';
import { createStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { ProxyClient } from '../../src/proxy/index.js';
import type { Platform } from '../helpers/platform.js';

/** What is compared before and after a fault. */
export interface StoreSnapshot {
  users: string[];
  /** `user:tokenId` of API tokens (sessions come and go with logins). */
  tokens: string[];
  /** `user/server=state` of every server not stopped. */
  servers: string[];
}

/** Opens the platform's store: `db` (a postgres URL) or the data dir's SQLite file. */
export async function openStore(p: Platform, db?: string): Promise<Store> {
  const store = await createStore(db ?? `sqlite://${join(p.dataDir, 'highrate.sqlite')}`);
  await store.migrate();
  return store;
}

export async function snapshot(store: Store): Promise<StoreSnapshot> {
  const { users } = await store.listUsers({ limit: 10_000 });
  const tokens: string[] = [];
  for (const u of users) for (const t of await store.listTokens(u.name)) if (t.kind === 'api') tokens.push(`${u.name}:${t.id}`);
  const servers = (await store.listActiveServers()).map((r) => `${r.user}/${r.name}=${r.state}`);
  return { users: users.map((u) => u.name).sort(), tokens: tokens.sort(), servers: servers.sort() };
}

/** The platform's route API, with the hub's proxy token. */
export function routeApi(p: Platform): ProxyClient {
  const token = readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim();
  return new ProxyClient(`http://127.0.0.1:${p.port + 1}`, token, { timeoutMs: 3000 });
}

/**
 * Differences between the proxy's user routes and the store's running servers (empty: equal).
 * Every running server has its route with the store's target, user, server name and upstream
 * token digest; no user route exists without a running (or starting) server. Cluster routes
 * (`/clusters/`) belong to the cluster service and are left out.
 */
export async function routeDrift(p: Platform, store: Store): Promise<string[]> {
  const client = routeApi(p);
  try {
    const routes = await client.getRoutes();
    const active = await store.listActiveServers();
    const drift: string[] = [];
    const expected = new Set<string>();
    for (const row of active) {
      const key = routeKey(serverPath(row.user, row.name));
      if (row.state === 'starting') { expected.add(key); continue; }
      if (row.state !== 'running') continue;
      expected.add(key);
      const r = routes[key];
      if (!r) { drift.push(`missing route ${key}`); continue; }
      if (r.target !== row.url) drift.push(`${key}: target ${r.target} ≠ store ${row.url}`);
      if (r.user !== row.user || r.server_name !== row.name) drift.push(`${key}: data ${r.user}/${r.server_name} ≠ store ${row.user}/${row.name}`);
      const digest = row.secret ? createHash('sha256').update(row.secret).digest('hex') : undefined;
      if (digest && r.upstream_token_sha256 !== digest) drift.push(`${key}: upstream token differs`);
    }
    for (const [key, data] of Object.entries(routes)) {
      if (data.user && !key.startsWith('/clusters') && !expected.has(key)) drift.push(`stray route ${key}`);
    }
    return drift;
  } finally {
    client.close();
  }
}

/** Waits until `fn` returns a truthy value (polled every `every` ms) or throws after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 30_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
