import { randomUUID } from 'node:crypto';
import type { Profile } from '../../config/schema.js';
import type { RetrievedPodData } from '../../executors/types.js';
import { serverPath } from '../models.js';
import type { ServerOptions } from './options.js';
import { NODE_IP, NODE_PORT, wrapForRemoteAddress } from './remote-address.js';

/**
 * The notebook server command when a profile names none: Debian's `jupyter notebook` (6.x), bound
 * to `{ip}` (loopback here; on a batch node the address facing the hub, see remote-address.ts),
 * reachable only with the upstream token the proxy adds (JUPYTER_TOKEN).
 * `port_retries=0`: a taken port fails the start instead of silently moving elsewhere.
 */
export const DEFAULT_NOTEBOOK_COMMAND = [
  '/usr/bin/python3', '-m', 'notebook',
  '--no-browser', '--allow-root',
  '--ip={ip}', '--port={port}', '--NotebookApp.port_retries=0',
  '--NotebookApp.base_url={base_url}',
  '--NotebookApp.allow_remote_access=True',
  '--notebook-dir={home}',
];

export interface NotebookWorkload {
  user: string;
  server: string;
  options: ServerOptions;
  profile: Profile;
  port: number;
  upstreamToken: string;
  /** The user's persistent home on this host; mounted at the same path. */
  homeDir: string;
  publicUrl: string;
  /** Dask clusters from the notebook (src/clusters/notebook-env.ts): variables, and secret ones. */
  /** Dask access for the notebook: variables, secret variables, and read-only host directories it needs (highrate_dask). */
  clusterAccess?: { env: Array<{ name: string; value: string }>; secretEnv: Record<string, string>; hostDirs?: string[] };
  /**
   * Set when the executor runs workloads where the hub cannot predict (remote-address.ts): the
   * command is wrapped to pick its address on the node and report it with this token.
   */
  remote?: { hubApiUrl: string; token: string };
}

/** Fills `{ip}`, `{port}`, `{base_url}`, `{home}`, `{user}`, `{server}` in a command template. */
export function fillCommand(template: readonly string[], values: Record<string, string>): string[] {
  return template.map((part) => part.replace(/\{(ip|port|base_url|home|user|server)\}/g, (_, k: string) => values[k]!));
}

/** Builds the pod that runs one user's notebook server. */
export function notebookPod(w: NotebookWorkload): RetrievedPodData {
  const uid = randomUUID();
  const baseUrl = serverPath(w.user, w.server);
  const secretName = `notebook-${uid}`;
  const extraDirs = w.clusterAccess?.hostDirs ?? [];
  // On a remote node the wrapper fills {ip} and {port} once it has picked them.
  const filled = fillCommand(w.profile.command ?? DEFAULT_NOTEBOOK_COMMAND, {
    ip: w.remote ? NODE_IP : '127.0.0.1', port: w.remote ? NODE_PORT : String(w.port), base_url: baseUrl, home: w.homeDir, user: w.user, server: w.server,
  });
  const command = w.remote ? wrapForRemoteAddress(filled) : filled;
  const env = [
    { name: 'HOME', value: w.homeDir },
    { name: 'JUPYTERHUB_USER', value: w.user },
    { name: 'JUPYTERHUB_SERVER_NAME', value: w.server },
    { name: 'JUPYTERHUB_SERVICE_PREFIX', value: baseUrl },
    { name: 'JUPYTERHUB_SERVICE_URL', value: `http://127.0.0.1:${w.port}${baseUrl}` },
    { name: 'JUPYTERHUB_API_URL', value: `${w.publicUrl}/hub/api` },
    ...(w.remote ? [{ name: 'HIGHRATE_CALLBACK_URL', value: `${w.remote.hubApiUrl}/workloads/${uid}/address` }] : [{ name: 'HIGHRATE_PORT', value: String(w.port) }]),
    { name: 'CPU_LIMIT', value: String(w.options.cores) },
    { name: 'MEM_LIMIT', value: w.options.memory },
    ...(w.clusterAccess?.env ?? []),
    ...Object.entries(w.profile.env).map(([name, value]) => ({ name, value })),
  ];
  const pod: RetrievedPodData['pod'] = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `jupyter-${w.user}${w.server ? '-' + w.server : ''}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-'),
      namespace: 'highrate',
      uid,
      labels: {
        'app.kubernetes.io/managed-by': 'highrate',
        'app.kubernetes.io/component': 'singleuser-server',
        'hub.jupyter.org/username': w.user,
        'hub.jupyter.org/servername': w.server,
        'highrate.io/profile': w.profile.name,
      },
    },
    spec: {
      restartPolicy: 'Never',
      containers: [{
        name: 'notebook',
        ...(w.options.image ? { image: w.options.image } : {}),
        command,
        workingDir: w.homeDir,
        env,
        envFrom: [{ secretRef: { name: secretName } }],
        resources: {
          limits: { cpu: String(w.options.cores), memory: w.options.memory },
          requests: { cpu: String(w.options.cores), memory: w.options.memory },
        },
        // Host directories at their own paths: the sandbox hides /tmp and the data dir, where they may live.
        volumeMounts: [{ name: 'home', mountPath: w.homeDir }, ...extraDirs.map((path, i) => ({ name: `highrate-lib-${i}`, mountPath: path, readOnly: true }))],
        ...(w.remote ? {} : { ports: [{ containerPort: w.port, name: 'notebook' }] }),
      }],
      volumes: [{ name: 'home', hostPath: { path: w.homeDir, type: 'DirectoryOrCreate' } }, ...extraDirs.map((path, i) => ({ name: `highrate-lib-${i}`, hostPath: { path, type: 'Directory' } }))],
    },
  };
  const secret = {
    metadata: { name: secretName, namespace: 'highrate' },
    data: {
      JUPYTER_TOKEN: Buffer.from(w.upstreamToken).toString('base64'),
      ...(w.remote ? { HIGHRATE_CALLBACK_TOKEN: Buffer.from(w.remote.token).toString('base64') } : {}),
      ...Object.fromEntries(Object.entries(w.clusterAccess?.secretEnv ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    },
    type: 'Opaque',
  };
  return {
    pod,
    container: [{ name: 'notebook', configMaps: null, projectedvolumemaps: null, secrets: [secret], emptyDirs: null }],
  };
}
