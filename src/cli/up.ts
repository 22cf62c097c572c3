import { parseArgs } from 'node:util';
import { startHub } from '../platform/start.js';
import { log } from '../log.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';

const HELP = `
Usage: highrate up [options]

Starts the platform: the hub, the proxy (or re-attaches to a running one) and the embedded
OpenID Provider, with all state in the data directory. Servers that are running keep running
across restarts; the hub re-attaches to them. "running" is printed once a request through the
public port is answered by the hub. SIGTERM lets requests in flight finish (10 s at most).

Options:
  --port N          public port (default 8000; the route API uses N+1)
  --ip ADDR         public address (default 127.0.0.1)
  --hub-port N      the hub's own port on 127.0.0.1 (default 8081; 0 = any free port)
  --dask-port N     TLS port routing Dask clients and workers to schedulers by SNI, served by
                    the proxy so connections outlive hub restarts (default 8786)
  --data-dir DIR    state directory (default ./highrate-data)
  --config FILE     YAML config (default <data-dir>/config.yaml if present); see docs/config.md
  -h, --help        this help

Environment:
  HIGHRATE_ADMIN_PASSWORD   password of the first "admin" account (else one is generated and printed once)
  HIGHRATE_LOG_LEVEL        debug, info (default), warn, error
  HIGHRATE_UP_BUNDLE=0      load dist/src's modules instead of the bundle \`npm run build\` makes
                            (the bundle is used only while it is newer than what it was built from)
`;

export async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...DEPLOYMENT_FLAGS, port: { type: 'string' }, ip: { type: 'string' }, 'hub-port': { type: 'string' }, 'dask-port': { type: 'string' } }, strict: true });
  if (values.help) return usage(HELP);
  const { config, dataDir, configFile } = resolveConfig(values, (raw) => {
    raw.hub ??= {};
    if (values.port !== undefined) raw.hub.port = Number(values.port);
    if (values.ip !== undefined) raw.hub.ip = values.ip;
    if (values['hub-port'] !== undefined) raw.hub.hubPort = Number(values['hub-port']);
    if (values['dask-port'] !== undefined) {
      raw.clusters ??= {};
      raw.clusters.daskPort = Number(values['dask-port']);
    }
  });
  log.setComponent('hub');
  const running = await startHub({ config, dataDir, configFile, onShutdown: () => process.exit(0), embeddedStorageDefault: true });
  // SIGTERM/SIGINT drain: the hub stops accepting (the proxy answers 503 HUB_STARTING meanwhile),
  // requests in flight finish (10 s at most), then the store closes. A second signal exits at once.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn('second signal: exiting without waiting for requests in flight', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down; servers and the proxy keep running', { signal });
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await new Promise(() => {});
  return 0;
}
