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
}

/** Options after validation and defaults. */
type Optional = 'ip' | 'defaultTarget' | 'authorizeUrl' | 'authCache' | 'daskPort' | 'daskIp';
export type CheckedProxyOptions = Required<Omit<ProxyOptions, Optional>> & Pick<ProxyOptions, Optional>;

/** Applies defaults and refuses what cannot work (CONFIG_INVALID), before anything listens. */
export function checkProxyOptions(opts: ProxyOptions): Readonly<CheckedProxyOptions> {
  const port = opts.port ?? 8000;
  checkPort('port', port);
  const apiPort = opts.apiPort ?? (port === 0 ? 0 : port + 1);
  checkPort('apiPort', apiPort);
  if (opts.daskPort !== undefined) checkPort('daskPort', opts.daskPort);
  for (const [name, value] of [['defaultTarget', opts.defaultTarget], ['authorizeUrl', opts.authorizeUrl]] as const) {
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw fail('CONFIG_INVALID', `${name} is not a URL: ${value}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail('CONFIG_INVALID', `${name} must be an http(s) URL.`);
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
  });
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fail('CONFIG_INVALID', `${name} must be an integer 0–65535.`);
}

export const USAGE = `Usage: highrate-proxy [options]

A reverse proxy with a configurable-http-proxy compatible route API and edge authentication.
The route API token is read from the environment variable CONFIGPROXY_AUTH_TOKEN, or from
the file given with --auth-token-file.

Options:
  --port <n>             public port (default 8000; 0 = any free port)
  --ip <address>         public address (default: all interfaces)
  --api-port <n>         route API port (default: port + 1)
  --api-ip <address>     route API address (default 127.0.0.1)
  --default-target <url> target of the "/" route, normally the hub
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
  --pid-file <file>      write the process id here; removed at exit
  --log-level <level>    debug, info, warn or error (default info)
  -h, --help             show this help
`;

/** The command line, parsed: proxy options plus what only the process needs. */
export interface ProxyCommandLine {
  help: boolean;
  options: ProxyOptions;
  /** --auth-token-file: the token is read from it at start (`readAuthTokenFile`), not from the environment. */
  authTokenFile?: string;
  pidFile?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Parses CHP-style flags; unknown flags and bad values are CONFIG_INVALID. */
export function parseProxyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ProxyCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
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
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw fail('CONFIG_INVALID', (err as Error).message);
  }
  const level = values['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) {
    throw fail('CONFIG_INVALID', '--log-level must be debug, info, warn or error.');
  }
  const authTokenFile = values['auth-token-file'];
  if (authTokenFile === '') throw fail('CONFIG_INVALID', '--auth-token-file needs a file name.');
  return {
    help: values.help === true,
    authTokenFile,
    pidFile: values['pid-file'],
    logLevel: level as ProxyCommandLine['logLevel'],
    options: {
      port: values.port === undefined ? undefined : toPort('--port', values.port),
      ip: values.ip === '*' ? undefined : values.ip,
      apiPort: values['api-port'] === undefined ? undefined : toPort('--api-port', values['api-port']),
      apiIp: values['api-ip'],
      defaultTarget: values['default-target'],
      authorizeUrl: values['authorize-url'],
      loginUrl: values['login-url'],
      allowOrigins: values['allow-origin'],
      daskPort: values['dask-port'] === undefined ? undefined : toPort('--dask-port', values['dask-port']),
      daskIp: values['dask-ip'] === '*' ? undefined : values['dask-ip'],
      // With --auth-token-file the token is read at start; the environment is not consulted.
      authToken: authTokenFile === undefined ? env.CONFIGPROXY_AUTH_TOKEN ?? '' : undefined,
    },
  };
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
