import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { ApiHandler } from './api-server.js';
import { cleanPrefix } from './prefix.js';
import type { RouteTable } from './routes.js';

/**
 * A configurable-http-proxy route store (`--storage-backend`): CHP 5 constructs the module's
 * class with its options and awaits `getAll()`, `add(path, data)`, `update(path, data)` and
 * `remove(path)`; community stores (e.g. Redis-backed ones) keep the table outside the process so
 * it survives a restart.
 */
export interface ChpStore {
  getAll(): Promise<Record<string, Record<string, unknown>>> | Record<string, Record<string, unknown>>;
  add(path: string, data: Record<string, unknown>): Promise<unknown> | unknown;
  remove(path: string): Promise<unknown> | unknown;
}

/**
 * Loads the store class named by `spec` (an absolute path, a path relative to the working
 * directory, or a package name resolved from there), CommonJS (`module.exports = Class`, as CHP
 * `require`s it) or ESM (its default export). CHP resolves relative paths from its own lib
 * directory, which nobody outside CHP's source tree can mean; the working directory is what a
 * command line means. CONFIG_INVALID naming the module when it cannot be loaded or is no store.
 */
export async function loadChpStore(spec: string, options: Record<string, unknown>): Promise<ChpStore> {
  const resolved = spec.startsWith('.') || spec.startsWith('/') ? path.resolve(spec) : spec;
  const requireHere = createRequire(path.join(process.cwd(), 'noop.js'));
  let mod: unknown;
  try {
    mod = requireHere(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_REQUIRE_ESM') throw fail('CONFIG_INVALID', `--storage-backend ${spec} cannot be loaded: ${(err as Error).message.split('\n', 1)[0]}`);
    mod = await import(pathToFileURL(requireHere.resolve(resolved)).href);
  }
  const candidate = typeof mod === 'function' ? mod : (mod as { default?: unknown } | null)?.default;
  if (typeof candidate !== 'function') throw fail('CONFIG_INVALID', `--storage-backend ${spec} does not export a store class (CHP constructs module.exports, or the default export).`);
  const store = new (candidate as new (o: Record<string, unknown>) => ChpStore)(options);
  for (const method of ['getAll', 'add', 'remove'] as const) {
    if (typeof store[method] !== 'function') throw fail('CONFIG_INVALID', `--storage-backend ${spec}: its store has no ${method}() method.`);
  }
  return store;
}

/** Fills the table from the store at start; a route whose data the table refuses is skipped with a warning. */
export async function loadRoutesFromStore(store: ChpStore, table: RouteTable): Promise<number> {
  const all = (await store.getAll()) ?? {};
  let loaded = 0;
  for (const [prefix, data] of Object.entries(all)) {
    const seen = data.last_activity === undefined ? NaN : new Date(data.last_activity as string | Date).getTime();
    try {
      table.add(prefix, data, Number.isNaN(seen) ? Date.now() : seen);
      loaded++;
    } catch (err) {
      log.warn('stored route skipped', { route: prefix, error: (err as Error).message });
    }
  }
  return loaded;
}

/**
 * The route API with every change written through to the store, in the order the API applied
 * them. The reply does not wait for the store (the route API answers synchronously from memory,
 * where requests are routed from); a store that fails is logged, and the table stays the truth.
 * The data written is what the client POSTed (with `host` under host routing), as CHP stores it.
 */
export function writeThrough(handler: ApiHandler, store: ChpStore, hostRouting: boolean): ApiHandler {
  let queue: Promise<unknown> = Promise.resolve();
  function enqueue(what: string, prefix: string, op: () => unknown): void {
    queue = queue.then(op).catch(function storeFailed(err: unknown) {
      log.warn('storage backend write failed', { op: what, route: prefix, error: (err as Error).message });
    });
  }
  return function storedRouteApi(req) {
    const reply = handler(req);
    const match = /^\/api\/routes(\/[^?]*)?/.exec(req.url);
    if (match === null || (reply.status !== 201 && reply.status !== 204)) return reply;
    const prefix = cleanPrefix(decodeURIComponent(match[1] ?? '/'));
    if (req.method === 'POST' && reply.status === 201) {
      let data = JSON.parse(req.body?.toString('utf8') ?? '{}') as Record<string, unknown>;
      if (hostRouting && prefix !== '/') data = { ...data, host: prefix.split('/')[1] };
      enqueue('add', prefix, () => store.add(prefix, data));
    } else if (req.method === 'DELETE') {
      enqueue('remove', prefix, () => store.remove(prefix));
    }
    return reply;
  };
}
