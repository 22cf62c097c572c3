import { parseArgs } from 'node:util';
import { hashSecret, newSecret, newTokenId } from '../auth/tokens.js';
import { fail, HighrateError } from '../errors/catalogue.js';
import { answersAt, hubAnswers } from '../store/backup-layout.js';
import { createStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { DEPLOYMENT_FLAGS, resolveConfig, usage } from './common.js';
import { callHub, type HubCtx } from './hub-client.js';

const HELP = `
Usage: highrate down [options]

Stops the platform \`highrate up\` started from this data directory: every Dask cluster, every
notebook server, then the proxy, the embedded storage element and the hub. Stopping \`highrate up\`
itself (Ctrl-C, SIGTERM) stops only the hub: servers, clusters and the proxy keep running for the
next \`highrate up\`, which re-attaches to them.

It asks the running hub (POST /hub/api/shutdown, as an administrator, with a token it issues for
this and deletes afterwards), and waits until the hub no longer answers: it has closed its port
and exits once the requests in flight are done (10 s at most).

Options:
  --keep-servers     leave notebook servers and Dask clusters running (the next \`highrate up\`
                     finds them again); stop only the proxy, the storage element and the hub
  --timeout SEC      how long to wait for everything to stop (default 120)
  --data-dir DIR     state directory (default ./highrate-data)
  --config FILE      YAML config (default <data-dir>/config.yaml)
  -h, --help         this help
`;

const POLL_MS = 250;
const ACTIVE_CLUSTERS = 'PENDING,RUNNING,STOPPING';

export async function down(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...DEPLOYMENT_FLAGS, 'keep-servers': { type: 'boolean' }, timeout: { type: 'string' } } });
  if (values.help || positionals.length > 0) {
    usage(HELP);
    return values.help ? 0 : 2;
  }
  const timeoutS = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw fail('BAD_REQUEST', '--timeout must be a positive number of seconds.');
  const deadline = Date.now() + timeoutS * 1000;
  const { config, dataDir } = resolveConfig(values);
  // The hub the proxy forwards to (recorded by the running hub, also when hub.hubPort is 0), else the configured port.
  const configured = `http://127.0.0.1:${config.hub.hubPort}`;
  const url = (await hubAnswers(dataDir)) ?? ((await answersAt(configured, 2000)) ? configured : null);
  if (!url) {
    throw fail('UPSTREAM_UNAVAILABLE', `No hub answers at ${configured} (hub.hubPort of ${dataDir}), so there is nothing to ask. If a proxy or servers were left running, \`highrate up\` finds them again; then run \`highrate down\`.`);
  }
  const store = await createStore(config.hub.db ?? `sqlite://${dataDir}/highrate.sqlite`);
  try {
    await store.migrate();
    const token = await issueShutdownToken(store);
    try {
      const hub: HubCtx = { url, token: token.value, json: false };
      const stopServers = !values['keep-servers'];
      if (stopServers) await stopClusters(hub, deadline);
      say(stopServers ? 'Stopping the notebook servers, the proxy, the storage element and the hub…' : 'Stopping the proxy, the storage element and the hub; notebook servers and Dask clusters keep running…');
      await callHub(hub, 'POST', '/hub/api/shutdown', { proxy: true, servers: stopServers });
      const started = Date.now();
      while (await answersAt(url, 2000)) {
        if (Date.now() > deadline) throw fail('UPSTREAM_UNAVAILABLE', `The hub at ${url} still answers ${Math.round(timeoutS)} s later; see its log. Run \`highrate down\` again to wait longer.`);
        await sleep(POLL_MS);
      }
      say(`Stopped in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
      return 0;
    } finally {
      await store.deleteToken(token.user, token.id).catch(() => false);
    }
  } finally {
    await store.close();
  }
}

/** A token for the first administrator, good for 5 minutes; deleted when `down` ends. */
async function issueShutdownToken(store: Store): Promise<{ id: string; user: string; value: string }> {
  const admin = (await store.listUsers({ admin: true, limit: 1 })).users[0];
  if (!admin) throw fail('CONFLICT', 'The hub has no administrator to act as, so it cannot be asked to shut down; stop `highrate up` itself (SIGTERM) instead.');
  const value = newSecret();
  const id = newTokenId();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + 5 * 60_000).toISOString();
  await store.insertToken({ id, user: admin.name, hash: hashSecret(value), prefix: value.slice(0, 4), scopes: [], note: 'Issued by highrate down (deleted when it ends)', kind: 'api', created: now.toISOString(), expiresAt, lastActivity: null });
  await store.appendAudit({ time: now.toISOString(), actor: 'cli', actorKind: 'system', action: 'token.issue', target: id, targetUser: admin.name, outcome: 'ok', code: null, detail: { scopes: [], expires_at: expiresAt, via: 'highrate down' }, ip: null });
  return { id, user: admin.name, value };
}

/** Stops every active Dask cluster and waits until none is left (no clusters configured: none). */
async function stopClusters(hub: HubCtx, deadline: number): Promise<void> {
  const active = async (): Promise<Array<{ name: string; status: string }>> => {
    try {
      return (await callHub(hub, 'GET', `/hub/api/clusters?all=1&status=${ACTIVE_CLUSTERS}`)).clusters;
    } catch (err) {
      if (err instanceof HighrateError && err.code === 'NOT_FOUND') return []; // clusters are not enabled
      throw err;
    }
  };
  let left = await active();
  if (left.length === 0) return;
  say(`Stopping ${left.length} Dask cluster(s)…`);
  for (const c of left) {
    if (c.status !== 'STOPPING') await callHub(hub, 'DELETE', `/hub/api/clusters/${encodeURIComponent(c.name)}`).catch((err: unknown) => { if (!(err instanceof HighrateError && err.code === 'CLUSTER_NOT_FOUND')) throw err; });
  }
  while ((left = await active()).length > 0) {
    if (Date.now() > deadline) throw fail('UPSTREAM_UNAVAILABLE', `${left.length} Dask cluster(s) still stopping (${left.map((c) => c.name).join(', ').slice(0, 200)}); nothing else was stopped. Run \`highrate down\` again to wait longer.`);
    await sleep(POLL_MS);
  }
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
