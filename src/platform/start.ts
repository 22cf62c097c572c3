import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { createOidcLogin, externalOidcConfig } from '../auth/oidc-login.js';
import { buildExecutors, startBwrapProbe } from '../executors/registry.js';
import { openIdpDatabase, SqliteAccountStore } from '../idp/accounts.js';
import { fail } from '../errors/catalogue.js';
import { log } from '../log.js';
import { createStore } from '../store/index.js';
import type { Hub } from '../hub/context.js';
import { cullOnce } from '../hub/culler.js';
import { createHubHandler } from '../hub/http-app.js';
import { LoginFlow } from '../hub/login.js';
import { ensureProxy, proxyDeadlines } from '../hub/proxy-process.js';
import { awaitPublicPort, drainServer } from '../proxy/deadlines.js';
import { sendHubStarting } from '../proxy/starting.js';
import { revocationAwareStore } from '../hub/revocation.js';
import { loadSecret } from '../hub/secrets.js';
import { combineNotebookAccess } from '../hub/servers/cluster-access.js';
import { hostDefaultCommand } from '../hub/servers/default-command.js';
import { notebookDataAccess } from '../data/notebook-env.js';
import { registerServiceClients, routeServices } from '../hub/oauth/service-clients.js';
import { ServerManager } from '../hub/servers/manager.js';
import { clusterPart, startClusters, type ClusterService, type RunningClusters } from '../clusters/index.js';
import { dataPart } from '../data/index.js';
import type { HubPart } from '../hub/parts.js';
import { isClusterRoutePath } from '../contracts/cluster-routes.js';
import { UnixUsers } from '../hub/unix-users.js';
import { ensureAdminAccount } from '../hub/admin-account.js';
import { LazyIdp } from '../hub/embedded-idp.js';
import { ANONYMOUS, AuditLog } from '../hub/audit/index.js';
import { QuotaService } from '../hub/quota/index.js';
import { JwtAccessTokens, Rbac } from '../auth/index.js';
import { StorageService, storageEmbedded, usersWithServers } from '../storage/index.js';
import { storageTokensFromIssuer } from '../storage/issuer-tokens.js';
import { HubMetrics } from '../hub/metrics.js';

export interface HubOptions {
  config: Config;
  dataDir: string;
  /** The config file it was read from: pods never see it (it may hold the database's password). */
  configFile?: string;
  /** Called with lines meant for the person who ran `highrate up` (URL, first admin password). */
  announce?: (line: string) => void;
  /**
   * Called once the hub has closed after `POST /hub/api/shutdown` (`highrate up` exits). Without
   * it the API answers 501: an embedded hub is not the API's to end.
   */
  onShutdown?: () => void;
  /**
   * `highrate up` sets it: with `storage.embedded` unset, the embedded XRootD runs when it is
   * installed (and a failure to start it is a warning, not a failed start). Unset: off unless configured.
   */
  embeddedStorageDefault?: boolean;
}

/** The parts plugged into the hub: Dask clusters (`null`: disabled, their endpoints say so) and Rucio data. */
export function hubParts(clusters: ClusterService | null): HubPart[] {
  return [clusterPart(clusters), dataPart()];
}

export interface RunningHub {
  hub: Hub;
  server: Server;
  /** The Dask clusters part, when `clusters.enabled`. */
  clusters: RunningClusters | null;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** On close (SIGTERM), requests in flight get this long to finish before their connections are cut. */
const HUB_DRAIN_MS = 10_000;
const packageRoot = resolve(here, '..', '..', '..');

/** The hub's own port is taken: say which, and which flag or config key moves it. */
function hubPortInUse(port: number, err: Error): Error {
  return fail('CONFIG_INVALID', `Port ${port} (the hub's own port on 127.0.0.1) is in use by another process. Choose another with --hub-port N or hub.hubPort in the config (0 = any free port); the public port is --port / hub.port.`, { detail: err.message, cause: err });
}

export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The composition root: builds every part from the config, starts (or re-attaches to) the proxy,
 * reconciles with what is already running, and serves. Policy lives in the parts, not here.
 */
export async function startHub(opts: HubOptions): Promise<RunningHub> {
  const { config } = opts;
  const announce = opts.announce ?? ((line: string) => process.stdout.write(line + '\n'));
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const publicUrl = (config.hub.publicUrl ?? `http://${config.hub.ip}:${config.hub.port}`).replace(/\/+$/, '');
  const https = publicUrl.startsWith('https:');

  // Bound once the proxy runs; until then there is no cache to flush.
  let flushProxyAuth = async (): Promise<void> => {};
  // What is started so far, undone (last first) when a later step fails: a failed start leaves
  // nothing listening or running behind (the proxy is a separate process the next start reuses).
  const undo: Array<() => unknown> = [];
  // Milliseconds since the process started at which each part of the start was done (logged with "hub started").
  const startMs: Record<string, number> = { loaded: Math.round(performance.now()) };
  const mark = (part: string) => { startMs[part] = Math.round(performance.now()); };
  try {
    const bwrapWorks = startBwrapProbe(config.executors);
    const store = revocationAwareStore(await createStore(config.hub.db ?? `sqlite://${join(dataDir, 'highrate.sqlite')}`), () => flushProxyAuth());
    undo.push(() => store.close());
    await store.migrate();
    // As JupyterHub's admin_users: these users exist and are admins from the first start.
    for (const name of config.auth.adminUsers) await store.upsertUser(name, { admin: true });
    const proxyToken = loadSecret(dataDir, 'proxy-token');
    mark('store');

    // The port answers from the moment it listens: 503 HUB_STARTING (Retry-After) until the hub's
    // handler is in place. Before, a request the proxy forwarded while the hub was starting was
    // accepted with no 'request' listener and never answered (issue 14).
    let handle = function hubStarting(req: IncomingMessage, res: ServerResponse): void {
      sendHubStarting(req, res);
    };
    const server = createServer(function hubRequest(req, res) {
      handle(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((ok, bad) => {
      server.once('error', (err: NodeJS.ErrnoException) => bad(err.code === 'EADDRINUSE' ? hubPortInUse(config.hub.hubPort, err) : err));
      server.listen(config.hub.hubPort, '127.0.0.1', () => ok());
    });
    undo.push(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
    const hubPort = (server.address() as { port: number }).port;
    const hubUrl = `http://127.0.0.1:${hubPort}`;
    const dask = config.clusters.enabled ? { port: config.clusters.daskPort, ip: config.clusters.daskIp ?? config.hub.ip } : null;
    const proxyOptions = {
      dataDir, ip: config.hub.ip, port: config.hub.port, apiPort: config.hub.port + 1, hubUrl, dask,
      // The token travels in its file, not the proxy's environment; the public URL's origin may drive user servers.
      token: proxyToken, tokenFile: join(dataDir, 'secrets', 'proxy-token'), publicUrl,
      deadlines: proxyDeadlines(config.proxy),
    };
    // Re-attaching to (or starting) the proxy waits on another process: it runs while the hub builds
    // its other parts (a third of a second under load, issue 14).
    const proxyReady = ensureProxy(proxyOptions);
    proxyReady.catch(() => undefined); // awaited below
    undo.push(() => proxyReady.then((p) => p.client.close(), () => undefined));
    const metrics = new HubMetrics();
    const audit = new AuditLog(store, { deniedPerMinute: config.audit.deniedPerMinute });
    audit.startMaintenance(config.audit.retentionDays);
    undo.push(() => audit.stop());
    const o = config.auth.kind === 'oidc' ? config.auth.oidc : undefined;
    const jwt = o && o.accessTokens.audiences.length > 0
      ? new JwtAccessTokens(
        { issuer: o.issuer, audiences: o.accessTokens.audiences, usernameClaim: o.usernameClaim, groupsClaim: o.groupsClaim, allowHttp: o.issuer.startsWith('http:') },
        { config, store, onRefused: (reason, sub) => void audit.denied({ action: 'token.refused', actor: ANONYMOUS, outcome: 'denied', code: 'FORBIDDEN', detail: { reason, sub, issuer: o.issuer } }) },
      )
      : undefined;
    const rbac = new Rbac({ config, store, jwt });
    await rbac.start();
    undo.push(() => rbac.stop());
    mark('rbac');
    const quota = new QuotaService({ config, store });
    const users = new UnixUsers({ config: config.pods, store });
    // Pods see neither the data directory nor the files the config names with secrets in them.
    const hiddenPaths = [opts.configFile, config.auth.oidc?.clientSecretFile].filter((p): p is string => !!p).map((p) => resolve(p));
    const executors = await buildExecutors(config.executors, { dataDir, hiddenPaths, bwrapWorks });
    undo.push(async () => { for (const ex of executors.values()) await ex.close?.(); });
    mark('executors');

    // The embedded IdP (oidc-provider) is loaded on first use or once the hub is running, never
    // before its API answers (embedded-idp.ts); the admin account is made here without it.
    let idp: LazyIdp | undefined;
    let oidcConfig;
    if (config.auth.kind === 'embedded') {
      const clientSecret = loadSecret(dataDir, 'idp-client-secret');
      const idpDir = join(dataDir, 'idp');
      const accountsDb = openIdpDatabase(idpDir);
      try {
        await ensureAdminAccount(new SqliteAccountStore(accountsDb), announce);
      } finally {
        accountsDb.close();
      }
      idp = new LazyIdp(async function loadEmbeddedIdp() {
        const { createEmbeddedIdp } = await import('../idp/index.js');
        return createEmbeddedIdp({
          issuer: `${publicUrl}/oidc`,
          dataDir: idpDir,
          clients: [{ client_id: 'highrate-hub', client_secret: clientSecret, redirect_uris: [`${publicUrl}/hub/oauth_callback`] }],
        });
      });
      const built = idp;
      undo.push(() => built.close());
      oidcConfig = {
        issuer: `${publicUrl}/oidc`, clientId: 'highrate-hub', clientSecret, redirectUri: `${publicUrl}/hub/oauth_callback`,
        scopes: ['openid', 'profile', 'groups'], usernameClaim: 'preferred_username', groupsClaim: 'groups', allowHttp: true, fetchUserinfo: true,
      };
    } else {
      oidcConfig = externalOidcConfig(config.auth.oidc!, publicUrl);
    }
    const oidcLogin = createOidcLogin(oidcConfig);
    // storage.tokenSource oidc: storage tokens from the external issuer, refreshed from a sealed refresh token.
    const fromIssuer = storageTokensFromIssuer(config, store, () => loadSecret(dataDir, 'upstream-seal-key'), oidcLogin);
    const login = new LoginFlow({ config, store, oidc: oidcLogin, https, audit, endIdpSessions: idp && ((u) => idp.endSessions(u)), afterLogin: fromIssuer && ((u, g, t) => fromIssuer.tokens.afterLogin(u, g, t)) });

    const proxy = await proxyReady;
    proxy.client.observer = metrics.proxyCall;
    mark('proxy');
    flushProxyAuth = () => proxy.client.flushAuthCache();
    /** The hub's own route (as JupyterHub adds it: the proxy then follows a hub that moved ports) and the services'. */
    const routeHub = async () => {
      await proxy.client.addRoute('/', hubUrl, { hub: true });
      await routeServices(proxy.client, config.services);
    };
    await routeHub();
    /**
     * A proxy that died while the hub runs is started again, as JupyterHub restarts the proxy it
     * started (a live one is re-attached to, never doubled); the reconcilers then put the users'
     * and clusters' routes back. The client keeps its address, so it reaches the new process.
     */
    const reviveProxy = async () => {
      const again = await ensureProxy(proxyOptions);
      again.client.close();
      if (!again.reused) log.warn('the proxy was gone: started a new one', { pid: again.pid });
      await routeHub();
    };
    await registerServiceClients(store, config.services);
    mark('routes');

    const storage = await StorageService.create({
      config, dataDir, publicUrl, embedded: storageEmbedded(config, opts.embeddedStorageDefault === true), fromIssuer,
      wanted: usersWithServers(store, (user) => users.of(user)),
    });
    undo.push(() => storage.close());
    try {
      await storage.start();
      if (storage.endpoints) announce(`Storage: ${storage.endpoints.rootUrl}// and ${storage.endpoints.httpsUrl}/ (WLCG tokens)`);
    } catch (err) {
      if (config.storage.embedded !== undefined) throw err;
      log.warn('the embedded storage element did not start; set storage.embedded to choose', { error: String(err) });
    }

    mark('storage');
    const clusters = await startClusters({
      config, store, executors, proxy: proxy.client, quota, publicUrl, users,
      storageAccess: async (user, identity, mountPaths) => storage.podAccess(user, (await store.getUser(user))?.groups ?? [], identity, mountPaths),
    });
    const servers = new ServerManager({
      config, store, executors, proxy: proxy.client, dataDir, publicUrl, quota, users, metrics,
      clusterAccess: combineNotebookAccess(clusters?.notebookAccess, notebookDataAccess()), foreignRoute: isClusterRoutePath, defaultCommand: hostDefaultCommand(),
      storageAccess: (user, groups, identity, mountPaths) => storage.podAccess(user, groups, identity, mountPaths),
      reviveProxy,
    });
    const hub: Hub = {
      config, store, executors, proxy: proxy.client, servers, parts: hubParts(clusters?.service ?? null), storage, login, rbac, quota, audit, publicUrl, hubUrl, proxyToken, metrics,
      uiDir: join(packageRoot, 'dist', 'ui'), dataDir, version: packageVersion(), ...(idp ? { idpHandler: idp.handle } : {}),
      proxyApiUrl: `http://127.0.0.1:${config.hub.port + 1}`, // ensureProxy's apiPort
      ...(opts.onShutdown ? { shutdown: (o: { proxy: boolean; servers: boolean }) => void shutdownThenExit(o) } : {}),
    };
    /** `POST /hub/api/shutdown`: servers first (when asked), the proxy (when asked), then the hub. */
    const shutdownThenExit = async (o: { proxy: boolean; servers: boolean }): Promise<void> => {
      log.info('shutting down through the API', o);
      try {
        if (o.servers) {
          await Promise.all((await store.listActiveServers()).map((row) => servers.stopNow(row, 'The hub was shut down with its servers.').catch((err: unknown) => log.warn('stop at shutdown failed', { user: row.user, error: String(err) }))));
        }
        if (o.proxy) {
          try {
            process.kill(proxy.pid, 'SIGTERM');
          } catch { /* already gone */ }
          // The storage element, like the proxy, outlives the hub unless the whole platform goes.
          await storage.shutdown().catch(() => undefined);
        }
        await running.close();
      } finally {
        opts.onShutdown!();
      }
    };
    handle = createHubHandler(hub);
    mark('api');

    /** One reconcile pass: executors' pod states and the proxy's routes against the store (JupyterHub's check_routes, timed as it). */
    const checkRoutes = async (): Promise<void> => {
      const started = performance.now();
      try {
        await servers.reconcile();
      } catch (err) {
        log.warn('reconcile failed', { error: String(err) });
      } finally {
        metrics.checkRoutes.observe([], (performance.now() - started) / 1000);
      }
    };
    // JupyterHub's init_spawners: the servers of the last run re-attached (or found gone).
    const initStarted = performance.now();
    await servers.reconcile().catch((err: unknown) => log.error('initial reconcile failed', { error: String(err) }));
    metrics.initSpawners.observe([], (performance.now() - initStarted) / 1000);
    await clusters?.reconcile().catch((err: unknown) => log.error('initial cluster reconcile failed', { error: String(err) }));
    const timers = [
      ...(clusters ? [setInterval(() => void clusters.reconcile().catch((err: unknown) => log.warn('cluster reconcile failed', { error: String(err) })), config.hub.reconcileInterval * 1000)] : []),
      setInterval(() => void checkRoutes(), config.hub.reconcileInterval * 1000),
      setInterval(() => void cullOnce({ config, store, proxy: proxy.client, servers }).catch((err: unknown) => log.warn('cull failed', { error: String(err) })), config.culler.every * 1000),
      setInterval(() => void store.deleteExpiredTokens(new Date().toISOString()).catch(() => undefined), 3600 * 1000),
    ];
    for (const t of timers) t.unref();
    mark('reconciled');
    // "running" only once a request through the public port reaches this hub.
    await awaitPublicPort(config.hub.ip, config.hub.port);
    mark('running');
    metrics.hubStartup.observe([], startMs.running! / 1000);
    log.info('hub started', { hubUrl, publicUrl, proxyPid: proxy.pid, proxyReused: proxy.reused, startMs });
    announce(`highrate is running at ${publicUrl}/`);
    idp?.warm();
    if (clusters) announce(`Dask clusters: ${publicUrl}/services/dask-gateway/ (scheduler port gateway://${clusters.proxyAddress})`);

    const running: RunningHub = {
      hub,
      server,
      clusters,
      async close() {
        for (const t of timers) clearInterval(t);
        // Requests in flight finish first (the proxy answers new ones 503 HUB_STARTING meanwhile).
        await drainServer(server, HUB_DRAIN_MS);
        rbac.stop();
        audit.stop();
        await idp?.close();
        await storage.close();
        await clusters?.close();
        for (const ex of executors.values()) await ex.close?.();
        await store.close();
      },
    };
    return running;
  } catch (err) {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
    throw err;
  }
}
