import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Container, V1EnvFromSource, V1EnvVar, V1Pod, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { fail } from '../../errors/catalogue.js';
import { indexObjects } from '../podscript/objects.js';
import { checkLabel, checkUid } from '../podscript/names.js';
import type { ConfigMap, Container, RetrievedPodData, Secret } from '../types.js';
import { containerSecurityContext, podSecurityContext, scratchTmp } from './security.js';

/**
 * What the Kubernetes executor sends the API server for one pod, built without I/O:
 * - the pod in the executor's namespace, named `<name>-<uid prefix>`, labelled with the pod UID
 *   (`highrate.io/pod-uid`) and the executor, so one list call finds all of its pods;
 * - one Secret and one ConfigMap object per object the pod uses, named after the pod: pods never
 *   share (or see) each other's Secrets, and Secret values stay in Secrets (env refers to them
 *   with secretKeyRef/secretRef, never as literal values);
 * - the pod's and its containers' securityContext carried (security.ts in this folder): the
 *   executor's runAsNonRoot/runAsUser/runAsGroup/fsGroup options are defaults that only make a
 *   pod stricter; never privileged, never privilege escalation, all capabilities dropped,
 *   RuntimeDefault seccomp; what cannot be run so is refused (POD_SECURITY_UNENFORCEABLE);
 * - a container with readOnlyRootFilesystem and no volume at /tmp gets an emptyDir at /tmp (the
 *   kubelet adds none; Jupyter and Dask write there);
 * - no service-account token, no service links;
 * - resources copied (requests default to limits on the API server, as for any pod).
 */
export interface ManifestOptions {
  namespace: string;
  /** The executor's name (label `highrate.io/executor`). */
  executor: string;
  defaultImage?: string;
  /** Every container runs as non-root, whatever the pod says (default true). */
  runAsNonRoot?: boolean;
  /** runAsUser/runAsGroup/fsGroup of pods that set none (a pod's own value wins). */
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  serviceAccountName?: string;
  imagePullSecrets?: string[];
  nodeSelector?: Record<string, string>;
  hostPath?: 'refuse' | 'emptyDir' | 'allow';
}

export interface Manifests {
  pod: V1Pod;
  secrets: V1Secret[];
  configMaps: V1ConfigMap[];
  /** What the executor changed or does not honour (shown in status messages). */
  notes: string[];
}

export const LABEL_UID = 'highrate.io/pod-uid';
export const LABEL_EXECUTOR = 'highrate.io/executor';
export const LABEL_MANAGED = 'app.kubernetes.io/managed-by';
export const ANNOTATION_NAME = 'highrate.io/pod-name';
export const ANNOTATION_NAMESPACE = 'highrate.io/pod-namespace';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The Kubernetes name of a highrate pod: its name (as a DNS label) and the UID's first 8 characters. */
export function podName(name: string | undefined, uid: string): string {
  const suffix = uid.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8);
  let base = (name ?? 'pod').toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  // Names that already end in the UID's prefix (as the hub's and the conformance suite's do) keep it once.
  if (base.endsWith(`-${suffix}`)) base = base.slice(0, -suffix.length - 1);
  base = base.slice(0, 50).replace(/-+$/, '') || 'pod';
  return `${base}-${suffix}`;
}

/** A name for the pod's copy of an object: `<pod>-<kind>-<hash of the original name>` (always a valid name). */
function objectName(pod: string, kind: 'cm' | 'secret' | 'proj', original: string): string {
  return `${pod}-${kind}-${createHash('sha256').update(original).digest('hex').slice(0, 10)}`;
}

function labelsOf(src: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(src ?? {})) {
    if (LABEL_KEY.test(k) && k.length <= 317 && typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v)) out[k] = v;
  }
  return out;
}

/** Builds the pod, its Secrets and ConfigMaps. Bad pods throw BAD_REQUEST. */
export function buildManifests(data: RetrievedPodData, o: ManifestOptions): Manifests {
  const src = data?.pod;
  if (!src?.metadata || !src.spec || !Array.isArray(src.spec.containers) || src.spec.containers.length === 0) {
    throw fail('BAD_REQUEST', 'The pod needs metadata and at least one container.');
  }
  const uid = checkUid(src.metadata.uid);
  const name = podName(src.metadata.name, uid);
  const objs = indexObjects(data);
  const notes: string[] = [];
  const ownLabels = { [LABEL_MANAGED]: 'highrate', [LABEL_EXECUTOR]: o.executor, [LABEL_UID]: uid.toLowerCase() };
  const meta = (objName: string) => ({ name: objName, namespace: o.namespace, labels: { ...ownLabels } });

  const secrets = new Map<string, V1Secret>();
  const configMaps = new Map<string, V1ConfigMap>();
  const secretRef = (original: string, optional?: boolean): string | null => {
    const s = objs.secrets.get(original);
    if (!s) {
      if (optional) return null;
      throw fail('BAD_REQUEST', `Secret "${original}" was not provided with the pod.`);
    }
    const n = objectName(name, 'secret', original);
    if (!secrets.has(n)) secrets.set(n, secretManifest(s, meta(n)));
    return n;
  };
  const configMapRef = (original: string, optional?: boolean, kind: 'cm' | 'proj' = 'cm'): string | null => {
    const c = kind === 'proj' ? objs.projected.get(original) : objs.configMaps.get(original);
    if (!c) {
      if (optional) return null;
      throw fail('BAD_REQUEST', `${kind === 'proj' ? 'Projected volume' : 'ConfigMap'} "${original}" was not provided with the pod.`);
    }
    const n = objectName(name, kind, original);
    if (!configMaps.has(n)) configMaps.set(n, configMapManifest(c, meta(n)));
    return n;
  };

  const volumes: V1Volume[] = [];
  for (const v of src.spec.volumes ?? []) {
    const vname = checkLabel('volume', v?.name);
    if (v.emptyDir) volumes.push({ name: vname, emptyDir: { ...(v.emptyDir.medium ? { medium: v.emptyDir.medium } : {}), ...(v.emptyDir.sizeLimit ? { sizeLimit: v.emptyDir.sizeLimit } : {}) } });
    else if (v.configMap) {
      const ref = configMapRef(v.configMap.name, v.configMap.optional);
      volumes.push(ref
        ? { name: vname, configMap: { name: ref, ...(v.configMap.items ? { items: v.configMap.items } : {}), ...(v.configMap.defaultMode !== undefined ? { defaultMode: v.configMap.defaultMode } : {}) } }
        : { name: vname, emptyDir: {} });
    } else if (v.secret) {
      const ref = secretRef(v.secret.secretName, v.secret.optional);
      volumes.push(ref
        ? { name: vname, secret: { secretName: ref, ...(v.secret.items ? { items: v.secret.items } : {}), ...(v.secret.defaultMode !== undefined ? { defaultMode: v.secret.defaultMode } : {}) } }
        : { name: vname, emptyDir: {} });
    } else if (v.projected) {
      // interLink hands projected volumes over as ConfigMap-shaped maps named after the volume,
      // keyed by file path; paths are not valid ConfigMap keys, so keys are numbered and mapped back.
      const ref = configMapRef(vname, false, 'proj')!;
      const cm = configMaps.get(ref)!;
      const paths = Object.keys(cm.data ?? {});
      cm.data = Object.fromEntries(paths.map((p, i) => [`f${i}`, cm.data![p]!]));
      volumes.push({ name: vname, configMap: { name: ref, items: paths.map((p, i) => ({ key: `f${i}`, path: p })), ...(v.projected.defaultMode !== undefined ? { defaultMode: v.projected.defaultMode } : {}) } });
    } else if (v.hostPath) {
      const policy = o.hostPath ?? 'refuse';
      if (policy === 'refuse') throw fail('BAD_REQUEST', `Volume "${vname}" is a hostPath, which this Kubernetes executor does not allow.`);
      if (policy === 'emptyDir') {
        volumes.push({ name: vname, emptyDir: {} });
        notes.push(`hostPath volume "${vname}" (${v.hostPath.path}) replaced by an emptyDir: its files are not kept`);
      } else {
        volumes.push({ name: vname, hostPath: { path: v.hostPath.path, ...(v.hostPath.type ? { type: v.hostPath.type } : {}) } });
      }
    } else {
      throw fail('BAD_REQUEST', `Volume "${vname}" has a type the Kubernetes executor does not support.`);
    }
  }

  const seen = new Set<string>();
  const volumeNames = new Set(volumes.map((v) => v.name));
  function container(c: Container): V1Container {
    const cname = checkLabel('container', c?.name);
    if (seen.has(cname)) throw fail('BAD_REQUEST', `Two containers are named "${cname}".`);
    seen.add(cname);
    const image = c.image || o.defaultImage;
    if (!image) throw fail('BAD_REQUEST', `Container "${cname}" has no image and the executor has no defaultImage.`);
    const env = (c.env ?? []).map((e) => envVar(e, src!.metadata.name, src!.metadata.namespace, uid, secretRef, configMapRef));
    const envFrom = (c.envFrom ?? []).flatMap((e): V1EnvFromSource[] => {
      if (e.secretRef) {
        const ref = secretRef(e.secretRef.name, e.secretRef.optional);
        return ref ? [{ ...(e.prefix ? { prefix: e.prefix } : {}), secretRef: { name: ref } }] : [];
      }
      if (e.configMapRef) {
        const ref = configMapRef(e.configMapRef.name, e.configMapRef.optional);
        return ref ? [{ ...(e.prefix ? { prefix: e.prefix } : {}), configMapRef: { name: ref } }] : [];
      }
      return [];
    });
    const mounts: V1VolumeMount[] = (c.volumeMounts ?? []).map((m) => {
      if (!volumes.some((v) => v.name === m.name)) throw fail('BAD_REQUEST', `Container "${cname}" mounts volume ${JSON.stringify(m.name)}, which the pod does not declare.`);
      return { name: m.name, mountPath: m.mountPath, ...(m.readOnly ? { readOnly: true } : {}), ...(m.subPath ? { subPath: m.subPath } : {}) };
    });
    const securityContext = containerSecurityContext(src!, c, o.executor, o, notes);
    const tmp = scratchTmp(securityContext, mounts, volumeNames);
    if (tmp) {
      volumes.push(tmp.volume);
      mounts.unshift(tmp.mount);
    }
    const out: V1Container = {
      name: cname,
      image,
      ...(c.command?.length ? { command: c.command } : {}),
      ...(c.args?.length ? { args: c.args } : {}),
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      ...(env.length ? { env } : {}),
      ...(envFrom.length ? { envFrom } : {}),
      ...(mounts.length ? { volumeMounts: mounts } : {}),
      ...(c.ports?.length ? { ports: c.ports.map((p) => ({ containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), ...(p.protocol ? { protocol: p.protocol } : {}) })) } : {}),
      resources: {
        ...(c.resources?.limits ? { limits: { ...c.resources.limits } } : {}),
        ...(c.resources?.requests ? { requests: { ...c.resources.requests } } : {}),
      },
      securityContext,
    };
    return out;
  }

  const initContainers = (src.spec.initContainers ?? []).map(container);
  const containers = src.spec.containers.map(container);
  const annotations: Record<string, string> = { [ANNOTATION_NAME]: String(src.metadata.name ?? ''), [ANNOTATION_NAMESPACE]: String(src.metadata.namespace ?? '') };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace,
      labels: { ...labelsOf(src.metadata.labels), ...ownLabels },
      annotations,
    },
    spec: {
      restartPolicy: src.spec.restartPolicy ?? 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      ...(o.serviceAccountName ? { serviceAccountName: o.serviceAccountName } : {}),
      ...(o.imagePullSecrets?.length ? { imagePullSecrets: o.imagePullSecrets.map((n) => ({ name: n })) } : {}),
      ...(o.nodeSelector && Object.keys(o.nodeSelector).length ? { nodeSelector: { ...o.nodeSelector } } : {}),
      securityContext: podSecurityContext(src, o),
      ...(initContainers.length ? { initContainers } : {}),
      containers,
      ...(volumes.length ? { volumes } : {}),
    },
  };
  return { pod, secrets: [...secrets.values()], configMaps: [...configMaps.values()], notes };
}

/**
 * One env var: literal values stay literal; secret/ConfigMap refs point at the pod's own copies;
 * the pod's identity fields are its highrate identity (the Kubernetes pod has another name).
 */
function envVar(
  e: Container['env'] extends (infer T)[] | undefined ? T : never,
  name: string | undefined, namespace: string | undefined, uid: string,
  secretRef: (n: string, optional?: boolean) => string | null,
  configMapRef: (n: string, optional?: boolean) => string | null,
): V1EnvVar {
  if (typeof e?.name !== 'string' || e.name === '') throw fail('BAD_REQUEST', 'An environment variable has no name.');
  const vf = e.valueFrom;
  if (!vf) return { name: e.name, value: e.value ?? '' };
  if (vf.secretKeyRef) {
    const ref = secretRef(vf.secretKeyRef.name, vf.secretKeyRef.optional);
    return ref ? { name: e.name, valueFrom: { secretKeyRef: { name: ref, key: vf.secretKeyRef.key, ...(vf.secretKeyRef.optional ? { optional: true } : {}) } } } : { name: e.name, value: '' };
  }
  if (vf.configMapKeyRef) {
    const ref = configMapRef(vf.configMapKeyRef.name, vf.configMapKeyRef.optional);
    return ref ? { name: e.name, valueFrom: { configMapKeyRef: { name: ref, key: vf.configMapKeyRef.key, ...(vf.configMapKeyRef.optional ? { optional: true } : {}) } } } : { name: e.name, value: '' };
  }
  if (vf.fieldRef) {
    const f = vf.fieldRef.fieldPath;
    if (f === 'metadata.name') return { name: e.name, value: String(name ?? '') };
    if (f === 'metadata.namespace') return { name: e.name, value: String(namespace ?? '') };
    if (f === 'metadata.uid') return { name: e.name, value: uid };
    return { name: e.name, valueFrom: { fieldRef: { fieldPath: f } } };
  }
  throw fail('BAD_REQUEST', `Environment variable ${e.name} has an unsupported valueFrom.`);
}

function secretManifest(s: Secret, metadata: V1Secret['metadata']): V1Secret {
  // `data` is base64 on the wire in both directions; stringData is merged by the API server.
  return {
    // Always Opaque: a copy must never become a service-account token or another typed Secret.
    apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque',
    ...(s.data ? { data: { ...s.data } } : {}),
    ...(s.stringData ? { stringData: { ...s.stringData } } : {}),
  };
}

function configMapManifest(c: ConfigMap, metadata: V1ConfigMap['metadata']): V1ConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap', metadata,
    ...(c.data ? { data: { ...c.data } } : {}),
    ...(c.binaryData ? { binaryData: { ...c.binaryData } } : {}),
  };
}
