import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClustersConfig } from '../config/schema.js';
import { restrictedSecurity, type UnixIdentity } from '../executors/security.js';
import type { ConfigMap, EnvVar, Pod, RetrievedPodData, Secret } from '../executors/types.js';
import type { ClusterSpec } from './options.js';
import { SNI_PREFIX } from '../proxy/sni-router.js';

/**
 * Pods of a cluster: one scheduler, N workers, as dask-gateway's backends and the Dask operator
 * build them. Credentials travel as Secrets, the scheduler's HTTP guard as a ConfigMap; nothing
 * secret is in the pod spec itself, which the hub stores.
 *
 * They reach the container as environment variables (secretKeyRef), not as volumes: executors
 * that run host processes (the local executor without bubblewrap, Slurm and HTCondor nodes
 * without it) cannot put a volume at its mountPath. A small POSIX sh wrapper writes them into a
 * private directory (mktemp -d, umask 077), points Dask's own TLS settings at the files (as
 * dask-gateway does, DASK_DISTRIBUTED__COMM__TLS__*), drops the variables, runs Dask, and removes
 * the directory when Dask ends or the pod is deleted.
 */

/** The sh wrapper: `sh -c WRAPPER highrate-dask <command…>`. */
export const CREDENTIALS_WRAPPER = [
  'umask 077',
  // Backquotes, not $(…): Kubernetes-style executors expand $(NAME) in commands.
  'd=`mktemp -d "${TMPDIR:-/tmp}/highrate-dask.XXXXXXXX"` || exit 1',
  'trap \'rm -rf "$d"\' EXIT',
  'printf %s "$HIGHRATE_DASK_TLS_CERT" > "$d/dask.crt" && printf %s "$HIGHRATE_DASK_TLS_KEY" > "$d/dask.pem" || exit 1',
  'export DASK_DISTRIBUTED__COMM__TLS__CA_FILE="$d/dask.crt"',
  'for r in SCHEDULER WORKER CLIENT; do export "DASK_DISTRIBUTED__COMM__TLS__${r}__CERT=$d/dask.crt" "DASK_DISTRIBUTED__COMM__TLS__${r}__KEY=$d/dask.pem"; done',
  'if [ -n "${HIGHRATE_DASK_HTTP_TOKEN:-}" ]; then printf %s "$HIGHRATE_DASK_HTTP_TOKEN" > "$d/http-token" || exit 1; export HIGHRATE_DASK_HTTP_TOKEN_FILE="$d/http-token"; fi',
  'if [ -n "${HIGHRATE_DASK_PRELOAD:-}" ]; then printf %s "$HIGHRATE_DASK_PRELOAD" > "$d/highrate_scheduler_guard.py" || exit 1; export DASK_DISTRIBUTED__SCHEDULER__PRELOAD="[\\"$d/highrate_scheduler_guard.py\\"]"; fi',
  'unset HIGHRATE_DASK_TLS_CERT HIGHRATE_DASK_TLS_KEY HIGHRATE_DASK_HTTP_TOKEN HIGHRATE_DASK_PRELOAD',
  // Stay the parent, so the directory goes when Dask ends; a signal to the pod reaches Dask too.
  'f=0',
  'trap \'f=1; kill -TERM "$c" 2>/dev/null\' TERM INT HUP',
  '"$@" & c=$!',
  'wait "$c"; rc=$?',
  // A trapped signal ends `wait` early with 128+n: wait again, once per signal, for Dask's own
  // status (127 means it was already collected). A loop on the status instead would never end
  // for a SIGKILLed Dask.
  'while [ "$f" = 1 ]; do f=0; wait "$c"; r=$?; [ "$r" = 127 ] || rc=$r; done',
  'exit "$rc"',
].join('\n');

const GUARD_FILE = 'highrate_scheduler_guard.py';

/** The scheduler's default HTTP routes (distributed.yaml) plus the API, which retire_workers needs. */
export const SCHEDULER_HTTP_ROUTES = [
  'distributed.http.scheduler.prometheus',
  'distributed.http.scheduler.info',
  'distributed.http.scheduler.json',
  'distributed.http.health',
  'distributed.http.proxy',
  'distributed.http.statics',
  'distributed.http.scheduler.api',
];

/**
 * The workers' HTTP routes: only `/health`. A worker's HTTP port has no guard (the scheduler's
 * has), and anyone on its host could read its Prometheus metrics; highrate reads everything it
 * shows from the scheduler.
 */
export const WORKER_HTTP_ROUTES = ['distributed.http.health'];

const here = dirname(fileURLToPath(import.meta.url));
/** src/clusters/python, from dist/src/clusters or src/clusters. */
export const PYTHON_DIR = here.includes(`${join('dist', 'src')}`) ? join(here, '..', '..', '..', 'src', 'clusters', 'python') : join(here, 'python');

let guardSource: string | undefined;
function schedulerGuard(): string {
  guardSource ??= readFileSync(join(PYTHON_DIR, GUARD_FILE), 'utf8');
  return guardSource;
}

/** Where the scheduler of a cluster listens (on the scheduler executor's host). */
export interface SchedulerPorts { tls: number; dashboard: number }

export interface ClusterWorkloadInput {
  name: string;
  user: string;
  /** The owner's Unix identity: the cluster's pods run as it, so only the owner's pods can read its TLS key. */
  identity: UnixIdentity;
  spec: ClusterSpec;
  clusters: ClustersConfig;
  tlsCert: string;
  tlsKey: string;
  httpToken: string;
  /** Storage access (src/storage): the owner's WLCG token directory, mounted read-only, and its variables. */
  storage?: { hostDir: string; mountPath: string; env: Array<{ name: string; value: string }> };
}

/**
 * Gives a cluster pod its owner's storage token: the directory the hub keeps fresh, read-only at
 * `mountPath` (the host path itself on executors that run host processes), BEARER_TOKEN_FILE.
 */
function withStorage(data: RetrievedPodData, c: ClusterWorkloadInput): RetrievedPodData {
  if (!c.storage) return data;
  const container = data.pod.spec.containers[0]!;
  data.pod.spec.volumes = [...(data.pod.spec.volumes ?? []), { name: 'wlcg-token', hostPath: { path: c.storage.hostDir, type: 'Directory' } }];
  container.volumeMounts = [...(container.volumeMounts ?? []), { name: 'wlcg-token', mountPath: c.storage.mountPath, readOnly: true }];
  container.env = [...(container.env ?? []), ...c.storage.env];
  return data;
}

/** The URL prefix of every HTTP route of a cluster's scheduler (its `--dashboard-prefix`). */
export function dashboardPrefix(cluster: string): string {
  return `/clusters/${cluster}`;
}

function labels(c: ClusterWorkloadInput, component: 'dask-scheduler' | 'dask-worker'): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'highrate',
    'app.kubernetes.io/component': component,
    'gateway.dask.org/cluster': c.name,
    'hub.jupyter.org/username': c.user,
  };
}

/** The restricted securityContext with the owner's identity (and what the admin loosened). */
function security(c: ClusterWorkloadInput) {
  return restrictedSecurity(c.identity, c.clusters.securityContext);
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function commonEnv(c: ClusterWorkloadInput): EnvVar[] {
  return [
    // As dask-gateway sets it: nothing of the cluster talks in cleartext.
    { name: 'DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION', value: 'True' },
    { name: 'DASK_GATEWAY_CLUSTER_NAME', value: c.name },
    // Dask's event-loop tick only feeds diagnostics (the "unresponsive" log line, tick metrics),
    // yet at its 20 ms default it is most of an idle scheduler's or worker's CPU: measured here,
    // 2.7% and 2.5% of a core, 1.2% and 1.3% at 200 ms. A facility has many idle clusters.
    { name: 'DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL', value: '200ms' },
    ...Object.entries(c.clusters.env).map(([name, value]) => ({ name, value })),
  ];
}

/** The scheduler: TLS on 127.0.0.1:<tls>, HTTP (guarded) on 127.0.0.1:<dashboard> under /clusters/<name>. */
export function schedulerPod(c: ClusterWorkloadInput, ports: SchedulerPorts): RetrievedPodData {
  const uid = randomUUID();
  const secret: Secret = {
    metadata: { name: `dask-credentials-${c.name}`, namespace: 'highrate' },
    data: { 'tls-cert': b64(c.tlsCert), 'tls-key': b64(c.tlsKey), 'http-token': b64(c.httpToken) },
    type: 'Opaque',
  };
  const preload: ConfigMap = { metadata: { name: `dask-preload-${c.name}`, namespace: 'highrate' }, data: { [GUARD_FILE]: schedulerGuard() } };
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `dask-scheduler-${c.name}`, namespace: 'highrate', uid, labels: labels(c, 'dask-scheduler') },
    spec: {
      restartPolicy: 'Never',
      securityContext: security(c).pod,
      containers: [{
        name: 'scheduler',
        securityContext: security(c).container,
        command: [
          '/bin/sh', '-c', CREDENTIALS_WRAPPER, 'highrate-dask',
          c.clusters.python, '-m', 'distributed.cli.dask_scheduler',
          '--protocol', 'tls', '--host', '127.0.0.1', '--port', String(ports.tls),
          '--dashboard-address', `127.0.0.1:${ports.dashboard}`, '--dashboard-prefix', dashboardPrefix(c.name),
        ],
        env: [
          ...credentialEnv(secret.metadata.name),
          { name: 'HIGHRATE_DASK_HTTP_TOKEN', valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'http-token' } } },
          { name: 'HIGHRATE_DASK_PRELOAD', valueFrom: { configMapKeyRef: { name: preload.metadata.name, key: GUARD_FILE } } },
          ...commonEnv(c),
          { name: 'DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES', value: JSON.stringify(SCHEDULER_HTTP_ROUTES) },
        ],
        resources: {
          limits: { cpu: String(c.spec.schedulerCores), memory: c.spec.schedulerMemory },
          requests: { cpu: String(c.spec.schedulerCores), memory: c.spec.schedulerMemory },
        },
        ports: [{ containerPort: ports.tls, name: 'tcp-comm' }, { containerPort: ports.dashboard, name: 'http-dashboard' }],
      }],
    },
  };
  return withStorage({ pod, container: [{ name: 'scheduler', configMaps: [preload], projectedvolumemaps: null, secrets: [secret], emptyDirs: null }] }, c);
}

function credentialEnv(secret: string): EnvVar[] {
  return [
    { name: 'HIGHRATE_DASK_TLS_CERT', valueFrom: { secretKeyRef: { name: secret, key: 'tls-cert' } } },
    { name: 'HIGHRATE_DASK_TLS_KEY', valueFrom: { secretKeyRef: { name: secret, key: 'tls-key' } } },
  ];
}

export interface WorkerPlacement {
  /** The Dask worker name (`--name`), also the pod name. */
  name: string;
  /** `tls://host:port` of the scheduler (direct) or of the Dask port (through the SNI gateway). */
  schedulerAddress: string;
  /** Connect through the Dask port: send the cluster's SNI name (`--scheduler-sni`). */
  viaGateway: boolean;
}

/** One worker: `--no-nanny` (the hub replaces dead workers itself), threads = cores, memory limit in bytes. */
export function workerPod(c: ClusterWorkloadInput, w: WorkerPlacement): RetrievedPodData {
  const uid = randomUUID();
  // Workers get the pair only; the scheduler's HTTP token never leaves the scheduler pod.
  const secret: Secret = {
    metadata: { name: `dask-worker-credentials-${c.name}`, namespace: 'highrate' },
    data: { 'tls-cert': b64(c.tlsCert), 'tls-key': b64(c.tlsKey) },
    type: 'Opaque',
  };
  const where = w.viaGateway
    ? ['--scheduler-sni', `${SNI_PREFIX}${c.name}`]
    : ['--host', '127.0.0.1', '--dashboard-address', '127.0.0.1:0'];
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: w.name, namespace: 'highrate', uid, labels: { ...labels(c, 'dask-worker'), 'gateway.dask.org/worker': w.name } },
    spec: {
      restartPolicy: 'Never',
      securityContext: security(c).pod,
      containers: [{
        name: 'worker',
        securityContext: security(c).container,
        ...(c.spec.image ? { image: c.spec.image } : {}),
        command: [
          '/bin/sh', '-c', CREDENTIALS_WRAPPER, 'highrate-dask',
          c.clusters.python, '-m', 'distributed.cli.dask_worker', w.schedulerAddress,
          '--name', w.name, '--nthreads', String(c.spec.workerCores), '--memory-limit', String(c.spec.workerMemoryBytes),
          // No nanny: one process per pod, and the hub replaces dead workers. A worker that
          // cannot reach its scheduler for a minute exits, so none outlives its cluster.
          '--no-nanny', '--death-timeout', '60',
          ...where,
        ],
        env: [
          ...credentialEnv(secret.metadata.name),
          { name: 'DASK_DISTRIBUTED__WORKER__HTTP__ROUTES', value: JSON.stringify(WORKER_HTTP_ROUTES) },
          ...(c.clusters.workerProfiling ? [] : [{ name: 'DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED', value: 'False' }]),
          ...commonEnv(c),
        ],
        resources: {
          limits: { cpu: String(c.spec.workerCores), memory: c.spec.workerMemory },
          requests: { cpu: String(c.spec.workerCores), memory: c.spec.workerMemory },
        },
      }],
    },
  };
  return withStorage({ pod, container: [{ name: 'worker', configMaps: null, projectedvolumemaps: null, secrets: [secret], emptyDirs: null }] }, c);
}
