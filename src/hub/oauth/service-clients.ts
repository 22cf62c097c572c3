/**
 * Services declared in the config as JupyterHub services: the proxy routes `/services/<name>/`
 * to a service's `url` (no edge check: the service authenticates users itself), and a service with
 * an OAuth redirect is an OAuth client of the hub (`service-<name>`, as JupyterHub names it), so a
 * HubOAuth service logs browsers in through the hub like a notebook server does. Its client secret
 * is any token of the service (JupyterHub: the service's api_token).
 */
import type { ServiceConfig } from '../../config/schema.js';
import { log } from '../../log.js';
import type { ProxyClient } from '../../proxy/index.js';
import type { Store } from '../../store/types.js';

export function serviceClientId(name: string): string {
  return `service-${name}`;
}

/** The service's prefix behind the proxy (JupyterHub's JUPYTERHUB_SERVICE_PREFIX). */
export function servicePrefix(name: string): string {
  return `/services/${name}/`;
}

/** Where the service's OAuth flow returns, or null when it is no OAuth client. */
export function serviceRedirectUri(svc: Pick<ServiceConfig, 'name' | 'url' | 'oauthRedirectUri'>): string | null {
  return svc.oauthRedirectUri ?? (svc.url ? `${servicePrefix(svc.name)}oauth_callback` : null);
}

/** Registers (or updates) the OAuth client of every service that has a redirect URI. */
export async function registerServiceClients(store: Store, services: readonly ServiceConfig[]): Promise<void> {
  const created = new Date().toISOString();
  for (const svc of services) {
    const redirectUri = serviceRedirectUri(svc);
    if (!redirectUri) continue;
    await store.putOAuthClient({
      id: serviceClientId(svc.name), secretHash: '', redirectUri,
      allowedScopes: [...new Set([`access:services!service=${svc.name}`, ...svc.oauthClientAllowedScopes])],
      description: svc.description || `Service ${svc.name}`, user: null, server: null, service: svc.name, created,
    });
  }
}

/** Routes `/services/<name>/` to each service's url; routes of services no longer declared go. */
export async function routeServices(proxy: ProxyClient, services: readonly ServiceConfig[]): Promise<void> {
  const wanted = new Map(services.filter((s) => s.url).map((s) => [`/services/${s.name}`, s]));
  for (const [path, svc] of wanted) await proxy.addRoute(path, svc.url!.replace(/\/+$/, ''), { service: svc.name });
  try {
    for (const [path, data] of Object.entries(await proxy.getRoutes())) {
      if (typeof data.service === 'string' && !wanted.has(path)) await proxy.deleteRoute(path);
    }
  } catch (err) {
    log.warn('stale service routes not checked', { error: String(err) });
  }
}
