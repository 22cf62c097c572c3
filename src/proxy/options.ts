import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fail } from '../errors/catalogue.js';
import type { AuthCacheOptions } from './auth-cache.js';
import { canonicalOrigin } from './origin.js';

/** Everything the proxy can be told; validated once by `checkProxyOptions`. */
export interface ProxyOptions {
  /** Public port (0 = any free port). Default 8000. */
  port?: number;
  /** Public address; default all interfaces, as CHP. */
  ip?: string;
  /** Route API port (0 = any free port). Default `port + 1` (or 0 when `port` is 0), as CHP. */
  apiPort?: number;
  /** Route API address. Default 127.0.0.1. */
  apiIp?: string;
  /** Target of the `/` route added at start (the hub), as CHP's --default-target. */
  defaultTarget?: string;
  /** The hub's authorize endpoint, e.g. http://127.0.0.1:8081/hub/api/proxy/authorize. */
  authorizeUrl?: string;
  /** Route API token (CONFIGPROXY_AUTH_TOKEN or --auth-token-file); also authenticates the proxy to the hub. */
  authToken?: string;
  /**
   * Origins (`https://hub.example.org`) whose pages may use the session cookie on user routes
   * besides the request's own Host (see origin.ts), e.g. the platform's public URL when a
   * reverse proxy in front rewrites Host. Default: none.
   */
  allowOrigins?: readonly string[];
  /** Where unauthenticated browsers are sent: `<loginUrl>?next=…`. Default `/hub/login`. */
  loginUrl?: string;
  /** Edge-auth decision cache (TTLs, size). */
  authCache?: AuthCacheOptions;
  /** How long to wait for the hub's authorize answer (ms). Default 10 s. */
  authorizeTimeoutMs?: number;
  /** Largest route API body (bytes). Default 1 MiB. */
  bodyLimit?: number;
  /** Idle time before a client keep-alive connection is closed (ms). Default 5 s, as CHP. */
  keepAliveTimeoutMs?: number;
  /** The Dask port (TLS routed by SNI to schedulers; 0 = any free port). Default: none. */
  daskPort?: number;
  /** The Dask port's address; default `ip`. */
  daskIp?: string;
  /** CHP's --error-target: proxy errors are fetched from `<errorTarget>/<code>?url=<request url>`. */
  errorTarget?: string;
  /** CHP's --error-path: a directory of `<code>.html` (else `error.html`) pages for proxy errors. */
  errorPath?: string;
  /** Add X-Forwarded-For/-Port/-Proto/-Host (CHP's default; --no-x-forward turns it off). Default true. */
  xForward?: boolean;
  /** Prepend the target's path to the request path (--no-prepend-path turns it off). Default true. */
  prependPath?: boolean;
  /** Keep the route's prefix in the forwarded path (--no-include-prefix strips it). Default true. */
  includePrefix?: boolean;
  /** Headers set on every proxied request (replacing the client's of the same name), CHP's --custom-header. */
  customHeaders?: ReadonlyArray<readonly [name: string, value: string]>;
  /** Close a client connection idle this long (ms), as CHP's --timeout. Default: never. */
  timeoutMs?: number;
  /** Give up on a target silent this long (ms) and answer 503, as CHP's --proxy-timeout. Default: never. */
  proxyTimeoutMs?: number;
  /**
   * highrate's --target-timeout: a target that sends no response head (or WebSocket handshake
   * answer) within this long of the request's last byte gets the client a 504
   * PROXY_TARGET_TIMEOUT, and its connection is dropped. Default: never (as CHP); the hub passes it.
   */
  targetTimeoutMs?: number;
  /** highrate's --connect-timeout: give up connecting to a target after this long (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * highrate's --ws-ping-interval: WebSocket peers silent for half of it get a ping; a peer silent
   * for all of it is gone, and the other side is closed. Default: never (as CHP); the hub passes it.
   */
  wsPingIntervalMs?: number;
  /** Listen on this Unix socket instead of ip/port (CHP's --socket). */
  socket?: string;
  /** The route API on this Unix socket instead of apiIp/apiPort (CHP's --api-socket). */
  apiSocket?: string;
  /** HTTPS on the public port (CHP's --ssl-*): PEM files, read when the proxy starts. */
  tls?: PublicTls;
  /** With `tls`: also listen for plain HTTP here and redirect it to HTTPS (CHP's --redirect-port). */
  redirectPort?: number;
  /** The port --redirect-port sends clients to (CHP's --redirect-to); default the public port. */
  redirectTo?: number;
  /** Route by `/<host><path>` (the Host header without its port first), as CHP's --host-routing. Default false. */
  hostRouting?: boolean;
  /** Rewrite the host of redirects to the target into the client's Host (CHP's --auto-rewrite). Default false. */
  autoRewrite?: boolean;
  /** Rewrite the scheme of redirects to the target into this one, e.g. https (CHP's --protocol-rewrite). */
  protocolRewrite?: string;
  /** HTTPS on the route API port (CHP's --api-ssl-*): PEM files, read at start. */
  apiTls?: { keyFile: string; certFile: string; caFile?: string; passphrase?: string; requestCert: boolean; rejectUnauthorized: boolean };
  /** A client certificate and CA for https targets (CHP's --client-ssl-key/-cert/-ca): PEM files, read at start. */
  clientTls?: { keyFile?: string; certFile?: string; caFile?: string };
  /** Do not verify https targets' certificates (CHP's --insecure). Default false. */
  insecure?: boolean;
  /** CHP's Prometheus metrics on this port (--metrics-port); default none. */
  metricsPort?: number;
  /** The metrics port's address (--metrics-ip); '' = all interfaces, CHP's default. */
  metricsIp?: string;
  /** CHP's metrics on this Unix socket instead (--metrics-socket). */
  metricsSocket?: string;
  /** CHP's --storage-backend: a module whose default export is a route store class (see storage-backend.ts). */
  storageBackend?: string;
  /** Send the target's host:port as Host instead of the client's, as CHP's --change-origin. Default false. */
  changeOrigin?: boolean;
}

/** CHP's --ssl-* flags for the public port. */
export interface PublicTls {
  keyFile: string;
  certFile: string;
  caFile?: string;
  dhparamFile?: string;
  /** CONFIGPROXY_SSL_KEY_PASSPHRASE, as CHP. */
  passphrase?: string;
  /** Ask clients for a certificate (--ssl-request-cert). */
  requestCert: boolean;
  /** With requestCert: refuse clients without a valid one (--ssl-reject-unauthorized). */
  rejectUnauthorized: boolean;
  /** e.g. TLSv1_2 (--ssl-protocol), used as node's `secureProtocol` `<protocol>_method`. */
  protocol?: string;
  /** OpenSSL cipher list (--ssl-ciphers); default node's. */
  ciphers?: string;
}

/** Options after validation and defaults. */
type Optional = 'apiTls' | 'clientTls' | 'protocolRewrite' | 'tls' | 'redirectPort' | 'redirectTo' | 'socket' | 'apiSocket' | 'ip' | 'defaultTarget' | 'authorizeUrl' | 'authCache' | 'daskPort' | 'daskIp' | 'errorTarget' | 'errorPath' | 'timeoutMs' | 'proxyTimeoutMs' | 'targetTimeoutMs' | 'wsPingIntervalMs' | 'metricsPort' | 'metricsIp' | 'metricsSocket' | 'storageBackend';
export type CheckedProxyOptions = Required<Omit<ProxyOptions, Optional>> & Pick<ProxyOptions, Optional>;

/** Applies defaults and refuses what cannot work (CONFIG_INVALID), before anything listens. */
export function checkProxyOptions(opts: ProxyOptions): Readonly<CheckedProxyOptions> {
  const port = opts.port ?? 8000;
  checkPort('port', port);
  const apiPort = opts.apiPort ?? (port === 0 ? 0 : port + 1);
  checkPort('apiPort', apiPort);
  if (opts.daskPort !== undefined) checkPort('daskPort', opts.daskPort);
  if (opts.metricsPort !== undefined) checkPort('metricsPort', opts.metricsPort);
  if (opts.errorTarget !== undefined && opts.errorPath !== undefined) {
    throw fail('CONFIG_INVALID', 'Cannot specify both --error-target and --error-path; pick one.');
  }
  for (const [name, ms] of [['timeoutMs', opts.timeoutMs], ['proxyTimeoutMs', opts.proxyTimeoutMs], ['targetTimeoutMs', opts.targetTimeoutMs], ['connectTimeoutMs', opts.connectTimeoutMs], ['wsPingIntervalMs', opts.wsPingIntervalMs]] as const) {
    if (ms !== undefined && (!Number.isInteger(ms) || ms < 0)) throw fail('CONFIG_INVALID', `${name} must be a whole number of milliseconds.`);
  }
  for (const [name, value] of [['defaultTarget', opts.defaultTarget], ['authorizeUrl', opts.authorizeUrl], ['errorTarget', opts.errorTarget]] as const) {
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw fail('CONFIG_INVALID', `${name} is not a URL: ${value}`);
    }
    const unixOk = name === 'defaultTarget' && (url.protocol === 'http+unix:' || url.protocol === 'unix+http:');
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && !unixOk) throw fail('CONFIG_INVALID', `${name} must be an http(s) URL.`);
  }
  const loginUrl = opts.loginUrl ?? '/hub/login';
  if (!loginUrl.startsWith('/')) throw fail('CONFIG_INVALID', 'loginUrl must be an absolute path.');
  const allowOrigins = (opts.allowOrigins ?? []).map(function checkOrigin(origin) {
    try {
      return canonicalOrigin(origin);
    } catch (err) {
      throw fail('CONFIG_INVALID', `--allow-origin (allowOrigins): ${(err as Error).message}; give an origin such as https://hub.example.org.`);
    }
  });
  return Object.freeze({
    port,
    ip: opts.ip,
    apiPort,
    apiIp: opts.apiIp ?? '127.0.0.1',
    defaultTarget: opts.defaultTarget,
    authorizeUrl: opts.authorizeUrl,
    authToken: opts.authToken ?? '',
    allowOrigins: Object.freeze(allowOrigins),
    loginUrl,
    authCache: opts.authCache,
    authorizeTimeoutMs: opts.authorizeTimeoutMs ?? 10_000,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 5_000,
    daskPort: opts.daskPort,
    daskIp: opts.daskIp ?? opts.ip,
    socket: opts.socket,
    apiSocket: opts.apiSocket,
    tls: opts.tls,
    redirectPort: opts.redirectPort,
    redirectTo: opts.redirectTo,
    errorTarget: opts.errorTarget,
    errorPath: opts.errorPath,
    xForward: opts.xForward ?? true,
    prependPath: opts.prependPath ?? true,
    includePrefix: opts.includePrefix ?? true,
    customHeaders: Object.freeze([...(opts.customHeaders ?? [])]),
    // 0 means "never", as CHP (which only sets timeouts for truthy values).
    timeoutMs: opts.timeoutMs || undefined,
    proxyTimeoutMs: opts.proxyTimeoutMs || undefined,
    targetTimeoutMs: opts.targetTimeoutMs || undefined,
    // 0: the OS's own connect timeout (about 2 minutes on Linux).
    connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
    wsPingIntervalMs: opts.wsPingIntervalMs || undefined,
    hostRouting: opts.hostRouting ?? false,
    changeOrigin: opts.changeOrigin ?? false,
    insecure: opts.insecure ?? false,
    autoRewrite: opts.autoRewrite ?? false,
    protocolRewrite: opts.protocolRewrite,
    clientTls: opts.clientTls,
    apiTls: opts.apiTls,
    metricsPort: opts.metricsPort,
    metricsIp: opts.metricsIp,
    metricsSocket: opts.metricsSocket,
    storageBackend: opts.storageBackend,
  });
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fail('CONFIG_INVALID', `${name} must be an integer 0–65535.`);
}

export const USAGE = `Usage: highrate-proxy [options]   (run as: highrate proxy …, or configurable-http-proxy …)

A reverse proxy with configurable-http-proxy (CHP) 5's command line and route API, plus
highrate's extensions (edge authentication, the Dask port), which stay off unless asked for.
The route API token is read from the environment variable CONFIGPROXY_AUTH_TOKEN, or from
the file given with --auth-token-file.

Listening:
  --ip <address>         public address (default: all interfaces; '*' means the same)
  --port <n>             public port (default 8000; 0 = any free port)
  --api-ip <address>     route API address (default 127.0.0.1)
  --api-port <n>         route API port (default: port + 1)
  --socket <path>        listen on this Unix socket instead of --ip/--port
  --api-socket <path>    the route API on this Unix socket instead of --api-ip/--api-port
  --pid-file <file>      write the process id here; removed at exit
  --log-level <level>    debug, info, warn or error (default info; any case)
  --keep-alive-timeout <ms>
                         idle time before a client keep-alive connection is closed
                         (default 5000)

Routing and forwarding (as CHP):
  --default-target <url> target of the "/" route, normally the hub
  --host-routing         route by host: the Host header (without port) is the first
                         path segment of the route, e.g. /example.org/user/alice
  --no-x-forward         do not add X-Forwarded-For/-Port/-Proto/-Host to proxied requests
  --no-prepend-path      do not prepend the target's path to the request path
  --no-include-prefix    strip the route's prefix from the path sent to the target
  --change-origin        send the target's host:port as Host instead of the client's
  --custom-header <'Name: value'>
                         set this header on every proxied request; repeatable
  --timeout <ms>         drop a client connection that is idle this long (default: never)
  --proxy-timeout <ms>   answer 503 when the target sends nothing for this long
                         (default: never)
  --auto-rewrite         in redirects (201, 301, 302, 307, 308) to the target's own host:port,
                         put the client's Host in Location
  --protocol-rewrite <proto>
                         in such redirects, put this scheme (e.g. https) in Location
  --insecure             do not verify https targets' certificates
  --storage-backend <module>
                         a CHP route store class (a module path or package name): routes
                         are loaded from it at start and every change is written to it;
                         requests are routed from memory

Errors (404 no route, 503 target unreachable):
  --error-target <url>   fetch error pages from <url>/<code>?url=<request url>
  --error-path <dir>     serve <dir>/<code>.html, else <dir>/error.html
                         Without either: an HTML page for browsers (Accept: text/html),
                         JSON {status, message, code} for other clients.

HTTPS on the public port (key passphrase from CONFIGPROXY_SSL_KEY_PASSPHRASE):
  --ssl-key <file>       private key (PEM); with --ssl-cert the public port serves HTTPS
  --ssl-cert <file>      certificate chain (PEM)
  --ssl-ca <file>        CA certificates (PEM) for client certificates
  --ssl-request-cert     ask clients for a certificate
  --ssl-reject-unauthorized
                         with --ssl-request-cert: refuse clients without a valid one
  --ssl-protocol <p>     only this protocol, e.g. TLSv1_2
  --ssl-ciphers <list>   OpenSSL cipher list (default: node's, which has no RC4)
  --ssl-allow-rc4        accepted for CHP; OpenSSL 3 has no RC4, so it changes nothing
  --ssl-dhparam <file>   Diffie-Hellman parameters (PEM)
  --redirect-port <n>    also listen for plain HTTP here and redirect it (301) to HTTPS
  --redirect-to <n>      the port --redirect-port redirects to (default: --port)

HTTPS targets:
  --client-ssl-key <file> --client-ssl-cert <file>
                         client certificate (PEM) presented to https targets
  --client-ssl-ca <file> CA certificates (PEM) that https targets' certificates must chain to
  --client-ssl-request-cert --client-ssl-reject-unauthorized
                         accepted for CHP, where they have no effect either

HTTPS on the route API port (key passphrase from CONFIGPROXY_API_SSL_KEY_PASSPHRASE):
  --api-ssl-key <file> --api-ssl-cert <file>
                         private key and certificate (PEM)
  --api-ssl-ca <file>    CA certificates (PEM) for client certificates
  --api-ssl-request-cert ask API clients for a certificate
  --api-ssl-reject-unauthorized
                         with --api-ssl-request-cert: refuse clients without a valid one


Metrics (CHP's Prometheus metrics, same names, at /metrics; default: none):
  --metrics-port <n>     serve metrics on this port
  --metrics-ip <address> the metrics port's address (default: all interfaces, as CHP)
  --metrics-socket <path>
                         serve metrics on this Unix socket instead of a port

highrate extensions (off unless given):
  --authorize-url <url>  the hub's edge-auth endpoint, e.g.
                         http://127.0.0.1:8081/hub/api/proxy/authorize
  --login-url <path>     where browsers without a session go (default /hub/login)
  --allow-origin <url>   an origin (scheme://host[:port]) whose pages may use the session
                         cookie on user routes besides the address the request was sent to;
                         repeatable. Cookie-authenticated WebSocket handshakes and requests
                         other than GET/HEAD/OPTIONS from any other origin are refused (403)
  --auth-token-file <file>
                         read the route API token from this file (trimmed) instead of
                         CONFIGPROXY_AUTH_TOKEN, so it is in no process environment; the
                         proxy does not start when the file is unreadable or empty
  --dask-port <n>        also listen for Dask's TLS connections here and route each by its
                         SNI name (daskgateway-<cluster>) to the cluster's scheduler, set at
                         /api/dask/routes/<cluster> (default: no Dask port; 0 = any free port)
  --dask-ip <address>    the Dask port's address (default: as --ip)
  --target-timeout <ms>  answer 504 (PROXY_TARGET_TIMEOUT) when a target sends no response
                         head within this long of the request, and drop that connection
                         (default: never; the hub passes proxy.targetTimeout)
  --connect-timeout <ms> give up connecting to a target after this long: 503 (default 10000;
                         0: the system's own)
  --ws-ping-interval <ms>
                         ping WebSocket peers silent for half of this; close both sides when
                         one stays silent for all of it (default: never; the hub passes
                         proxy.wsPingInterval)

  -V, --version          print the version
  -h, --help             show this help

`;

/** The command line, parsed: proxy options plus what only the process needs. */
export interface ProxyCommandLine {
  help: boolean;
  version: boolean;
  options: ProxyOptions;
  /** --auth-token-file: the token is read from it at start (`readAuthTokenFile`), not from the environment. */
  authTokenFile?: string;
  pidFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * A flag that was understood but cannot be honoured (a feature not built yet, or a combination CHP
 * refuses too): the process exits 1 with this message alone, not with the usage text.
 */
export class RefusedFlag extends Error {
  readonly exitCode = 1;
}

const BOOLEAN_CHP_FLAGS = [
  'ssl-request-cert', 'ssl-reject-unauthorized', 'ssl-allow-rc4', 'api-ssl-request-cert', 'api-ssl-reject-unauthorized',
  'client-ssl-request-cert', 'client-ssl-reject-unauthorized', 'no-x-forward', 'no-prepend-path', 'no-include-prefix',
  'auto-rewrite', 'change-origin', 'insecure', 'host-routing',
] as const;
const STRING_CHP_FLAGS = [
  'socket', 'ssl-key', 'ssl-cert', 'ssl-ca', 'ssl-protocol', 'ssl-ciphers', 'ssl-dhparam', 'api-socket', 'api-ssl-key',
  'api-ssl-cert', 'api-ssl-ca', 'client-ssl-key', 'client-ssl-cert', 'client-ssl-ca', 'error-target', 'error-path',
  'redirect-port', 'redirect-to', 'protocol-rewrite', 'metrics-ip', 'metrics-port', 'metrics-socket', 'timeout',
  'proxy-timeout', 'storage-backend', 'keep-alive-timeout',
] as const;

type ParseOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
const FLAGS: ParseOptions = {
  port: { type: 'string' },
  ip: { type: 'string' },
  'api-port': { type: 'string' },
  'api-ip': { type: 'string' },
  'default-target': { type: 'string' },
  'authorize-url': { type: 'string' },
  'login-url': { type: 'string' },
  'allow-origin': { type: 'string', multiple: true },
  'auth-token-file': { type: 'string' },
  'dask-port': { type: 'string' },
  'dask-ip': { type: 'string' },
  'target-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'ws-ping-interval': { type: 'string' },
  'pid-file': { type: 'string' },
  'log-level': { type: 'string' },
  'custom-header': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  ...Object.fromEntries(BOOLEAN_CHP_FLAGS.map((f) => [f, { type: 'boolean' as const }])),
  ...Object.fromEntries(STRING_CHP_FLAGS.map((f) => [f, { type: 'string' as const }])),
};

/**
 * Parses CHP 5's flags and highrate's. Unknown flags and malformed values are CONFIG_INVALID
 * (usage error); flags understood but not supported, and combinations CHP refuses, are RefusedFlag.
 */
export function parseProxyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ProxyCommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: false, options: FLAGS });
  } catch (err) {
    throw fail('CONFIG_INVALID', (err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const str = (name: string) => values[name] as string | undefined;
  const flag = (name: string) => values[name] === true;
  if (flag('help') || flag('version')) return { help: flag('help'), version: flag('version'), options: {} };

  const level = str('log-level')?.toLowerCase();
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) {
    throw fail('CONFIG_INVALID', '--log-level must be debug, info, warn or error.');
  }
  const customHeaders = ((values['custom-header'] as string[] | undefined) ?? []).map(parseCustomHeader);
  const tls = publicTls(str, flag, env);
  const apiKey = str('api-ssl-key');
  const apiCert = str('api-ssl-cert');
  if ((apiKey === undefined) !== (apiCert === undefined)) throw new RefusedFlag(`--${apiKey === undefined ? 'api-ssl-cert' : 'api-ssl-key'} needs --${apiKey === undefined ? 'api-ssl-key' : 'api-ssl-cert'} too.`);
  if (apiKey === undefined) {
    const stray = ['api-ssl-ca', 'api-ssl-request-cert', 'api-ssl-reject-unauthorized'].find((f) => str(f) !== undefined || flag(f));
    if (stray !== undefined) throw new RefusedFlag(`--${stray} needs --api-ssl-key and --api-ssl-cert (HTTPS on the route API port).`);
  }
  // As CHP: redirecting to HTTPS needs the proxy to serve HTTPS (--ssl-key/--ssl-cert).
  if (str('redirect-port') !== undefined && tls === undefined) {
    throw new RefusedFlag('HTTPS redirection specified (--redirect-port) but certificates not provided (--ssl-key/--ssl-cert).');
  }
  if (str('error-target') !== undefined && str('error-path') !== undefined) {
    throw new RefusedFlag('Cannot specify both --error-target and --error-path; pick one.');
  }
  // As CHP: a socket replaces the address, so giving both is a mistake.
  for (const [sock, others] of [['socket', ['port', 'ip']], ['api-socket', ['api-port', 'api-ip']]] as const) {
    const clash = others.find((o) => str(o) !== undefined);
    if (str(sock) !== undefined && clash !== undefined) throw new RefusedFlag(`--${sock} cannot be used with --${clash}: it replaces the address.`);
  }
  const metricsSocket = str('metrics-socket');
  if (metricsSocket !== undefined) {
    const clash = ['metrics-port', 'metrics-ip'].find((o) => str(o) !== undefined);
    if (clash !== undefined) throw new RefusedFlag(`--metrics-socket cannot be used with --${clash}: it replaces the address.`);
  }
  const authTokenFile = str('auth-token-file');
  if (authTokenFile === '') throw fail('CONFIG_INVALID', '--auth-token-file needs a file name.');
  const ip = str('ip');
  const daskIp = str('dask-ip');
  return {
    help: false,
    version: false,
    authTokenFile,
    pidFile: str('pid-file'),
    logLevel: level as ProxyCommandLine['logLevel'],
    options: {
      port: str('port') === undefined ? undefined : toPort('--port', str('port')!),
      ip: ip === '*' || ip === '' ? undefined : ip,
      apiPort: str('api-port') === undefined ? undefined : toPort('--api-port', str('api-port')!),
      // CHP (and z2jh, which passes `--api-ip=`) reads an empty address as all interfaces.
      apiIp: str('api-ip') === '' || str('api-ip') === '*' ? '' : str('api-ip'),
      defaultTarget: str('default-target'),
      authorizeUrl: str('authorize-url'),
      loginUrl: str('login-url'),
      allowOrigins: values['allow-origin'] as string[] | undefined,
      daskPort: str('dask-port') === undefined ? undefined : toPort('--dask-port', str('dask-port')!),
      daskIp: daskIp === '*' ? undefined : daskIp,
      // With --auth-token-file the token is read at start; the environment is not consulted.
      authToken: authTokenFile === undefined ? env.CONFIGPROXY_AUTH_TOKEN ?? '' : undefined,
      socket: str('socket'),
      apiSocket: str('api-socket'),
      tls,
      redirectPort: str('redirect-port') === undefined ? undefined : toPort('--redirect-port', str('redirect-port')!),
      redirectTo: str('redirect-to') === undefined ? undefined : toPort('--redirect-to', str('redirect-to')!),
      errorTarget: str('error-target'),
      errorPath: str('error-path'),
      xForward: !flag('no-x-forward'),
      prependPath: !flag('no-prepend-path'),
      includePrefix: !flag('no-include-prefix'),
      customHeaders,
      hostRouting: flag('host-routing'),
      changeOrigin: flag('change-origin'),
      insecure: flag('insecure'),
      autoRewrite: flag('auto-rewrite'),
      apiTls: apiKey === undefined || apiCert === undefined ? undefined : {
        keyFile: apiKey,
        certFile: apiCert,
        caFile: str('api-ssl-ca'),
        passphrase: env.CONFIGPROXY_API_SSL_KEY_PASSPHRASE || undefined,
        requestCert: flag('api-ssl-request-cert'),
        rejectUnauthorized: flag('api-ssl-reject-unauthorized'),
      },
      clientTls: str('client-ssl-key') ?? str('client-ssl-cert') ?? str('client-ssl-ca')
        ? { keyFile: str('client-ssl-key'), certFile: str('client-ssl-cert'), caFile: str('client-ssl-ca') }
        : undefined,
      protocolRewrite: str('protocol-rewrite'),
      timeoutMs: toMillis('--timeout', str('timeout')),
      proxyTimeoutMs: toMillis('--proxy-timeout', str('proxy-timeout')),
      keepAliveTimeoutMs: toMillis('--keep-alive-timeout', str('keep-alive-timeout')),
      targetTimeoutMs: toMillis('--target-timeout', str('target-timeout')),
      connectTimeoutMs: toMillis('--connect-timeout', str('connect-timeout')),
      wsPingIntervalMs: toMillis('--ws-ping-interval', str('ws-ping-interval')),
      metricsPort: str('metrics-port') === undefined ? undefined : toPort('--metrics-port', str('metrics-port')!),
      metricsIp: str('metrics-ip') === '*' ? '' : str('metrics-ip'),
      metricsSocket,
      storageBackend: str('storage-backend'),
    },
  };
}

const TLS_DETAIL_FLAGS = ['ssl-ca', 'ssl-dhparam', 'ssl-protocol', 'ssl-ciphers', 'ssl-request-cert', 'ssl-reject-unauthorized', 'ssl-allow-rc4'];

/** The public port's TLS from --ssl-*; undefined without --ssl-key/--ssl-cert (then the other --ssl-* are refused). */
function publicTls(str: (n: string) => string | undefined, flag: (n: string) => boolean, env: NodeJS.ProcessEnv): PublicTls | undefined {
  const keyFile = str('ssl-key');
  const certFile = str('ssl-cert');
  if (keyFile === undefined && certFile === undefined) {
    const stray = TLS_DETAIL_FLAGS.find((f) => str(f) !== undefined || flag(f));
    if (stray !== undefined) throw new RefusedFlag(`--${stray} needs --ssl-key and --ssl-cert (HTTPS on the public port).`);
    return undefined;
  }
  if (keyFile === undefined || certFile === undefined) throw new RefusedFlag(`--${keyFile === undefined ? 'ssl-cert' : 'ssl-key'} needs --${keyFile === undefined ? 'ssl-key' : 'ssl-cert'} too.`);
  return {
    keyFile,
    certFile,
    caFile: str('ssl-ca'),
    dhparamFile: str('ssl-dhparam'),
    passphrase: env.CONFIGPROXY_SSL_KEY_PASSPHRASE || undefined,
    requestCert: flag('ssl-request-cert'),
    rejectUnauthorized: flag('ssl-reject-unauthorized'),
    protocol: str('ssl-protocol'),
    ciphers: str('ssl-ciphers'),
  };
}

/** `Name: value` (spaces around either trimmed), as CHP's --custom-header; the name must be an HTTP token. */
function parseCustomHeader(spec: string): readonly [string, string] {
  const text = spec.trim();
  const colon = text.indexOf(':');
  if (colon <= 0) throw new RefusedFlag(`A colon was expected in --custom-header: ${text} (give 'Name: value').`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new RefusedFlag(`--custom-header ${text}: "${name}" is not a valid header name.`);
  // The value goes into the request head verbatim: no control characters, so it cannot split it.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new RefusedFlag(`--custom-header ${name}: the value must not contain control characters.`);
  return [name, value] as const;
}

function toMillis(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw fail('CONFIG_INVALID', `${flag} must be a whole number of milliseconds.`);
  return Number(value);
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/**
 * The route API token from --auth-token-file: the file's content, trimmed (as the hub writes its
 * secrets). CONFIG_INVALID, naming the file and the reason, when it cannot be read or is empty:
 * a proxy that silently ran with an open route API would be worse than one that does not start.
 */
export function readAuthTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = (e.code !== undefined && READ_ERRORS[e.code]) || e.code || e.message;
    throw fail('CONFIG_INVALID', `Cannot read the route API token from --auth-token-file ${file}: ${why}.`);
  }
  const token = text.trim();
  if (token === '') throw fail('CONFIG_INVALID', `The --auth-token-file ${file} is empty; it must hold the route API token.`);
  return token;
}

function toPort(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw fail('CONFIG_INVALID', `${flag} must be a port number.`);
  return Number(value);
}
