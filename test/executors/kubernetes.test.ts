import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigMap as KmConfigMap, Pod as KmPod, Secret as KmSecret } from 'kubernetes-models/v1';
import { DEFAULT_PROFILE } from '../../src/config/load.js';
import { conformancePod, readAll, shContainer } from '../../src/executors/conformance/index.js';
import { buildManifests, KubernetesExecutor, LABEL_UID, podName, type ManifestOptions } from '../../src/executors/kubernetes/index.js';
import type { Pod, RetrievedPodData } from '../../src/executors/types.js';
import { notebookPod, SINGLEUSER_COMMAND } from '../../src/hub/servers/workload.js';
import { wrapperPython } from '../../src/hub/servers/remote-address.js';

/**
 * The Kubernetes executor without a cluster: the manifests it builds are validated against the
 * Kubernetes OpenAPI schema (kubernetes-models), and the executor runs against a tiny fake API
 * server (node:http answering the REST paths @kubernetes/client-node calls, recording every
 * request), which proves the client calls and the mapping of pod status JSON to PodStatus.
 * Nothing here proves behaviour of a real API server, scheduler or kubelet.
 */

const OPTS: ManifestOptions = { namespace: 'analysis', executor: 'k8s', defaultImage: 'quay.io/jupyter/base-notebook:2024-12-02', hostPath: 'emptyDir' };

/** Validates with the OpenAPI-generated models; throws naming the first schema violation. */
function validate(m: ReturnType<typeof buildManifests>): void {
  new KmPod(m.pod as never).validate();
  for (const s of m.secrets) new KmSecret(s as never).validate();
  for (const c of m.configMaps) new KmConfigMap(c as never).validate();
}

function notebook(user: string): RetrievedPodData {
  return notebookPod({
    user, server: '', options: { profile: 'default', cores: 2, memory: '4G' }, profile: DEFAULT_PROFILE,
    port: 8888, upstreamToken: `upstream-token-of-${user}`, homeDir: `/home/${user}`, identity: { uid: 200001, gid: 200001 }, mountPaths: true, publicUrl: 'https://hub.example.org',
    defaultCommand: SINGLEUSER_COMMAND, hubCredentials: { apiToken: `api-token-of-${user}`, clientId: `jupyterhub-user-${user}` },
    remote: { hubApiUrl: 'https://hub.example.org/hub/api', token: `callback-token-of-${user}` },
  });
}

describe('manifests', () => {
  test('a jupyterhub-singleuser server (the default on Kubernetes): the image\'s python3 runs the address wrapper, the command is found on its PATH, JupyterHub\'s variables, its API token only in the Secret', () => {
    const data = notebookPod({
      user: 'alice', server: 'gpu', options: { profile: 'default', cores: 1, memory: '1G' }, profile: DEFAULT_PROFILE,
      port: 8888, upstreamToken: null, homeDir: '/home/alice', identity: { uid: 200001, gid: 200001 }, mountPaths: true, publicUrl: 'https://hub.example.org',
      defaultCommand: SINGLEUSER_COMMAND, hubCredentials: { apiToken: 'server-api-token', clientId: 'jupyterhub-user-alice-gpu' },
      remote: { hubApiUrl: 'https://hub.example.org/hub/api', token: 'callback-token', python: wrapperPython(true) },
    });
    const m = buildManifests(data, OPTS);
    validate(m);
    const c = m.pod.spec!.containers[0]!;
    assert.deepEqual(c.command!.slice(0, 2), ['python3', '-c']);
    assert.deepEqual(c.command!.slice(3), ['jupyterhub-singleuser', '--ip={ip}', '--port={port}']);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice-gpu');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/gpu/oauth_callback');
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/gpu/');
    assert.equal(env.JUPYTERHUB_ACTIVITY_URL, 'https://hub.example.org/hub/api/users/alice/activity');
    assert.equal(env.JUPYTERHUB_ROOT_DIR, '/home/alice');
    assert.deepEqual(c.volumeMounts!.map((v) => v.mountPath), ['/tmp', '/home/alice'], 'no token file to mount');
    assert.equal(m.secrets.length, 1);
    assert.deepEqual(Object.keys(m.secrets[0]!.data!).sort(), ['HIGHRATE_CALLBACK_TOKEN', 'JPY_API_TOKEN', 'JUPYTERHUB_API_TOKEN']);
    assert.equal(Buffer.from(m.secrets[0]!.data!.JUPYTERHUB_API_TOKEN!, 'base64').toString(), 'server-api-token');
    assert.ok(!JSON.stringify(m.pod).includes('server-api-token'), 'the token is not in the pod spec');
  });

  test('a user notebook pod: valid, its restricted securityContext carried, a writable /tmp, resources, its Secrets as per-pod copies referenced, never inlined', () => {
    const data = notebook('alice');
    const m = buildManifests(data, OPTS);
    validate(m);
    const spec = m.pod.spec!;
    assert.equal(m.pod.metadata!.namespace, 'analysis');
    assert.equal(m.pod.metadata!.name, podName(data.pod.metadata.name, data.pod.metadata.uid));
    assert.equal(m.pod.metadata!.labels![LABEL_UID], data.pod.metadata.uid);
    assert.equal(m.pod.metadata!.labels!['highrate.io/executor'], 'k8s');
    assert.equal(m.pod.metadata!.labels!['hub.jupyter.org/username'], 'alice');
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    // The hub's restricted context (security.ts restrictedSecurity) with alice's uid, exactly.
    assert.deepEqual(spec.securityContext, { runAsUser: 200001, runAsGroup: 200001, runAsNonRoot: true, fsGroup: 200001, seccompProfile: { type: 'RuntimeDefault' } });
    const c = spec.containers[0]!;
    assert.equal(c.image, 'quay.io/jupyter/base-notebook:2024-12-02');
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(c.resources, { limits: { cpu: '2', memory: '4G' }, requests: { cpu: '2', memory: '4G' } });
    // The home hostPath becomes an emptyDir under this policy, and the pod says so; the read-only
    // root gets an emptyDir at /tmp, mounted first.
    const files = m.secrets.find((x) => x.data?.['jupyter-token']);
    const env = m.secrets.find((x) => x !== files);
    assert.deepEqual(spec.volumes, [
      { name: 'home', emptyDir: {} },
      { name: 'credentials', secret: { secretName: files!.metadata!.name, defaultMode: 0o400 } },
      { name: 'highrate-tmp-0', emptyDir: {} },
    ]);
    assert.deepEqual(c.volumeMounts, [
      { name: 'highrate-tmp-0', mountPath: '/tmp' },
      { name: 'home', mountPath: '/home/alice' },
      { name: 'credentials', mountPath: '/run/highrate', readOnly: true },
    ]);
    assert.deepEqual(m.notes, ['hostPath volume "home" (/home/alice) replaced by an emptyDir: its files are not kept']);
    // The Secrets: copies named after this pod, referenced by envFrom and the volume; their values appear nowhere else.
    assert.equal(m.secrets.length, 2);
    for (const s of m.secrets) {
      assert.match(s.metadata!.name!, new RegExp(`^${m.pod.metadata!.name}-secret-[0-9a-f]{10}$`));
      assert.equal(s.type, 'Opaque');
    }
    assert.equal(Buffer.from(files!.data!['jupyter-token']!, 'base64').toString(), 'upstream-token-of-alice');
    assert.equal(Buffer.from(env!.data!.HIGHRATE_CALLBACK_TOKEN!, 'base64').toString(), 'callback-token-of-alice');
    assert.deepEqual(c.envFrom, [{ secretRef: { name: env!.metadata!.name } }]);
    const podJson = JSON.stringify(m.pod);
    for (const v of ['upstream-token-of-alice', 'callback-token-of-alice', files!.data!['jupyter-token']!]) assert.ok(!podJson.includes(v), `the pod manifest does not carry ${v}`);
  });

  test('a pod without securityContext: the executor\'s floor (non-root, RuntimeDefault, no escalation, no capabilities), no /tmp volume', () => {
    const m = buildManifests(conformancePod('bare', { containers: [shContainer('main', 'busybox:1.36', 'true')] }), OPTS);
    validate(m);
    assert.deepEqual(m.pod.spec!.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(m.pod.spec!.containers[0]!.securityContext, { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] } });
    assert.equal(m.pod.spec!.volumes, undefined);
    assert.equal(m.pod.spec!.containers[0]!.volumeMounts, undefined);
    assert.deepEqual(m.notes, []);
  });

  test('securityContext: the pod\'s fields carried, container over pod; options are defaults that only tighten', () => {
    const data = conformancePod('sec', {
      securityContext: { runAsUser: 5000, runAsGroup: 5001, runAsNonRoot: false, fsGroup: 5002, supplementalGroups: [7, 8], seccompProfile: { type: 'RuntimeDefault' } },
      volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'highrate-tmp-0', emptyDir: {} }],
      initContainers: [shContainer('init', 'busybox:1.36', 'true', { securityContext: { readOnlyRootFilesystem: true } })],
      containers: [
        shContainer('main', 'busybox:1.36', 'true', {
          securityContext: {
            runAsUser: 6000, runAsGroup: 6001, runAsNonRoot: false, allowPrivilegeEscalation: true, privileged: false,
            capabilities: { add: ['CAP_NET_BIND_SERVICE'], drop: ['NET_RAW'] }, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' },
          },
        }),
        // Its own /tmp volume: no second one.
        shContainer('side', 'busybox:1.36', 'true', { securityContext: { readOnlyRootFilesystem: true }, volumeMounts: [{ name: 'scratch', mountPath: '/tmp/' }] }),
        shContainer('plain', 'busybox:1.36', 'true', { securityContext: { readOnlyRootFilesystem: false } }),
      ],
    });
    const m = buildManifests(data, { ...OPTS, runAsNonRoot: true, runAsUser: 1000, runAsGroup: 100, fsGroup: 100 });
    validate(m);
    const spec = m.pod.spec!;
    assert.deepEqual(spec.securityContext, { runAsUser: 5000, runAsGroup: 5001, runAsNonRoot: true, fsGroup: 5002, supplementalGroups: [7, 8], seccompProfile: { type: 'RuntimeDefault' } });
    const [main, side, plain] = spec.containers;
    assert.deepEqual(main!.securityContext, {
      runAsUser: 6000, runAsGroup: 6001, runAsNonRoot: true, allowPrivilegeEscalation: false, privileged: false,
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(side!.securityContext, { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    assert.deepEqual(plain!.securityContext, { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: false });
    // /tmp: one emptyDir per read-only container without its own, named clear of the pod's volumes.
    assert.deepEqual(spec.volumes!.map((v) => v.name), ['scratch', 'highrate-tmp-0', 'highrate-tmp-1', 'highrate-tmp-2']);
    assert.deepEqual(spec.initContainers![0]!.volumeMounts, [{ name: 'highrate-tmp-1', mountPath: '/tmp' }]);
    assert.deepEqual(main!.volumeMounts, [{ name: 'highrate-tmp-2', mountPath: '/tmp' }]);
    assert.deepEqual(side!.volumeMounts, [{ name: 'scratch', mountPath: '/tmp/' }]);
    assert.equal(plain!.volumeMounts, undefined);
    assert.deepEqual(m.notes, [
      'container "init": runAsNonRoot false not honoured (this executor runs no container as root)',
      'container "main": allowPrivilegeEscalation true not honoured (containers never gain privileges here)',
      'container "main": runAsNonRoot false not honoured (this executor runs no container as root)',
      'container "side": runAsNonRoot false not honoured (this executor runs no container as root)',
      'container "plain": runAsNonRoot false not honoured (this executor runs no container as root)',
    ]);
    // Options fill what the pod leaves unset.
    const bare = buildManifests(conformancePod('opts', { containers: [shContainer('main', 'busybox:1.36', 'true')] }), { ...OPTS, runAsUser: 1000, runAsGroup: 100, fsGroup: 100 });
    assert.deepEqual(bare.pod.spec!.securityContext, { runAsUser: 1000, runAsGroup: 100, runAsNonRoot: true, fsGroup: 100, seccompProfile: { type: 'RuntimeDefault' } });
    // Without the runAsNonRoot option the pod's own choice stands.
    const rootOk = buildManifests(data, { ...OPTS, runAsNonRoot: false });
    assert.deepEqual(rootOk.pod.spec!.securityContext, { runAsUser: 5000, runAsGroup: 5001, fsGroup: 5002, supplementalGroups: [7, 8], seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(rootOk.pod.spec!.containers[0]!.securityContext!.runAsNonRoot, false);
  });

  test('securityContext refused before anything is sent: privileged, added capabilities, Unconfined/Localhost seccomp, root under runAsNonRoot; junk is BAD_REQUEST', () => {
    const pod = (container: object, podLevel: object = {}) => conformancePod('refused', { securityContext: podLevel as never, containers: [shContainer('main', 'busybox:1.36', 'true', { securityContext: container as never })] });
    const refused = (data: ReturnType<typeof pod>, message: string, o: Partial<ManifestOptions> = {}) =>
      assert.throws(() => buildManifests(data, { ...OPTS, ...o }), { code: 'POD_SECURITY_UNENFORCEABLE', message });
    refused(pod({ privileged: true }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: privileged containers are not allowed.');
    refused(pod({ capabilities: { add: ['SYS_ADMIN', 'NET_BIND_SERVICE'] } }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: capabilities.add SYS_ADMIN: only NET_BIND_SERVICE may be added.');
    refused(pod({}, { seccompProfile: { type: 'Unconfined' } }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: seccompProfile Unconfined: every container runs with the RuntimeDefault filter here.');
    refused(pod({ seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: seccompProfile Localhost (profiles/audit.json): only RuntimeDefault is supported.');
    refused(pod({ runAsUser: 0 }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: containers may not run as root (uid 0) here; runAsNonRoot is set but the container would run as uid 0.');
    refused(pod({}), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: containers may not run as root (uid 0) here; runAsNonRoot is set but the container would run as uid 0.', { runAsUser: 0 });
    // Root where the executor allows it (runAsNonRoot: false) and the pod does not forbid it.
    assert.equal(buildManifests(pod({ runAsUser: 0 }), { ...OPTS, runAsNonRoot: false }).pod.spec!.containers[0]!.securityContext!.runAsUser, 0);
    refused(pod({ runAsUser: 0, runAsNonRoot: true }), 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: runAsNonRoot is set but the container would run as uid 0.', { runAsNonRoot: false });
    assert.throws(() => buildManifests(pod({ runAsUser: 'alice' }), OPTS), { code: 'BAD_REQUEST', message: /runAsUser of container "main"/ });
    assert.throws(() => buildManifests(pod({ privileged: true, allowPrivilegeEscalation: false }), OPTS), { code: 'BAD_REQUEST', message: /privileged/ });
  });

  test('two users\' pods never refer to each other\'s Secrets', () => {
    const a = buildManifests(notebook('alice'), OPTS);
    const b = buildManifests(notebook('bob'), OPTS);
    const aNames = a.secrets.map((s) => s.metadata!.name!);
    const bJson = JSON.stringify(b);
    for (const n of aNames) assert.ok(!bJson.includes(n), `bob's manifests do not mention ${n}`);
    assert.ok(!bJson.includes('upstream-token-of-alice'));
  });

  test('ConfigMap/Secret volumes with items, env refs, identity fieldRefs, init containers, projected maps: valid', () => {
    const data = conformancePod('objects', {
      volumes: [
        { name: 'config', configMap: { name: 'app-config', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
        { name: 'creds', secret: { secretName: 'db', defaultMode: 0o400 } },
        { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
        { name: 'kube-api-access', projected: { sources: [] } },
      ],
      initContainers: [shContainer('prepare', 'busybox:1.36', 'echo init')],
      containers: [shContainer('main', 'busybox:1.36', 'env', {
        env: [
          { name: 'PLAIN', value: 'x' },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        ],
        envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CM_' }],
        volumeMounts: [{ name: 'config', mountPath: '/etc/app' }, { name: 'creds', mountPath: '/run/creds', readOnly: true }, { name: 'scratch', mountPath: '/scratch' }, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        resources: { limits: { cpu: '500m', memory: '128Mi', 'nvidia.com/gpu': '1' } },
        ports: [{ containerPort: 8787, name: 'dashboard' }],
      })],
    }, {
      configMaps: [{ metadata: { name: 'app-config' }, data: { 'app.conf': 'k = v\n', greeting: 'hi' } }],
      secrets: [{ metadata: { name: 'db' }, data: { password: Buffer.from('pw').toString('base64') }, type: 'kubernetes.io/service-account-token' }],
    });
    data.container![1]!.projectedvolumemaps = [{ metadata: { name: 'kube-api-access' }, data: { token: 'eyJ...', 'ca.crt': 'PEM', namespace: 'default' } }];
    const m = buildManifests(data, OPTS);
    validate(m);
    const c = m.pod.spec!.containers[0]!;
    const cm = m.configMaps.find((x) => x.metadata!.name!.includes('-cm-'))!;
    const proj = m.configMaps.find((x) => x.metadata!.name!.includes('-proj-'))!;
    const sec = m.secrets[0]!;
    assert.equal(sec.type, 'Opaque', 'a copied Secret is never a service-account token');
    assert.deepEqual(c.env, [
      { name: 'PLAIN', value: 'x' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: sec.metadata!.name, key: 'password' } } },
      { name: 'GREETING', valueFrom: { configMapKeyRef: { name: cm.metadata!.name, key: 'greeting' } } },
      { name: 'POD_NAME', value: data.pod.metadata.name },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
    assert.deepEqual(m.pod.spec!.volumes, [
      { name: 'config', configMap: { name: cm.metadata!.name, items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
      { name: 'creds', secret: { secretName: sec.metadata!.name, defaultMode: 0o400 } },
      { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
      { name: 'kube-api-access', configMap: { name: proj.metadata!.name, items: [{ key: 'f0', path: 'token' }, { key: 'f1', path: 'ca.crt' }, { key: 'f2', path: 'namespace' }] } },
    ]);
    assert.deepEqual(proj.data, { f0: 'eyJ...', f1: 'PEM', f2: 'default' });
    assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '128Mi', 'nvidia.com/gpu': '1' } });
    assert.equal(m.pod.spec!.initContainers![0]!.name, 'prepare');
    assert.equal(m.pod.spec!.restartPolicy, 'Never');
  });

  test('configurable: service account, pull secrets, nodeSelector; the notebook pod\'s own ids win over the options', () => {
    const m = buildManifests(notebook('carol'), { ...OPTS, runAsNonRoot: false, runAsUser: 1000, runAsGroup: 100, fsGroup: 100, serviceAccountName: 'notebooks', imagePullSecrets: ['registry'], nodeSelector: { pool: 'cpu' } });
    validate(m);
    assert.deepEqual(m.pod.spec!.securityContext, { runAsUser: 200001, runAsGroup: 200001, runAsNonRoot: true, fsGroup: 200001, seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(m.pod.spec!.containers[0]!.securityContext!.runAsNonRoot, undefined);
    assert.equal(m.pod.spec!.serviceAccountName, 'notebooks');
    assert.equal(m.pod.spec!.automountServiceAccountToken, false);
    assert.deepEqual(m.pod.spec!.imagePullSecrets, [{ name: 'registry' }]);
    assert.deepEqual(m.pod.spec!.nodeSelector, { pool: 'cpu' });
  });

  test('refused: hostPath under the default policy, a container without image and no default', () => {
    assert.throws(() => buildManifests(notebook('dave'), { namespace: 'a', executor: 'k', defaultImage: 'x' }), { code: 'BAD_REQUEST', message: /hostPath/ });
    const noImage = conformancePod('noimg', { containers: [{ name: 'main', command: ['true'] }] });
    assert.throws(() => buildManifests(noImage, { namespace: 'a', executor: 'k' }), { code: 'BAD_REQUEST', message: /no image/ });
  });
});

// ---- a fake API server ----

interface Recorded { method: string; path: string; query: URLSearchParams; auth?: string; body?: any }

/** The REST paths of CoreV1Api that the executor calls, answering like an API server does. */
class FakeApiServer {
  server!: Server;
  url = '';
  requests: Recorded[] = [];
  pods = new Map<string, any>();
  secrets = new Map<string, any>();
  configMaps = new Map<string, any>();
  logs = new Map<string, string[]>();
  nodes: any[] = [];
  forbidNodes = false;
  rejectPods?: { code: number; message: string };
  #uid = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.#json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    const data = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  }

  static matches(obj: any, selector: string | null): boolean {
    if (!selector) return true;
    return selector.split(',').every((term) => {
      const [k, v] = term.split('=');
      return obj.metadata?.labels?.[k!] === v;
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const rec: Recorded = { method: req.method!, path: url.pathname, query: url.searchParams, auth: req.headers.authorization, body: text ? JSON.parse(text) : undefined };
    this.requests.push(rec);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets|configmaps)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (url.pathname === '/api/v1/nodes' && req.method === 'GET') {
      if (this.forbidNodes) return this.#status(res, 403, 'Forbidden', 'nodes is forbidden: User "system:serviceaccount:analysis:hub" cannot list resource "nodes" in API group "" at the cluster scope');
      return this.#json(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: this.nodes });
    }
    if (!m) return this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const [, ns, kind, name, isLog] = m;
    const store = kind === 'pods' ? this.pods : kind === 'secrets' ? this.secrets : this.configMaps;
    const key = (n: string) => `${ns}/${n}`;
    if (isLog) {
      const pod = this.pods.get(key(name!));
      if (!pod) return this.#status(res, 404, 'NotFound', `pods "${name}" not found`);
      const lines = this.logs.get(`${name}/${url.searchParams.get('container')}`);
      if (!lines) return this.#status(res, 400, 'BadRequest', `container "${url.searchParams.get('container')}" in pod "${name}" is waiting to start: ContainerCreating`);
      const tail = Number(url.searchParams.get('tailLines') ?? 0);
      const chosen = tail ? lines.slice(-tail) : lines;
      res.writeHead(200, { 'content-type': 'text/plain' });
      if (url.searchParams.get('follow') !== 'true') return void res.end(chosen.join(''));
      for (const l of chosen) {
        res.write(l);
        await new Promise((r) => setTimeout(r, 150));
      }
      return void res.end();
    }
    if (req.method === 'POST' && !name) {
      if (kind === 'pods' && this.rejectPods) return this.#status(res, this.rejectPods.code, 'Invalid', this.rejectPods.message);
      const obj = structuredClone(rec.body);
      if (store.has(key(obj.metadata.name))) return this.#status(res, 409, 'AlreadyExists', `${kind} "${obj.metadata.name}" already exists`);
      obj.metadata = { ...obj.metadata, uid: `k8s-uid-${++this.#uid}`, creationTimestamp: '2025-11-25T16:00:00Z', resourceVersion: String(this.#uid) };
      if (kind === 'pods') {
        obj.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.', lastTransitionTime: '2025-11-25T16:00:00Z' }] };
      }
      store.set(key(obj.metadata.name), obj);
      return this.#json(res, 201, obj);
    }
    if (req.method === 'GET' && !name) {
      const items = [...store.entries()].filter(([k, o]) => k.startsWith(`${ns}/`) && FakeApiServer.matches(o, url.searchParams.get('labelSelector'))).map(([, o]) => o);
      return this.#json(res, 200, { kind: kind === 'pods' ? 'PodList' : 'List', apiVersion: 'v1', metadata: { resourceVersion: '99' }, items });
    }
    if (req.method === 'DELETE' && name) {
      const obj = store.get(key(name));
      if (!obj) return this.#status(res, 404, 'NotFound', `${kind} "${name}" not found`);
      store.delete(key(name));
      return this.#json(res, 200, obj);
    }
    if (req.method === 'DELETE' && !name) {
      const gone = [...store.entries()].filter(([k, o]) => k.startsWith(`${ns}/`) && FakeApiServer.matches(o, url.searchParams.get('labelSelector')));
      for (const [k] of gone) store.delete(k);
      return this.#json(res, 200, { kind: kind === 'secrets' ? 'SecretList' : 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: gone.map(([, o]) => o) });
    }
    return this.#status(res, 405, 'MethodNotAllowed', 'method not allowed');
  }
}

describe('the executor against a fake API server', () => {
  const api = new FakeApiServer();
  let ex: KubernetesExecutor;
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: api.url, skipTLSVerify: true }],
      users: [{ name: 'hub', token: 'test-token-123' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'hub' }],
      currentContext: 'fake',
    });
    return kc;
  };
  const newExecutor = () => new KubernetesExecutor({ name: 'k8s', kubeConfig: kubeConfig(), namespace: 'analysis', defaultImage: 'busybox:1.36', pollIntervalMs: 50 });
  const sh = (name: string, script: string, extra = {}) => shContainer(name, 'busybox:1.36', script, extra);
  const k8sPod = (p: Pod) => api.pods.get(`analysis/${podName(p.metadata.name, p.metadata.uid)}`);

  before(async () => {
    await api.start();
    ex = newExecutor();
  });
  after(() => api.stop());
  beforeEach(() => { api.requests = []; });

  test('create: the Secret, then the pod, as built; authenticated with the kubeconfig token; idempotent', async () => {
    const data = conformancePod('hello', { containers: [sh('main', 'echo hi', { envFrom: [{ secretRef: { name: 'tok' } }] })] }, {
      secrets: [{ metadata: { name: 'tok' }, data: { TOKEN: Buffer.from('s3cret').toString('base64') } }],
    });
    const cs = await ex.create(data);
    const built = buildManifests(data, { namespace: 'analysis', executor: 'k8s', defaultImage: 'busybox:1.36' });
    assert.deepEqual(cs, { PodUID: data.pod.metadata.uid, PodJID: built.pod.metadata!.name });
    const writes = api.requests.filter((r) => r.method === 'POST');
    assert.deepEqual(writes.map((r) => r.path), ['/api/v1/namespaces/analysis/secrets', '/api/v1/namespaces/analysis/pods']);
    assert.deepEqual(writes[0]!.body, JSON.parse(JSON.stringify(built.secrets[0])));
    assert.deepEqual(writes[1]!.body, JSON.parse(JSON.stringify(built.pod)));
    assert.ok(api.requests.every((r) => r.auth === 'Bearer test-token-123'), 'every call carries the token');
    api.requests = [];
    assert.deepEqual(await ex.create(data), cs);
    assert.equal(api.requests.filter((r) => r.method === 'POST').length, 0, 'a second create submits nothing');
    await ex.delete(data.pod);
  });

  test('status: pod JSON → PodStatus through scheduling, running, termination; one list call for many pods', async () => {
    const pods = Array.from({ length: 20 }, (_, i) => conformancePod(`many-${i}`, { initContainers: [sh('init', 'true')], containers: [sh('main', 'sleep 1')] }));
    for (const d of pods) await ex.create(d);
    const first = pods[0]!.pod;
    await new Promise((r) => setTimeout(r, 60));
    let [st] = await ex.status([first]);
    assert.deepEqual(st, {
      name: first.metadata.name, UID: first.metadata.uid, namespace: 'highrate-conformance', JID: podName(first.metadata.name, first.metadata.uid),
      containers: [{ name: 'main', image: 'busybox:1.36', imageID: '', restartCount: 0, ready: false, state: { waiting: { reason: 'Pending', message: '0/3 nodes are available: 3 Insufficient cpu.' } } }],
      initContainers: [{ name: 'init', image: 'busybox:1.36', imageID: '', restartCount: 0, ready: false, state: { waiting: { reason: 'Pending', message: '0/3 nodes are available: 3 Insufficient cpu.' } } }],
    });
    // The kubelet's view, as the API server reports it.
    k8sPod(first).status = {
      phase: 'Running',
      conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }],
      podIP: '10.244.1.17',
      initContainerStatuses: [{ name: 'init', ready: true, restartCount: 0, image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:abc', started: false,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-11-25T16:00:05Z', finishedAt: '2025-11-25T16:00:06Z', containerID: 'containerd://1' } } }],
      containerStatuses: [{ name: 'main', ready: true, restartCount: 1, image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:abc', started: true,
        state: { running: { startedAt: '2025-11-25T16:00:07Z' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2025-11-25T16:00:06Z', finishedAt: '2025-11-25T16:00:07Z' } } }],
    };
    await new Promise((r) => setTimeout(r, 60));
    [st] = await ex.status([first]);
    assert.deepEqual(st!.initContainers[0], { name: 'init', image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:abc', restartCount: 0, ready: true, started: false,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2025-11-25T16:00:05Z', finishedAt: '2025-11-25T16:00:06Z' } } });
    assert.deepEqual(st!.containers[0], { name: 'main', image: 'docker.io/library/busybox:1.36', imageID: 'docker.io/library/busybox@sha256:abc', restartCount: 1, ready: true, started: true,
      state: { running: { startedAt: '2025-11-25T16:00:07Z' } },
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2025-11-25T16:00:06Z', finishedAt: '2025-11-25T16:00:07Z' } } });
    k8sPod(first).status.containerStatuses[0].state = { terminated: { exitCode: 3, reason: 'Error', message: 'boom', startedAt: '2025-11-25T16:00:07Z', finishedAt: '2025-11-25T16:00:09.512Z' } };
    k8sPod(first).status.phase = 'Failed';
    await new Promise((r) => setTimeout(r, 60));
    [st] = await ex.status([first]);
    assert.deepEqual(st!.containers[0]!.state, { terminated: { exitCode: 3, reason: 'Error', message: 'boom', startedAt: '2025-11-25T16:00:07Z', finishedAt: '2025-11-25T16:00:09Z' } });
    // An evicted pod: containers without a state of their own terminate with the pod's reason.
    const second = pods[1]!.pod;
    k8sPod(second).status = { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' };
    await new Promise((r) => setTimeout(r, 60));
    api.requests = [];
    const all = await ex.status([...pods.map((d) => d.pod), conformancePod('unknown', { containers: [sh('main', 'true')] }).pod]);
    assert.equal(all.length, 20, 'exactly the known pods');
    assert.deepEqual(all[1]!.containers[0]!.state, { terminated: { exitCode: 1, reason: 'Evicted', message: 'The node was low on resource: memory.' } });
    const lists = api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/analysis/pods');
    assert.equal(lists.length, 1, 'one list for all pods');
    assert.equal(lists[0]!.query.get('labelSelector'), 'highrate.io/executor=k8s');
    for (const d of pods) await ex.delete(d.pod);
  });

  test('logs: readNamespacedPodLog with tail; follow streams; unknown pod or container; a waiting container has no log yet', async () => {
    const data = conformancePod('logs', { containers: [sh('main', 'echo')] });
    await ex.create(data);
    const name = podName(data.pod.metadata.name, data.pod.metadata.uid);
    const req = (Opts = {}, container = 'main') => ({ Namespace: 'highrate-conformance', PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: container, Opts });
    assert.equal(await readAll(await ex.logs(req())), '', 'waiting to start: empty');
    api.logs.set(`${name}/main`, ['line 1\n', 'line 2\n', 'line 3\n']);
    api.requests = [];
    assert.equal(await readAll(await ex.logs(req({ Tail: 2 }))), 'line 2\nline 3\n');
    const call = api.requests.find((r) => r.path.endsWith('/log'))!;
    assert.equal(call.path, `/api/v1/namespaces/analysis/pods/${name}/log`);
    assert.equal(call.query.get('container'), 'main');
    assert.equal(call.query.get('tailLines'), '2');
    const arrivals: number[] = [];
    const t0 = Date.now();
    let text = '';
    for await (const c of await ex.logs(req({ Follow: true }))) {
      arrivals.push(Date.now() - t0);
      text += c.toString();
    }
    assert.equal(text, 'line 1\nline 2\nline 3\n');
    assert.ok(arrivals.length >= 2 && arrivals[arrivals.length - 1]! - arrivals[0]! >= 200, `chunks arrive as written: ${arrivals.join(',')}`);
    assert.equal(api.requests.filter((r) => r.path.endsWith('/log')).at(-1)!.query.get('follow'), 'true');
    await assert.rejects(async () => readAll(await ex.logs(req({}, 'nope'))), { code: 'NOT_FOUND' });
    await assert.rejects(async () => readAll(await ex.logs({ ...req(), PodUID: '00000000-0000-4000-8000-000000000000' })), { code: 'WORKLOAD_NOT_FOUND' });
    await ex.delete(data.pod);
  });

  test('delete: the pod, then its Secrets and ConfigMaps by label; gone from status; deleting again is fine', async () => {
    const data = conformancePod('del', { volumes: [{ name: 'c', configMap: { name: 'cfg' } }], containers: [sh('main', 'sleep 1', { volumeMounts: [{ name: 'c', mountPath: '/c' }], envFrom: [{ secretRef: { name: 's' } }] })] }, {
      configMaps: [{ metadata: { name: 'cfg' }, data: { a: 'b' } }], secrets: [{ metadata: { name: 's' }, data: { X: 'eQ==' } }],
    });
    await ex.create(data);
    assert.equal(api.secrets.size, 1);
    assert.equal(api.configMaps.size, 1);
    api.requests = [];
    await ex.delete(data.pod);
    const uid = data.pod.metadata.uid;
    assert.deepEqual(api.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.query.get('labelSelector')]), [
      [`/api/v1/namespaces/analysis/pods/${podName(data.pod.metadata.name, uid)}`, null],
      ['/api/v1/namespaces/analysis/secrets', `highrate.io/executor=k8s,highrate.io/pod-uid=${uid}`],
      ['/api/v1/namespaces/analysis/configmaps', `highrate.io/executor=k8s,highrate.io/pod-uid=${uid}`],
    ]);
    assert.equal(api.pods.size + api.secrets.size + api.configMaps.size, 0);
    assert.deepEqual(await ex.status([data.pod]), []);
    await ex.delete(data.pod);
  });

  test('a new executor process finds the pods by label; API server refusals map to catalogue errors', async () => {
    const data = conformancePod('again', { containers: [sh('main', 'sleep 1')] });
    const cs = await ex.create(data);
    const [st] = await newExecutor().status([data.pod]);
    assert.equal(st?.JID, cs.PodJID);
    assert.deepEqual(await newExecutor().create(data), cs, 'create after a restart finds the pod');
    await ex.delete(data.pod);
    api.rejectPods = { code: 422, message: 'Pod "x" is invalid: spec.containers[0].image: Required value' };
    try {
      await assert.rejects(ex.create(conformancePod('bad', { containers: [sh('main', 'true')] })), { code: 'BAD_REQUEST', message: /spec\.containers\[0\]\.image: Required value/ });
    } finally {
      api.rejectPods = undefined;
    }
  });

  test('a pod it cannot run as its securityContext asks is refused before any API call, and leaves nothing behind', async () => {
    const data = conformancePod('privileged', { containers: [sh('main', 'true', { securityContext: { privileged: true } })] }, {
      secrets: [{ metadata: { name: 's' }, data: { X: 'eQ==' } }],
    });
    await assert.rejects(ex.create(data), {
      code: 'POD_SECURITY_UNENFORCEABLE', message: 'Executor "k8s" (Kubernetes) cannot run container "main" as its securityContext asks: privileged containers are not allowed.',
    });
    assert.deepEqual(api.requests, [], 'nothing was sent');
    assert.deepEqual(await ex.status([data.pod]), []);
  });

  test('ping: allocatable of Ready, schedulable nodes; without permission to list nodes, capacity unknown', async () => {
    const node = (name: string, ready: boolean, cpu: string, memory: string, unschedulable = false) => ({
      metadata: { name }, spec: unschedulable ? { unschedulable: true } : {},
      status: { allocatable: { cpu, memory, pods: '110' }, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    api.nodes = [node('n1', true, '3800m', '15Gi'), node('n2', true, '4', '16Gi'), node('n3', false, '8', '32Gi'), node('n4', true, '8', '32Gi', true)];
    assert.deepEqual(await ex.ping(), { resources: { cpu: '7800m', memory: '31Gi', pods: '220' } });
    api.forbidNodes = true;
    assert.deepEqual(await ex.ping(), { status: 'capacity unknown: no permission to list nodes' });
  });
});

describe('deadlines: an API server that accepts and never answers', () => {
  // Connections are accepted and held; `stall: 'body'` sends the headers and part of a body, then nothing.
  const sockets = new Set<import('node:net').Socket>();
  let stall: 'all' | 'body' = 'all';
  let server: Server;
  let url = '';
  before(async () => {
    server = createServer(function neverAnswers(_req: IncomingMessage, res: ServerResponse) {
      if (stall === 'body') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"kind":"PodList","items":[');
      }
    });
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const newExecutor = (requestTimeoutMs?: number) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'hung', server: url, skipTLSVerify: true }], users: [{ name: 'hub', token: 't' }],
      contexts: [{ name: 'hung', cluster: 'hung', user: 'hub' }], currentContext: 'hung',
    });
    return new KubernetesExecutor({ name: 'k8s', kubeConfig: kc, namespace: 'analysis', defaultImage: 'busybox:1.36', ...(requestTimeoutMs ? { requestTimeoutMs } : {}) });
  };
  /** The call's error and how long it took. */
  async function timed(call: () => Promise<unknown>): Promise<{ err: any; ms: number }> {
    const t0 = Date.now();
    const err = await call().then(() => null, (e: unknown) => e);
    return { err, ms: Date.now() - t0 };
  }

  test('every executor call fails with 504 EXECUTOR_TIMEOUT at the deadline, and its connection is closed', { timeout: 30_000 }, async () => {
    const ex = newExecutor(400);
    const data = conformancePod('hung', { containers: [shContainer('main', 'busybox:1.36', 'true')] });
    const calls: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['status', () => ex.status([data.pod]), /GET \/api\/v1\/namespaces\/analysis\/pods/],
      ['create', () => ex.create(data), /GET \/api\/v1\/namespaces\/analysis\/pods/],
      ['delete', () => ex.delete(data.pod), /GET \/api\/v1\/namespaces\/analysis\/pods/],
      ['ping', () => ex.ping(), /GET \/api\/v1\/nodes/],
      ['logs', () => ex.logs({ Namespace: 'analysis', PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: 'main', Opts: {} }), /GET \/api\/v1\/namespaces\/analysis\/pods/],
    ];
    for (const [name, call, what] of calls) {
      const { err, ms } = await timed(call);
      assert.deepEqual([err?.code, err?.status, err?.extra?.retryAfter], ['EXECUTOR_TIMEOUT', 504, 10], `${name}: ${String(err)}`);
      assert.match(err.message, /^The Kubernetes API server did not answer within 0\.4 s \(/, name);
      assert.match(err.message, what, name);
      assert.ok(ms >= 380 && ms < 2000, `${name}: failed after ${ms} ms`);
      const until = Date.now() + 2000;
      while (sockets.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(sockets.size, 0, `${name}: the hung connection was closed`);
    }
  });

  test('the deadline covers the response body: headers and half a body, then silence, is a timeout too', { timeout: 10_000 }, async () => {
    stall = 'body';
    try {
      const ex = newExecutor(400);
      const { err, ms } = await timed(() => ex.ping());
      assert.equal(err?.code, 'EXECUTOR_TIMEOUT', String(err));
      assert.ok(ms >= 380 && ms < 2000, `${ms} ms`);
    } finally {
      stall = 'all';
    }
  });

  test('the default deadline is 30 s (kubernetes.requestTimeout)', async () => {
    const { DEFAULT_REQUEST_TIMEOUT_MS } = await import('../../src/executors/kubernetes/deadline.js');
    const { KubernetesOptionsSchema } = await import('../../src/config/schema.js');
    assert.equal(DEFAULT_REQUEST_TIMEOUT_MS, 30_000);
    assert.equal(KubernetesOptionsSchema.parse({}).requestTimeout, 30);
  });
});
