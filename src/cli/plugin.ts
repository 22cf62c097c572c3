import { parseArgs } from 'node:util';
import { ExecutorSchema, type Config, type ExecutorConfig } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { buildExecutors } from '../executors/registry.js';
import type { Executor } from '../executors/types.js';
import { log } from '../log.js';
import { createBearerAuth, type BearerAuthConfig } from '../plugin/auth.js';
import { parseListen, servePlugin } from '../plugin/server.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';

const HELP = `
Usage: highrate plugin serve --executor NAME|KIND --listen ADDR [options]

Serves an executor as an interLink plugin (interLink >= 0.5 wire format: /create, /status,
/getLogs, /delete), so an interLink API (or highrate's interlink executor) can run pods on it.

Options:
  --executor NAME|KIND   a configured executor by name, or a kind with default options:
                         local, slurm, htcondor, kubernetes
  --listen ADDR          127.0.0.1:PORT, [::1]:PORT or unix:PATH (PORT 0: any free port)
  --api                  also answer the paths the virtual kubelet calls on interLink
                         (/pinglink, /updateCache, PodCreateRequests bodies on /create)
  --tls-cert FILE        serve HTTPS with this certificate (PEM) ...
  --tls-key FILE         ... and key
  --tls-ca FILE          require client certificates signed by this CA (mTLS)
  --oidc-issuer URL      require a bearer JWT from this issuer (as oauth2-proxy in front of interLink)
  --audience AUD         accepted token audience (repeatable; required with --oidc-issuer)
  --groups-claim CLAIM   claim listing the token's groups (default "groups"; IAM: "wlcg.groups")
  --allowed-group G      only tokens with one of these groups (repeatable; default: any)
  --jwks-uri URL         the issuer's key set, instead of discovering it
  --data-dir DIR         state directory (executor state under <dir>/executors/<name>/)
  --config FILE          YAML config (executors, plugin.auth); see docs/config.md
  -h, --help             this help

Prints "highrate plugin: serving ... at URL" once listening; stops on SIGTERM or SIGINT
(running pods keep running).
`;

/** `highrate plugin serve …`. */
export async function plugin(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      ...DEPLOYMENT_FLAGS,
      executor: { type: 'string' }, listen: { type: 'string' }, api: { type: 'boolean' },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' },
      'oidc-issuer': { type: 'string' }, audience: { type: 'string', multiple: true }, 'groups-claim': { type: 'string' },
      'allowed-group': { type: 'string', multiple: true }, 'jwks-uri': { type: 'string' },
    },
  });
  if (values.help) return usage(HELP);
  if (positionals[0] !== 'serve' || positionals.length !== 1 || !values.executor || !values.listen) {
    usage(HELP);
    return 2;
  }
  if (!!values['tls-cert'] !== !!values['tls-key']) throw fail('CONFIG_INVALID', '--tls-cert and --tls-key go together.');
  const listen = parseListen(values.listen);
  const { config, dataDir } = resolveConfig(values);
  const auth = authConfig(config, values);
  log.setComponent('plugin');
  const executor = await executorFor(config, dataDir, values.executor);
  const server = await servePlugin({
    executor, listen, api: !!values.api,
    auth: auth ? createBearerAuth(auth) : undefined,
    tls: values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']!, caFile: values['tls-ca'] } : undefined,
  });
  const loopback = listen.kind === 'unix' || /^(127\.|::1$|localhost$)/.test(listen.host);
  if (!loopback && !auth && !values['tls-ca']) {
    // interLink's plugins listen on a socket or loopback; on a network, anyone reaching the port could run pods.
    process.stderr.write(`highrate plugin: warning: listening on ${listen.host} without bearer tokens or client certificates: anyone who reaches the port can run pods.\n`);
  }
  process.stdout.write(`highrate plugin: serving executor "${executor.name}" (${executor.kind}) at ${server.url}${values.api ? ' with the interLink API paths' : ''}${auth ? ', bearer tokens required' : ''}\n`);
  log.info('plugin serving', { executor: executor.name, kind: executor.kind, url: server.url, api: !!values.api, auth: !!auth });
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info('plugin stopping; pods keep running', { signal });
      server.close().then(() => executor.close?.()).then(() => resolve(0), (err: unknown) => {
        log.error('plugin stop failed', { error: String(err) });
        resolve(1);
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** Kinds `--executor` accepts with default options (interlink needs a URL, so it is not one). */
const DEFAULT_KINDS = ['local', 'slurm', 'htcondor', 'kubernetes'];

/** A configured executor by name, else a kind with its default options. */
async function executorFor(config: Config, dataDir: string, which: string): Promise<Executor> {
  let ec: ExecutorConfig | undefined = config.executors.find((e) => e.name === which);
  if (!ec) {
    if (!DEFAULT_KINDS.includes(which)) {
      throw fail('CONFIG_INVALID', `--executor ${which}: no configured executor has that name (have: ${config.executors.map((e) => e.name).join(', ') || 'none'}), and it is not one of the kinds ${DEFAULT_KINDS.join(', ')}.`);
    }
    const parsed = ExecutorSchema.safeParse({ name: which, kind: which });
    if (!parsed.success) throw fail('CONFIG_INVALID', `--executor ${which}: this highrate has no ${which} executor, or it needs options; configure it in --config.`);
    ec = parsed.data;
  }
  const built = await buildExecutors([ec], { dataDir });
  const ex = built.get(ec.name);
  if (!ex) throw fail('CONFIG_INVALID', `--executor ${which}: the ${ec.kind} executor could not be built.`);
  return ex;
}

type AuthFlags = { 'oidc-issuer'?: string; audience?: string[]; 'groups-claim'?: string; 'allowed-group'?: string[]; 'jwks-uri'?: string };

/** Bearer auth from the config's `plugin.auth`, with flags winning; undefined when neither sets an issuer. */
function authConfig(config: Config, f: AuthFlags): BearerAuthConfig | undefined {
  const fromFile = config.plugin.auth;
  const issuer = f['oidc-issuer'] ?? fromFile?.issuer;
  if (!issuer) {
    if (f.audience || f['allowed-group'] || f['groups-claim'] || f['jwks-uri']) throw fail('CONFIG_INVALID', 'Token options need --oidc-issuer.');
    return undefined;
  }
  const audience = f.audience ?? fromFile?.audience;
  if (!audience || (Array.isArray(audience) && audience.length === 0)) throw fail('CONFIG_INVALID', 'Bearer tokens need an audience: --audience AUD (interLink deployments use "interlink" or "users").');
  return {
    issuer,
    audience,
    groupsClaim: f['groups-claim'] ?? fromFile?.groupsClaim,
    allowedGroups: f['allowed-group'] ?? fromFile?.allowedGroups ?? [],
    jwksUri: f['jwks-uri'] ?? fromFile?.jwksUri,
  };
}
