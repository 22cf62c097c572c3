import { randomUUID } from 'node:crypto';
import type { Profile } from '../../config/schema.js';
import type { RetrievedPodData } from '../../executors/types.js';
import { serverPath } from '../models.js';
import type { ServerOptions } from './options.js';

/**
 * The notebook server command when a profile names none: Debian's `jupyter notebook` (6.x), bound
 * to loopback, reachable only with the upstream token the proxy adds (JUPYTER_TOKEN).
 * `port_retries=0`: a taken port fails the start instead of silently moving elsewhere.
 */
export const DEFAULT_NOTEBOOK_COMMAND = [
  '/usr/bin/python3', '-m', 'notebook',
  '--no-browser', '--allow-root',
  '--ip=127.0.0.1', '--port={port}', '--NotebookApp.port_retries=0',
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
}

/** Fills `{port}`, `{base_url}`, `{home}`, `{user}`, `{server}` in a command template. */
export function fillCommand(template: readonly string[], values: Record<string, string>): string[] {
  return template.map((part) => part.replace(/\{(port|base_url|home|user|server)\}/g, (_, k: string) => values[k]!));
}

/** Builds the pod that runs one user's notebook server. */
export function notebookPod(w: NotebookWorkload): RetrievedPodData {
  const uid = randomUUID();
  const baseUrl = serverPath(w.user, w.server);
  const secretName = `notebook-${uid}`;
  const command = fillCommand(w.profile.command ?? DEFAULT_NOTEBOOK_COMMAND, {
    port: String(w.port), base_url: baseUrl, home: w.homeDir, user: w.user, server: w.server,
  });
  const env = [
    { name: 'HOME', value: w.homeDir },
    { name: 'JUPYTERHUB_USER', value: w.user },
    { name: 'JUPYTERHUB_SERVER_NAME', value: w.server },
    { name: 'JUPYTERHUB_SERVICE_PREFIX', value: baseUrl },
    { name: 'JUPYTERHUB_SERVICE_URL', value: `http://127.0.0.1:${w.port}${baseUrl}` },
    { name: 'JUPYTERHUB_API_URL', value: `${w.publicUrl}/hub/api` },
    { name: 'HIGHRATE_PORT', value: String(w.port) },
    { name: 'CPU_LIMIT', value: String(w.options.cores) },
    { name: 'MEM_LIMIT', value: w.options.memory },
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
        volumeMounts: [{ name: 'home', mountPath: w.homeDir }],
        ports: [{ containerPort: w.port, name: 'notebook' }],
      }],
      volumes: [{ name: 'home', hostPath: { path: w.homeDir, type: 'DirectoryOrCreate' } }],
    },
  };
  const secret = {
    metadata: { name: secretName, namespace: 'highrate' },
    data: { JUPYTER_TOKEN: Buffer.from(w.upstreamToken).toString('base64') },
    type: 'Opaque',
  };
  return {
    pod,
    container: [{ name: 'notebook', configMaps: null, projectedvolumemaps: null, secrets: [secret], emptyDirs: null }],
  };
}
