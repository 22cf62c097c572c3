import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fail, HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import { createRouteApi } from './api.js';
import { createApiServer, type ApiHandler } from './api-server.js';
import { daskApi } from './dask-api.js';
import type { AuthDecision } from './auth-cache.js';
import { Authorizer } from './authorizer.js';
import { findCredential, withoutQueryToken } from './credential.js';
import { ErrorPages } from './error-pages.js';
import { createMetricsServer, ProxyMetrics, Summary } from './metrics.js';
import { forwardHttp, type ForwardContext } from './forward-http.js';
import { forwardUpgrade } from './forward-ws.js';
import { customHeaderBlock, upstreamHead } from './headers.js';
import { checkProxyOptions, type ProxyOptions, type PublicTls } from './options.js';
import { isSafeMethod, originRefusal } from './origin.js';
import { routingPath } from './prefix.js';
import { refuseUpgrade, sendLoginRedirect, sendProblem, wantsHtml } from './responses.js';
import { RouteTable, type Route } from './routes.js';
import { SniRouter } from './sni-router.js';
import { loadChpStore, loadRoutesFromStore, writeThrough } from './storage-backend.js';
import { UpstreamPool } from './upstream-pool.js';
import { WsKeepalive } from './ws-keepalive.js';

/** A proxy that is listening. */
export interface RunningProxy {
  /** The public port actually bound (useful with port 0); 0 on a Unix socket (--socket). */
  readonly publicPort: number;
  /** The route API port actually bound; 0 on a Unix socket (--api-socket). */
  readonly apiPort: number;
  /** The Dask port actually bound; null without one. */
  readonly daskPort: number | null;
  /** The Dask port's router; null without one. */
  readonly sni: SniRouter | null;
  /** Stops listening, ends open connections (in-flight requests get a short grace period). */
  close(): Promise<void>;
  /** The live routing table (in-process users and tests). */
  readonly routes: RouteTable;
  /** The edge-auth decision maker; `hubCalls` counts requests made to the hub. */
  readonly authorizer: Authorizer;
}

const HEALTH_BODY = JSON.stringify({ status: 'OK' });
/** In-flight requests get this long to finish after close() before their sockets are cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Starts the proxy: a public listener that routes by longest prefix (with edge auth on user
 * routes, and a cross-origin check where the session cookie is the credential: origin.ts) and a
 * configurable-http-proxy compatible route API on its own listener.
 * Resolves once both listen; rejects (and frees both ports) if either cannot.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const opts = checkProxyOptions(options);
  const routes = new RouteTable();
  const store = opts.storageBackend === undefined ? null : await loadChpStore(opts.storageBackend, { ...opts, authToken: undefined });
  if (store !== null) log.info('routes loaded from the storage backend', { module: opts.storageBackend, routes: await loadRoutesFromStore(store, routes) });
  if (opts.defaultTarget !== undefined) {
    routes.add('/', { target: opts.defaultTarget });
    await store?.add('/', { target: opts.defaultTarget });
  }
  const authorizer = new Authorizer({
    authorizeUrl: opts.authorizeUrl,
    proxyToken: opts.authToken,
    cache: opts.authCache,
    timeoutMs: opts.authorizeTimeoutMs,
  });
  const allowOrigins: ReadonlySet<string> = new Set(opts.allowOrigins);
  // Edge auth is highrate's extension: on only with --authorize-url. Without it every route is
  // forwarded as CHP does, whatever its data says (JupyterHub puts `user` in every user route).
  const edgeAuth = opts.authorizeUrl !== undefined;
  const targetTls = targetTlsOptions(opts.insecure, opts.clientTls);
  // Deadlines towards targets (--connect-timeout, --target-timeout): off in CHP mode, set by the hub.
  const pool = new UpstreamPool({ targetTls, connectTimeoutMs: opts.connectTimeoutMs, headTimeoutMs: opts.targetTimeoutMs ?? 0 });
  const keepalive = opts.wsPingIntervalMs === undefined ? null : new WsKeepalive(opts.wsPingIntervalMs);
  const upgradeDeadlines = { connectTimeoutMs: opts.connectTimeoutMs, headTimeoutMs: opts.targetTimeoutMs ?? 0, keepalive };
  const errors = new ErrorPages(opts);
  const locationRewrite = opts.autoRewrite || opts.protocolRewrite !== undefined ? { autoRewrite: opts.autoRewrite, protocol: opts.protocolRewrite } : null;
  const ctx: ForwardContext = { pool, prependPath: opts.prependPath, proxyTimeoutMs: opts.proxyTimeoutMs ?? 0, errors, locationRewrite, defaultTarget: opts.defaultTarget };
  // CHP's forwarding options, fixed at start: the defaults keep the hot path as it was.
  const { hostRouting, includePrefix, prependPath, xForward, changeOrigin } = opts;
  const custom = customHeaderBlock(opts.customHeaders);
  // X-Forwarded-Proto, as http-proxy: what the client used to reach us.
  const webProto = opts.tls === undefined ? 'http' : 'https';
  const wsProto = opts.tls === undefined ? 'ws' : 'wss';
  const tunnels = new Set<Duplex>();
  if (opts.authToken === '') log.warn('route API is not authenticated: CONFIGPROXY_AUTH_TOKEN is empty');
  // CHP's metrics, only when asked for: without them the hot path has one null check.
  const metrics = opts.metricsPort !== undefined || opts.metricsSocket !== undefined
    ? new ProxyMetrics(() => ({ routes: routes.size, websockets_open: tunnels.size, hub_authorize_calls: authorizer.hubCalls }))
    : null;

  /** Routes an ordinary request: health check, match, edge auth, forward. */
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url === '/_chp_healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': HEALTH_BODY.length });
      res.end(HEALTH_BODY);
      return;
    }
    let started = 0n;
    if (metrics !== null) {
      started = Summary.start();
      countWeb(metrics, res);
    }
    let path = routingPath(url);
    if (path === null) return sendProblem(req, res, 'BAD_REQUEST', 'Malformed percent-encoding in the URL.');
    if (hostRouting) path = hostRoutingPath(req, path);
    const route = routes.match(path);
    if (metrics !== null) {
      metrics.findTarget.observeSince(started);
      if (route !== undefined) recordActivityOnSuccess(metrics, res, route);
    }
    if (route === undefined) {
      req.resume();
      return errors.send(req, res, 404, 'NOT_FOUND', 'No route for this address.');
    }
    if (route.user === undefined || !edgeAuth) return forward(req, res, route, false);
    const credential = findCredential(req.rawHeaders, url, false);
    if (credential === null) return refuse(req, res, null);
    // Before the hub is asked: a refused origin costs no hub call, and its body goes nowhere.
    if (credential.kind === 'cookie' && !isSafeMethod(req.method)) {
      const refusal = originRefusal(req.rawHeaders, allowOrigins);
      if (refusal !== null) {
        logOriginRefusal(req, route, false);
        req.resume();
        return sendProblem(req, res, 'ORIGIN_REFUSED', refusal);
      }
    }
    let decision: AuthDecision | Promise<AuthDecision>;
    try {
      decision = authorizer.decide(credential, route.user, route.serverName);
    } catch (err) {
      return sendProblem(req, res, 'UPSTREAM_UNAVAILABLE', (err as Error).message);
    }
    if (decision instanceof Promise) {
      decision.then(
        function onDecision(d) {
          if (d.allowed) forward(req, res, route, true);
          else refuse(req, res, d);
        },
        function onHubDown(err: unknown) {
          sendProblem(req, res, 'UPSTREAM_UNAVAILABLE', (err as Error).message);
        },
      );
    } else if (decision.allowed) {
      forward(req, res, route, true);
    } else {
      refuse(req, res, decision);
    }
  }

  function forward(req: IncomingMessage, res: ServerResponse, route: Route, edge: boolean): void {
    const head = upstreamHead(req.rawHeaders, {
      remoteAddress: req.socket.remoteAddress,
      proto: webProto,
      upgrade: false,
      edge,
      upstreamToken: route.upstreamToken,
      fallbackHost: route.target.hostHeader,
      xForward,
      changeOrigin,
      custom,
    });
    const url = req.url ?? '/';
    forwardHttp(ctx, req, res, route, head, includePrefix ? url : withoutPrefix(url, route.prefix, hostRouting));
  }

  /** No credential or a bad one: browsers go to login; a valid credential of someone else is 403. */
  function refuse(req: IncomingMessage, res: ServerResponse, decision: AuthDecision | null): void {
    req.resume();
    if (decision === null || !decision.authenticated) {
      if (req.method === 'GET' && wantsHtml(req)) return sendLoginRedirect(res, opts.loginUrl, req.url ?? '/');
      return sendProblem(req, res, 'FORBIDDEN', 'A valid credential for this server is required.');
    }
    sendProblem(req, res, 'FORBIDDEN', 'You are not allowed to access this server.');
  }

  /** Routes an upgrade (WebSocket) request; refusals are written on the raw socket. */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', function onEarlySocketError() {
      socket.destroy();
    });
    const url = req.url ?? '/';
    if (metrics !== null) metrics.requestsWs++;
    if (req.method !== 'GET' || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return refuseUpgrade(socket, 'BAD_REQUEST', 'Only WebSocket upgrades are proxied.');
    }
    const started = metrics === null ? 0n : Summary.start();
    let path = routingPath(url);
    if (path === null) return refuseUpgrade(socket, 'BAD_REQUEST', 'Malformed percent-encoding in the URL.');
    if (hostRouting) path = hostRoutingPath(req, path);
    const route = routes.match(path);
    metrics?.findTarget.observeSince(started);
    if (route === undefined) return refuseUpgrade(socket, 'NOT_FOUND', 'No route for this address.');
    if (route.user === undefined || !edgeAuth) return tunnel(req, socket, head, route, false, url);
    const credential = findCredential(req.rawHeaders, url, true);
    if (credential === null) return refuseUpgrade(socket, 'FORBIDDEN', 'A valid credential for this server is required.');
    if (credential.kind === 'cookie') {
      const refusal = originRefusal(req.rawHeaders, allowOrigins);
      if (refusal !== null) {
        logOriginRefusal(req, route, true);
        return refuseUpgrade(socket, 'ORIGIN_REFUSED', refusal);
      }
    }
    const user = route.user;
    Promise.resolve()
      .then(() => authorizer.decide(credential, user, route.serverName))
      .then(
        function onUpgradeDecision(d) {
          if (d.allowed) tunnel(req, socket, head, route, true, withoutQueryToken(url));
          else refuseUpgrade(socket, 'FORBIDDEN', d.authenticated ? 'You are not allowed to access this server.' : 'A valid credential for this server is required.');
        },
        function onUpgradeHubDown(err: unknown) {
          refuseUpgrade(socket, 'UPSTREAM_UNAVAILABLE', (err as Error).message);
        },
      );
  }

  function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, edge: boolean, path: string): void {
    if (socket.destroyed) return;
    const { lines } = upstreamHead(req.rawHeaders, {
      remoteAddress: req.socket.remoteAddress,
      proto: wsProto,
      upgrade: true,
      edge,
      upstreamToken: route.upstreamToken,
      fallbackHost: route.target.hostHeader,
      xForward,
      changeOrigin,
      custom,
    });
    forwardUpgrade(req, socket, head, route, lines, includePrefix ? path : withoutPrefix(path, route.prefix, hostRouting), tunnels, prependPath, targetTls, upgradeDeadlines);
  }

  const serverOptions = { keepAliveTimeout: opts.keepAliveTimeoutMs, requestTimeout: 0, noDelay: true };
  const publicServer: http.Server = opts.tls === undefined
    ? http.createServer(serverOptions, onRequest)
    : https.createServer({ ...serverOptions, ...readTls(opts.tls) }, onRequest);
  // --redirect-port (with TLS only, as CHP): plain HTTP there is sent to the HTTPS port.
  const redirectTo = opts.redirectTo ?? opts.port;
  const redirectServer = opts.tls !== undefined && opts.redirectPort !== undefined && opts.socket === undefined && opts.port !== 80
    ? http.createServer(function redirectToHttps(req, res) {
      req.resume();
      const host = req.headers.host;
      if (host === undefined) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`This server is HTTPS-only on port ${redirectTo}, and the request named no Host to redirect to.`);
        return;
      }
      const name = host.replace(/:\d+$/, '');
      res.writeHead(301, { location: `https://${redirectTo === 443 ? name : `${name}:${redirectTo}`}${req.url ?? '/'}`, 'content-length': 0 });
      res.end();
    })
    : null;
  publicServer.on('upgrade', onUpgrade);
  // CHP's --timeout: a client connection idle this long is dropped (node destroys the socket
  // when nothing listens for 'timeout'); WebSocket tunnels turn it off for their socket.
  if (opts.timeoutMs !== undefined) publicServer.setTimeout(opts.timeoutMs);
  publicServer.on('clientError', function onClientError(err: NodeJS.ErrnoException, socket: Duplex) {
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  const sni = opts.daskPort === undefined ? null : new SniRouter();
  let daskPort: number | null = null;
  const routeApi = createRouteApi(routes, opts.authToken, {
    flushAuth: () => authorizer.cache.clear(),
    dask: daskApi(sni, () => daskPort),
    hostRouting,
  });
  const storedApi = store === null ? routeApi : writeThrough(routeApi, store, hostRouting);
  const api = createApiServer(metrics === null ? storedApi : countedApi(storedApi, metrics), {
    bodyLimit: opts.bodyLimit,
    idleTimeoutMs: opts.keepAliveTimeoutMs,
    tls: opts.apiTls === undefined ? undefined : {
      key: readPem('--api-ssl-key', opts.apiTls.keyFile),
      cert: readPem('--api-ssl-cert', opts.apiTls.certFile),
      ca: opts.apiTls.caFile === undefined ? undefined : readPem('--api-ssl-ca', opts.apiTls.caFile),
      passphrase: opts.apiTls.passphrase,
      requestCert: opts.apiTls.requestCert,
      rejectUnauthorized: opts.apiTls.rejectUnauthorized,
    },
  });
  const apiServer = api.server;
  const metricsServer = metrics === null ? null : createMetricsServer(metrics);

  try {
    await listen(publicServer, opts.socket ?? opts.port, opts.ip);
    if (sni) daskPort = await sni.listen(opts.daskPort!, opts.daskIp);
    await listen(apiServer, opts.apiSocket ?? opts.apiPort, opts.apiIp);
    if (redirectServer !== null) await listen(redirectServer, opts.redirectPort!, opts.ip);
    if (metricsServer !== null) await listen(metricsServer, opts.metricsSocket ?? opts.metricsPort!, opts.metricsIp);
  } catch (err) {
    metricsServer?.close();
    metrics?.close();
    redirectServer?.close();
    publicServer.close();
    apiServer.close();
    await sni?.close();
    authorizer.close();
    throw err;
  }
  // A Unix socket (--socket, --api-socket) has no port: 0.
  const publicPort = portOf(publicServer);
  const apiPort = portOf(apiServer);
  log.info('proxy listening', { publicPort, ip: opts.ip ?? '*', apiPort, apiIp: opts.apiIp, socket: opts.socket ?? null, apiSocket: opts.apiSocket ?? null, daskPort, defaultTarget: opts.defaultTarget ?? null, edgeAuth: opts.authorizeUrl !== undefined, allowOrigins: opts.allowOrigins, metrics: metricsServer === null ? null : opts.metricsSocket ?? portOf(metricsServer) });

  let closing: Promise<void> | undefined;
  return {
    publicPort,
    apiPort,
    daskPort,
    sni,
    routes,
    authorizer,
    close() {
      closing ??= (async function closeProxy() {
        for (const socket of tunnels) socket.destroy();
        const apiClosed = new Promise<void>((resolve) => {
          const timer = setTimeout(() => api.destroyConnections(), CLOSE_GRACE_MS);
          apiServer.close(() => {
            clearTimeout(timer);
            resolve();
          });
          api.closeConnections();
        });
        if (redirectServer !== null) redirectServer.closeAllConnections();
        if (metricsServer !== null) {
          metricsServer.close();
          metricsServer.closeAllConnections();
          metrics!.close();
        }
        await Promise.all([drain(publicServer), apiClosed, sni?.close(), redirectServer && new Promise((r) => redirectServer.close(r))]);
        pool.close();
        keepalive?.close();
        authorizer.close();
        log.info('proxy closed', { publicPort, apiPort });
      })();
      return closing;
    },
  };
}

/** CHP's requests_web and requests_proxy{status}: every public request, counted by its answer. */
function countWeb(metrics: ProxyMetrics, res: ServerResponse): void {
  metrics.requestsWeb++;
  res.once('finish', function countProxied() {
    metrics.proxied(res.statusCode);
  });
}

/** CHP's last_activity_updating: observed when a routed request succeeds (< 300), as CHP records activity then. */
function recordActivityOnSuccess(metrics: ProxyMetrics, res: ServerResponse, route: Route): void {
  res.once('finish', function updateActivity() {
    if (res.statusCode >= 300) return;
    const started = Summary.start();
    route.lastActivity = Date.now();
    metrics.lastActivityUpdating.observeSince(started);
  });
}

/**
 * The route API counted as CHP: requests_api{status} for every reply; api_route_get/add/delete
 * for authorized calls that did their work (a GET answered, a route added, a DELETE answered
 * 204 or 404), as CHP counts them after its handlers.
 */
function countedApi(handler: ApiHandler, metrics: ProxyMetrics): ApiHandler {
  return function countedRouteApi(req) {
    const routesCall = req.url.startsWith('/api/routes');
    let status: number;
    try {
      const reply = handler(req);
      status = reply.status;
      metrics.api(status);
      if (routesCall) {
        if (req.method === 'GET' && status === 200) metrics.apiRouteGet++;
        else if (req.method === 'POST' && status === 201) metrics.apiRouteAdd++;
        else if (req.method === 'DELETE' && status === 204) metrics.apiRouteDelete++;
      }
      return reply;
    } catch (err) {
      status = err instanceof HighrateError ? err.status : 500;
      metrics.api(status);
      if (routesCall && req.method === 'DELETE' && status === 404) metrics.apiRouteDelete++;
      throw err;
    }
  };
}

/**
 * CHP's host routing: the request is routed by `/<host><path>`, host being the Host header
 * without its port (so routes are added as `/hub.example.org/user/alice`).
 */
function hostRoutingPath(req: IncomingMessage, path: string): string {
  const host = req.headers.host ?? '';
  const colon = host.lastIndexOf(':');
  const name = colon !== -1 && colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
  return `/${name}${path}`;
}

/**
 * CHP's --no-include-prefix: the URL sent to the target without the route's prefix
 * (`/user/alice/tree?x` on route `/user/alice` → `/tree?x`). With host routing the prefix's
 * first segment is the host, which is not part of the URL.
 */
function withoutPrefix(url: string, prefix: string, hostRouting: boolean): string {
  let strip = prefix;
  if (hostRouting) {
    const slash = prefix.indexOf('/', 1);
    strip = slash === -1 ? '/' : prefix.slice(slash);
  }
  if (strip === '/') return url;
  const rest = url.startsWith(strip) ? url.slice(strip.length) : url;
  return rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
}

/** Logged at info: a refused origin is either an attack or a misconfigured public address (--allow-origin). */
function logOriginRefusal(req: IncomingMessage, route: Route, upgrade: boolean): void {
  log.info('cross-origin request refused', {
    route: route.prefix,
    method: req.method,
    origin: req.headers.origin ?? null,
    host: req.headers.host ?? null,
    secFetchSite: req.headers['sec-fetch-site'] ?? null,
    upgrade,
  });
}

/** TLS options towards https targets: --insecure and --client-ssl-* (files read now, CONFIG_INVALID naming an unreadable one). */
function targetTlsOptions(insecure: boolean, client: { keyFile?: string; certFile?: string; caFile?: string } | undefined): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = {};
  if (insecure) o.rejectUnauthorized = false;
  if (client?.keyFile !== undefined) o.key = readPem('--client-ssl-key', client.keyFile);
  if (client?.certFile !== undefined) o.cert = readPem('--client-ssl-cert', client.certFile);
  if (client?.caFile !== undefined) o.ca = readPem('--client-ssl-ca', client.caFile);
  return o;
}

function readPem(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw fail('CONFIG_INVALID', `Cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
}

/** The public port's key, certificate… read from their files (CONFIG_INVALID naming the file when one cannot be read). */
function readTls(t: PublicTls): https.ServerOptions {
  const read = readPem;
  return {
    key: read('--ssl-key', t.keyFile),
    cert: read('--ssl-cert', t.certFile),
    ca: t.caFile === undefined ? undefined : read('--ssl-ca', t.caFile),
    dhparam: t.dhparamFile === undefined ? undefined : read('--ssl-dhparam', t.dhparamFile),
    passphrase: t.passphrase,
    requestCert: t.requestCert,
    rejectUnauthorized: t.rejectUnauthorized,
    secureProtocol: t.protocol === undefined ? undefined : `${t.protocol}_method`,
    ciphers: t.ciphers,
    honorCipherOrder: true,
  };
}

function portOf(server: net.Server): number {
  const address = server.address() as AddressInfo | string | null;
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Listens on a port (number) at `host`, or on a Unix socket (a path). */
function listen(server: net.Server, where: number | string, host: string | undefined): Promise<void> {
  return new Promise(function bind(resolve, reject) {
    server.once('error', reject);
    const bound = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof where === 'string') server.listen(where, bound);
    else server.listen(where, host, bound);
  });
}

/** Stops accepting, lets in-flight requests finish for a moment, then cuts what is left. */
function drain(server: http.Server): Promise<void> {
  return new Promise(function closeServer(resolve) {
    const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
