import { randomUUID } from 'node:crypto';
import type { Profile } from '../../config/schema.js';
import { restrictedSecurity, type UnixIdentity } from '../../executors/security.js';
import type { RetrievedPodData, Volume, VolumeMount } from '../../executors/types.js';
import { serverPath } from '../models.js';
import type { NotebookClusterAccess } from './cluster-access.js';
import type { ServerOptions } from './options.js';
import { accessScopes, oauthCallbackPath } from '../oauth/server-client.js';
import { NODE_IP, NODE_PORT, wrapForRemoteAddress } from './remote-address.js';

/**
 * The notebook server command when a profile names none: JupyterHub's own `jupyterhub-singleuser`
 * (Debian's `jupyterhub` package, over Debian's notebook server), which logs users in through the
 * hub's OAuth provider and reports activity, bound to `{ip}` (loopback here; on a batch node the
 * address facing the hub, see remote-address.ts). Found on PATH, so the same command works in
 * images (docker-stacks keep it in /opt/conda/bin). As JupyterHub's spawner, only the port and
 * address are arguments: base URL, root directory (JUPYTERHUB_ROOT_DIR) and the rest are variables,
 * and jupyterhub-singleuser never retries another port.
 */
export const SINGLEUSER_COMMAND = ['jupyterhub-singleuser', '--ip={ip}', '--port={port}'];

/**
 * Where `jupyterhub-singleuser` is not installed: Debian's plain `jupyter notebook`, reachable only
 * with the upstream token the proxy adds (JUPYTER_TOKEN), i.e. `auth: token`.
 */
export const PLAIN_NOTEBOOK_COMMAND = [
  '/usr/bin/python3', '-m', 'notebook',
  '--no-browser', '--allow-root',
  '--ip={ip}', '--port={port}', '--NotebookApp.port_retries=0',
  '--NotebookApp.base_url={base_url}',
  '--NotebookApp.allow_remote_access=True',
  '--notebook-dir={home}',
];

/**
 * How a server authenticates its users:
 * - `jupyterhub`: the server is JupyterHub-aware (`jupyterhub-singleuser` or an image running it)
 *   and checks every request with the hub itself (OAuth for browsers, `/hub/api/user` for tokens);
 *   the proxy passes the user's Authorization through unchanged, edge auth stays in front of it;
 * - `token`: the server knows only one token (JUPYTER_TOKEN) and the proxy, after its edge check,
 *   replaces the user's credential with it.
 * Unset, a profile's mode follows its command: `jupyterhub` for no command on an executor that runs
 * images (their default is a jupyterhub-singleuser image) or when the command runs
 * jupyterhub-singleuser, else `token`.
 */
export type ServerAuth = 'jupyterhub' | 'token';

export function serverAuthMode(profile: Pick<Profile, 'auth' | 'command'>, defaultCommand: readonly string[]): ServerAuth {
  if (profile.auth) return profile.auth;
  const command = profile.command ?? defaultCommand;
  return command.some((part) => /jupyterhub-singleuser|jupyterhub\.singleuser/.test(part)) ? 'jupyterhub' : 'token';
}

export interface NotebookWorkload {
  user: string;
  server: string;
  options: ServerOptions;
  profile: Profile;
  port: number;
  /** `token` mode: the token the proxy sends (JUPYTER_TOKEN); null in `jupyterhub` mode. */
  upstreamToken: string | null;
  /** The command when the profile names none (SINGLEUSER_COMMAND where installed). */
  defaultCommand: readonly string[];
  /** The server's own API token (JUPYTERHUB_API_TOKEN, its OAuth client secret) and client id. */
  hubCredentials: { apiToken: string; clientId: string };
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
  clusterAccess?: NotebookClusterAccess;
  /** Storage access (src/storage): the user's WLCG token directory, kept fresh by the hub, and its variables. */
  storage?: NotebookStorageAccess;
  /**
   * Set when the executor runs workloads where the hub cannot predict (remote-address.ts): the
   * command is wrapped to pick its address on the node and report it with this token.
   */
  remote?: { hubApiUrl: string; token: string; python?: string };
}

/**
 * What a notebook pod gets for storage: a host directory holding the user's WLCG bearer token
 * file, mounted read-only (the hub rewrites the file in place before it expires, and a directory
 * mount shows the new file), and BEARER_TOKEN_FILE pointing at it.
 */
export interface NotebookStorageAccess {
  hostDir: string;
  /** Where the pod sees `hostDir` (the host path itself where volumes are not moved). */
  mountPath: string;
  env: Array<{ name: string; value: string }>;
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
  const filled = fillCommand(w.profile.command ?? w.defaultCommand, {
    ip: w.remote ? NODE_IP : '127.0.0.1', port: w.remote ? NODE_PORT : String(w.port), base_url: baseUrl, home, user: w.user, server: w.server,
  });
  const command = w.remote ? wrapForRemoteAddress(filled, w.remote.python) : filled;
  // The token the proxy sends is a file where the executor can place one, else a variable.
  const tokenFile = w.upstreamToken !== null && w.mountPaths;
  const tokenEnv = tokenFile ? [{ name: 'JUPYTER_TOKEN_FILE', value: `${CREDENTIALS_DIR}/jupyter-token` }] : [];
  const hubApi = `${w.publicUrl}/hub/api`;
  const access = JSON.stringify(accessScopes(w.user, w.server));
  const volumeMounts: VolumeMount[] = [
    { name: 'home', mountPath: home },
    ...(tokenFile ? [{ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true }] : []),
    ...libs.map((l) => ({ name: l.name, mountPath: l.mountPath, readOnly: true })),
    ...(w.storage ? [{ name: 'wlcg-token', mountPath: w.storage.mountPath, readOnly: true }] : []),
  ];
  const volumes: Volume[] = [
    { name: 'home', hostPath: { path: w.homeDir, type: 'DirectoryOrCreate' } },
    ...(tokenFile ? [{ name: 'credentials', secret: { secretName: `${secretName}-files`, defaultMode: 0o400 } }] : []),
    ...libs.map((l) => ({ name: l.name, hostPath: { path: l.hostPath, type: 'Directory' } })),
    ...(w.storage ? [{ name: 'wlcg-token', hostPath: { path: w.storage.hostDir, type: 'Directory' } }] : []),
  ];
  const security = restrictedSecurity(w.identity, w.profile.securityContext);
  const env = [
    { name: 'HOME', value: home },
    { name: 'USER', value: w.user },
    { name: 'JUPYTERHUB_USER', value: w.user },
    { name: 'JUPYTERHUB_SERVER_NAME', value: w.server },
    { name: 'JUPYTERHUB_SERVICE_PREFIX', value: baseUrl },
    { name: 'JUPYTERHUB_SERVICE_URL', value: `http://127.0.0.1:${w.port}${baseUrl}` },
    { name: 'JUPYTERHUB_API_URL', value: hubApi },
    // JupyterHub 4's spawner environment, same names and meaning (spawner.py get_env).
    { name: 'JUPYTERHUB_ACTIVITY_URL', value: `${hubApi}/users/${encodeURIComponent(w.user)}/activity` },
    { name: 'JUPYTERHUB_BASE_URL', value: '/' },
    { name: 'JUPYTERHUB_HOST', value: '' },
    { name: 'JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED', value: '0' },
    { name: 'JUPYTERHUB_CLIENT_ID', value: w.hubCredentials.clientId },
    { name: 'JUPYTERHUB_OAUTH_CALLBACK_URL', value: oauthCallbackPath(w.user, w.server) },
    { name: 'JUPYTERHUB_OAUTH_SCOPES', value: access },
    { name: 'JUPYTERHUB_OAUTH_ACCESS_SCOPES', value: access },
    { name: 'JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES', value: '[]' },
    { name: 'JUPYTERHUB_ROOT_DIR', value: home },
    ...(w.remote ? [{ name: 'HIGHRATE_CALLBACK_URL', value: `${w.remote.hubApiUrl}/workloads/${uid}/address` }] : [{ name: 'HIGHRATE_PORT', value: String(w.port) }]),
    { name: 'CPU_LIMIT', value: String(w.options.cores) },
    { name: 'MEM_LIMIT', value: w.options.memory },
    ...tokenEnv,
    ...(w.clusterAccess?.env ?? []),
    ...(w.storage?.env ?? []),
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
  const files = { metadata: { name: `${secretName}-files`, namespace: 'highrate' }, data: { 'jupyter-token': b64(w.upstreamToken ?? '') }, type: 'Opaque' };
  const secret = {
    metadata: { name: secretName, namespace: 'highrate' },
    data: {
      ...(w.upstreamToken !== null && !w.mountPaths ? { JUPYTER_TOKEN: b64(w.upstreamToken) } : {}),
      JUPYTERHUB_API_TOKEN: b64(w.hubCredentials.apiToken),
      // JupyterHub still sets the pre-0.7.2 name for old single-user servers.
      JPY_API_TOKEN: b64(w.hubCredentials.apiToken),
      ...(w.remote ? { HIGHRATE_CALLBACK_TOKEN: Buffer.from(w.remote.token).toString('base64') } : {}),
    },
    type: 'Opaque',
  };
  return {
    pod,
    container: [{ name: 'notebook', configMaps: null, projectedvolumemaps: null, secrets: tokenFile ? [secret, files] : [secret], emptyDirs: null }],
  };
}
