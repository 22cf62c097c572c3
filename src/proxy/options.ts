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
  /** Listen on this Unix socket instead of ip/port (CHP's --socket). */
  socket?: string;
  /** The route API on this Unix socket instead of apiIp/apiPort (CHP's --api-socket). */
  apiSocket?: string;
  /** Route by `/<host><path>` (the Host header without its port first), as CHP's --host-routing. Default false. */
  hostRouting?: boolean;
  /** Send the target's host:port as Host instead of the client's, as CHP's --change-origin. Default false. */
  changeOrigin?: boolean;
}

/** Options after validation and defaults. */
type Optional = 'socket' | 'apiSocket' | 'ip' | 'defaultTarget' | 'authorizeUrl' | 'authCache' | 'daskPort' | 'daskIp' | 'errorTarget' | 'errorPath' | 'timeoutMs' | 'proxyTimeoutMs';
export type CheckedProxyOptions = Required<Omit<ProxyOptions, Optional>> & Pick<ProxyOptions, Optional>;

/** Applies defaults and refuses what cannot work (CONFIG_INVALID), before anything listens. */
export function checkProxyOptions(opts: ProxyOptions): Readonly<CheckedProxyOptions> {
  const port = opts.port ?? 8000;
  checkPort('port', port);
  const apiPort = opts.apiPort ?? (port === 0 ? 0 : port + 1);
  checkPort('apiPort', apiPort);
  if (opts.daskPort !== undefined) checkPort('daskPort', opts.daskPort);
  if (opts.errorTarget !== undefined && opts.errorPath !== undefined) {
    throw fail('CONFIG_INVALID', 'Cannot specify both --error-target and --error-path; pick one.');
  }
  for (const [name, ms] of [['timeoutMs', opts.timeoutMs], ['proxyTimeoutMs', opts.proxyTimeoutMs]] as const) {
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
    errorTarget: opts.errorTarget,
    errorPath: opts.errorPath,
    xForward: opts.xForward ?? true,
    prependPath: opts.prependPath ?? true,
    includePrefix: opts.includePrefix ?? true,
    customHeaders: Object.freeze([...(opts.customHeaders ?? [])]),
    // 0 means "never", as CHP (which only sets timeouts for truthy values).
    timeoutMs: opts.timeoutMs || undefined,
    proxyTimeoutMs: opts.proxyTimeoutMs || undefined,
    hostRouting: opts.hostRouting ?? false,
    changeOrigin: opts.changeOrigin ?? false,
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
  --auto-rewrite         rewrite Location host/port in redirects      [not supported yet]
  --protocol-rewrite <proto>
                         rewrite Location protocol in redirects       [not supported yet]
  --insecure             do not verify https targets' certificates    [not supported yet]
  --storage-backend <module>
                         external route storage class                 [not supported]

Errors (404 no route, 503 target unreachable):
  --error-target <url>   fetch error pages from <url>/<code>?url=<request url>
  --error-path <dir>     serve <dir>/<code>.html, else <dir>/error.html
                         Without either: an HTML page for browsers (Accept: text/html),
                         JSON {status, message, code} for other clients.

TLS and redirects                                                     [not supported yet]:
  --ssl-key <file> --ssl-cert <file> --ssl-ca <file> --ssl-request-cert
  --ssl-reject-unauthorized --ssl-protocol <p> --ssl-ciphers <list> --ssl-allow-rc4
  --ssl-dhparam <file>   TLS on the public port
  --api-ssl-key <file> --api-ssl-cert <file> --api-ssl-ca <file> --api-ssl-request-cert
  --api-ssl-reject-unauthorized
                         TLS on the route API port
  --client-ssl-key <file> --client-ssl-cert <file> --client-ssl-ca <file>
  --client-ssl-request-cert --client-ssl-reject-unauthorized
                         client certificate for https targets
  --redirect-port <n>    redirect plain HTTP on this port to the HTTPS port (needs --ssl-*)
  --redirect-to <n>      the port --redirect-port redirects to (default: --port)

Metrics                                                               [not supported yet]:
  --metrics-ip <address> --metrics-port <n> --metrics-socket <path>
                         CHP's Prometheus metrics

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

  -V, --version          print the version
  -h, --help             show this help

Flags marked [not supported yet] are accepted, and the proxy then refuses to start (exit 1)
naming the flag, rather than running without what was asked for.
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

/** CHP 5 flags accepted but not implemented: given, the proxy refuses to start rather than ignore them. */
const NOT_YET: Record<string, string> = {
  'metrics-socket': 'metrics on a Unix socket',
  'metrics-port': "CHP's Prometheus metrics",
  'auto-rewrite': 'rewriting Location headers',
  'protocol-rewrite': 'rewriting Location headers',
  insecure: 'https targets without certificate verification',
  'storage-backend': 'external route storage classes (routes are kept in memory)',
  'ssl-key': 'TLS on the public port', 'ssl-cert': 'TLS on the public port', 'ssl-ca': 'TLS on the public port',
  'ssl-request-cert': 'TLS on the public port', 'ssl-reject-unauthorized': 'TLS on the public port',
  'ssl-protocol': 'TLS options', 'ssl-ciphers': 'TLS options', 'ssl-allow-rc4': 'TLS options', 'ssl-dhparam': 'TLS options',
  'api-ssl-key': 'TLS on the route API port', 'api-ssl-cert': 'TLS on the route API port', 'api-ssl-ca': 'TLS on the route API port',
  'api-ssl-request-cert': 'TLS on the route API port', 'api-ssl-reject-unauthorized': 'TLS on the route API port',
  'client-ssl-key': 'client certificates towards https targets', 'client-ssl-cert': 'client certificates towards https targets',
  'client-ssl-ca': 'client certificates towards https targets', 'client-ssl-request-cert': 'client certificates towards https targets',
  'client-ssl-reject-unauthorized': 'client certificates towards https targets',
};

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
  for (const name of Object.keys(NOT_YET)) {
    if (values[name] !== undefined) throw new RefusedFlag(`--${name} is not supported yet by highrate proxy (${NOT_YET[name]}); remove it or use configurable-http-proxy.`);
  }
  // As CHP: redirecting to HTTPS needs the proxy to serve HTTPS (--ssl-key/--ssl-cert).
  if (str('redirect-port') !== undefined) throw new RefusedFlag('HTTPS redirection specified (--redirect-port) but certificates not provided (--ssl-key/--ssl-cert).');
  if (str('redirect-to') !== undefined) toPort('--redirect-to', str('redirect-to')!);
  if (str('error-target') !== undefined && str('error-path') !== undefined) {
    throw new RefusedFlag('Cannot specify both --error-target and --error-path; pick one.');
  }
  // As CHP: a socket replaces the address, so giving both is a mistake.
  for (const [sock, others] of [['socket', ['port', 'ip']], ['api-socket', ['api-port', 'api-ip']]] as const) {
    const clash = others.find((o) => str(o) !== undefined);
    if (str(sock) !== undefined && clash !== undefined) throw new RefusedFlag(`--${sock} cannot be used with --${clash}: it replaces the address.`);
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
      errorTarget: str('error-target'),
      errorPath: str('error-path'),
      xForward: !flag('no-x-forward'),
      prependPath: !flag('no-prepend-path'),
      includePrefix: !flag('no-include-prefix'),
      customHeaders,
      hostRouting: flag('host-routing'),
      changeOrigin: flag('change-origin'),
      timeoutMs: toMillis('--timeout', str('timeout')),
      proxyTimeoutMs: toMillis('--proxy-timeout', str('proxy-timeout')),
      keepAliveTimeoutMs: toMillis('--keep-alive-timeout', str('keep-alive-timeout')),
    },
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
