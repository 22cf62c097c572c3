import { randomUUID } from 'node:crypto';
import type { Profile } from '../../config/schema.js';
import { restrictedSecurity, type UnixIdentity } from '../../executors/security.js';
import type { RetrievedPodData, Volume, VolumeMount } from '../../executors/types.js';
import { serverPath } from '../models.js';
import type { NotebookClusterAccess } from './cluster-access.js';
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
  /** The user's persistent home on this host (a hostPath volume). */
  homeDir: string;
  /** Who the pod runs as (the user's own uid: hub/unix-users.ts). */
  identity: UnixIdentity;
  /**
   * The executor puts volumes at their mountPath: the home is then /home/<user> and the token a
   * file. Otherwise (host processes) the home keeps its host path and the token is a variable.
   */
  mountPaths: boolean;
  publicUrl: string;
  /** Dask access for the notebook (clusters/notebook-env.ts): variables, secret variables, Python modules. */
  clusterAccess?: Omit<NotebookClusterAccess, 'tokenId'>;
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

/** Where secret files appear in a notebook pod (a Secret volume; Jupyter reads JUPYTER_TOKEN_FILE). */
export const CREDENTIALS_DIR = '/run/highrate';
/** Where the Python modules of `clusterAccess.pythonPath` appear, in order (…/0, …/1). */
export const PYTHON_LIB_DIR = '/opt/highrate/python';

/** Builds the pod that runs one user's notebook server. */
export function notebookPod(w: NotebookWorkload): RetrievedPodData {
  const uid = randomUUID();
  const baseUrl = serverPath(w.user, w.server);
  const secretName = `notebook-${uid}`;
  const home = w.mountPaths ? `/home/${w.user}` : w.homeDir;
  const libs = (w.clusterAccess?.pythonPath ?? []).map((hostPath, i) => ({ name: `highrate-lib-${i}`, hostPath, mountPath: w.mountPaths ? `${PYTHON_LIB_DIR}/${i}` : hostPath }));
  // On a remote node the wrapper fills {ip} and {port} once it has picked them.
  const filled = fillCommand(w.profile.command ?? DEFAULT_NOTEBOOK_COMMAND, {
    ip: w.remote ? NODE_IP : '127.0.0.1', port: w.remote ? NODE_PORT : String(w.port), base_url: baseUrl, home, user: w.user, server: w.server,
  });
  const command = w.remote ? wrapForRemoteAddress(filled) : filled;
  // The token the proxy sends is a file where the executor can place one, else a variable.
  const tokenEnv = w.mountPaths ? [{ name: 'JUPYTER_TOKEN_FILE', value: `${CREDENTIALS_DIR}/jupyter-token` }] : [];
  const volumeMounts: VolumeMount[] = [
    { name: 'home', mountPath: home },
    ...(w.mountPaths ? [{ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true }] : []),
    ...libs.map((l) => ({ name: l.name, mountPath: l.mountPath, readOnly: true })),
  ];
  const volumes: Volume[] = [
    { name: 'home', hostPath: { path: w.homeDir, type: 'DirectoryOrCreate' } },
    ...(w.mountPaths ? [{ name: 'credentials', secret: { secretName: `${secretName}-files`, defaultMode: 0o400 } }] : []),
    ...libs.map((l) => ({ name: l.name, hostPath: { path: l.hostPath, type: 'Directory' } })),
  ];
  const security = restrictedSecurity(w.identity, w.profile.securityContext);
  const env = [
    { name: 'HOME', value: home },
    { name: 'USER', value: w.user },
    { name: 'JUPYTERHUB_USER', value: w.user },
    { name: 'JUPYTERHUB_SERVER_NAME', value: w.server },
    { name: 'JUPYTERHUB_SERVICE_PREFIX', value: baseUrl },
    { name: 'JUPYTERHUB_SERVICE_URL', value: `http://127.0.0.1:${w.port}${baseUrl}` },
    { name: 'JUPYTERHUB_API_URL', value: `${w.publicUrl}/hub/api` },
    ...(w.remote ? [{ name: 'HIGHRATE_CALLBACK_URL', value: `${w.remote.hubApiUrl}/workloads/${uid}/address` }] : [{ name: 'HIGHRATE_PORT', value: String(w.port) }]),
    { name: 'CPU_LIMIT', value: String(w.options.cores) },
    { name: 'MEM_LIMIT', value: w.options.memory },
    ...tokenEnv,
    ...(w.clusterAccess?.env ?? []),
    ...(libs.length ? [
      { name: 'PYTHONPATH', value: libs.map((l) => l.mountPath).join(':') },
      // The modules come from the installed package: leave no __pycache__ in it.
      { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
    ] : []),
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
      securityContext: security.pod,
      containers: [{
        name: 'notebook',
        ...(w.options.image ? { image: w.options.image } : {}),
        command,
        workingDir: home,
        env,
        envFrom: [{ secretRef: { name: secretName } }],
        securityContext: security.container,
        resources: {
          limits: { cpu: String(w.options.cores), memory: w.options.memory },
          requests: { cpu: String(w.options.cores), memory: w.options.memory },
        },
        volumeMounts,
        ...(w.remote ? {} : { ports: [{ containerPort: w.port, name: 'notebook' }] }),
      }],
      volumes,
    },
  };
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const files = { metadata: { name: `${secretName}-files`, namespace: 'highrate' }, data: { 'jupyter-token': b64(w.upstreamToken) }, type: 'Opaque' };
  const secret = {
    metadata: { name: secretName, namespace: 'highrate' },
    data: {
      ...(w.mountPaths ? {} : { JUPYTER_TOKEN: b64(w.upstreamToken) }),
      ...(w.remote ? { HIGHRATE_CALLBACK_TOKEN: Buffer.from(w.remote.token).toString('base64') } : {}),
      ...Object.fromEntries(Object.entries(w.clusterAccess?.secretEnv ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    },
    type: 'Opaque',
  };
  return {
    pod,
    container: [{ name: 'notebook', configMaps: null, projectedvolumemaps: null, secrets: w.mountPaths ? [secret, files] : [secret], emptyDirs: null }],
  };
}
