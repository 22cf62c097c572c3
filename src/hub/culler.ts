import type { Config } from '../config/schema.js';
import { log } from '../log.js';
import type { ProxyClient } from '../proxy/index.js';
import type { Store } from '../store/types.js';
import { routeKey, serverPath } from './models.js';
import type { ServerManager } from './servers/manager.js';

/**
 * The idle culler, built in: a server with no proxied traffic (the proxy's per-route
 * last_activity, WebSocket frames included) and no reported activity for `idleTimeout` seconds is
 * stopped, and so is one older than `maxAge`. Proxy activity is folded into the store each pass.
 */
export async function cullOnce(deps: { config: Config; store: Store; proxy: ProxyClient; servers: ServerManager }, now = Date.now()): Promise<string[]> {
  const { idleTimeout, maxAge } = deps.config.culler;
  const routes = (await deps.proxy.getRoutes()) as Record<string, { last_activity?: string }>;
  const culled: string[] = [];
  for (const row of await deps.store.listActiveServers()) {
    if (row.state !== 'running') continue;
    const routeActivity = routes[routeKey(serverPath(row.user, row.name))]?.last_activity ?? null;
    let last = row.lastActivity;
    if (routeActivity && (!last || routeActivity > last)) {
      last = new Date(Date.parse(routeActivity)).toISOString();
      await deps.store.updateServer(row.user, row.name, { lastActivity: last });
      await deps.store.touchUser(row.user, last);
    }
    const idleFor = (now - Date.parse(last ?? row.started ?? new Date(now).toISOString())) / 1000;
    const age = (now - Date.parse(row.started ?? new Date(now).toISOString())) / 1000;
    let reason: string | null = null;
    if (idleTimeout > 0 && idleFor >= idleTimeout) reason = `Stopped after ${Math.round(idleFor)} s without activity (idle timeout ${idleTimeout} s).`;
    else if (maxAge > 0 && age >= maxAge) reason = `Stopped after running ${Math.round(age)} s (maximum age ${maxAge} s).`;
    if (reason) {
      log.info('culling server', { user: row.user, server: row.name, reason });
      await deps.servers.stopNow(row, reason);
      culled.push(`${row.user}/${row.name}`);
    }
  }
  return culled;
}
