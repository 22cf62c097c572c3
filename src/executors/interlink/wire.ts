import { fail } from '../../errors/catalogue.js';
import type {
  ConfigMap, Container, ContainerLogOpts, LogStruct, Pod, PodCreateRequests, RetrievedContainer, RetrievedPodData, Secret,
} from '../types.js';

/**
 * The shapes of interLink's request bodies, checked at the edge: anything malformed is a 400 with
 * a message naming the field (interLink itself answers most of these with 500 or ignores them).
 * Checks are about shape only; what a pod means is the executor's business (it answers 400 too).
 *
 * Go's encoding/json is the reference: nil slices arrive as `null`, zero values are present
 * (`"Tail": 0`, `"SinceTime": "0001-01-01T00:00:00Z"`), unknown keys are ignored.
 */

/** Go's zero `time.Time`, which interLink sends for an unset SinceTime. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 1123 labels, as interLink's /getLogs checks Namespace and ContainerName. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** interLink's /getLogs accepts only lowercase UUIDs as PodUID. */
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON array or null (Go's nil slice); anything else is 400. */
function arrayOrNull<T>(v: unknown, what: string): T[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', `${what} must be an array or null.`);
  return v as T[];
}

/** A v1.Pod with what every endpoint needs: metadata.uid (a string) and, for create, spec.containers. */
export function checkPod(v: unknown, what = 'pod', { needSpec = false } = {}): Pod {
  if (!isObject(v)) throw fail('BAD_REQUEST', `${what} must be a Kubernetes Pod object.`);
  const meta = v.metadata;
  if (!isObject(meta)) throw fail('BAD_REQUEST', `${what}.metadata must be an object.`);
  if (typeof meta.uid !== 'string' || meta.uid === '') throw fail('BAD_REQUEST', `${what}.metadata.uid must be a non-empty string.`);
  if (meta.name !== undefined && typeof meta.name !== 'string') throw fail('BAD_REQUEST', `${what}.metadata.name must be a string.`);
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') throw fail('BAD_REQUEST', `${what}.metadata.namespace must be a string.`);
  if (needSpec) {
    const spec = v.spec;
    if (!isObject(spec)) throw fail('BAD_REQUEST', `${what}.spec must be an object.`);
    if (!Array.isArray(spec.containers) || spec.containers.length === 0) throw fail('BAD_REQUEST', `${what}.spec.containers must be a non-empty array.`);
    for (const [i, c] of [...(arrayOrNull<unknown>(spec.initContainers, `${what}.spec.initContainers`) ?? []), ...spec.containers].entries()) {
      if (!isObject(c) || typeof c.name !== 'string') throw fail('BAD_REQUEST', `${what}: container #${i} needs a name.`);
    }
    arrayOrNull(spec.volumes, `${what}.spec.volumes`);
  }
  return v as unknown as Pod;
}

function checkObjects<T extends ConfigMap | Secret>(v: unknown, what: string): T[] | null {
  const list = arrayOrNull<unknown>(v, what);
  if (!list) return null;
  for (const [i, o] of list.entries()) {
    if (!isObject(o) || !isObject(o.metadata) || typeof o.metadata.name !== 'string') throw fail('BAD_REQUEST', `${what}[${i}] needs metadata.name.`);
    if (o.data !== undefined && o.data !== null && !isObject(o.data)) throw fail('BAD_REQUEST', `${what}[${i}].data must be an object.`);
  }
  return list as T[];
}

/** interLink `RetrievedPodData` (what a plugin's /create gets). */
export function checkRetrievedPodData(v: unknown, what = 'body'): RetrievedPodData {
  if (!isObject(v)) throw fail('BAD_REQUEST', `${what} must be a RetrievedPodData object {pod, container}.`);
  const pod = checkPod(v.pod, `${what}.pod`, { needSpec: true });
  const entries = arrayOrNull<unknown>(v.container, `${what}.container`);
  const container: RetrievedContainer[] | null = entries?.map((e, i) => {
    const w = `${what}.container[${i}]`;
    if (!isObject(e) || typeof e.name !== 'string') throw fail('BAD_REQUEST', `${w} needs a name.`);
    return {
      name: e.name,
      configMaps: checkObjects<ConfigMap>(e.configMaps, `${w}.configMaps`),
      projectedvolumemaps: checkObjects<ConfigMap>(e.projectedvolumemaps, `${w}.projectedvolumemaps`),
      secrets: checkObjects<Secret>(e.secrets, `${w}.secrets`),
      emptyDirs: arrayOrNull<string>(e.emptyDirs, `${w}.emptyDirs`),
    };
  }) ?? null;
  if (v.jobScript !== undefined && typeof v.jobScript !== 'string') throw fail('BAD_REQUEST', `${what}.jobScript must be a string.`);
  return { ...(v as object), pod, container } as RetrievedPodData;
}

/** interLink `PodCreateRequests` (what the virtual kubelet sends to interLink's /create). */
export function checkPodCreateRequests(v: unknown): PodCreateRequests {
  if (!isObject(v)) throw fail('BAD_REQUEST', 'The body must be a PodCreateRequests object {pod, configmaps, secrets, projectedvolumesmaps}.');
  return {
    pod: checkPod(v.pod, 'pod', { needSpec: true }),
    configmaps: checkObjects<ConfigMap>(v.configmaps, 'configmaps'),
    secrets: checkObjects<Secret>(v.secrets, 'secrets'),
    projectedvolumesmaps: checkObjects<ConfigMap>(v.projectedvolumesmaps, 'projectedvolumesmaps'),
    ...(typeof v.jobscriptURL === 'string' && v.jobscriptURL ? { jobscriptURL: v.jobscriptURL } : {}),
  };
}

/** Whether a /create body looks like the VK's PodCreateRequests rather than a plugin's RetrievedPodData. */
export function looksLikePodCreateRequests(v: unknown): boolean {
  return isObject(v) && !('container' in v) && ('configmaps' in v || 'secrets' in v || 'projectedvolumesmaps' in v);
}

/**
 * PodCreateRequests → RetrievedPodData, as interLink's API does before calling the plugin: one
 * entry per init container, then per container, each holding the ConfigMaps, Secrets and
 * projected maps its volumeMounts use. Unlike interLink, objects a container's env or envFrom
 * refers to are listed too: interLink leaves those to the virtual kubelet's env resolution,
 * highrate's executors resolve them from the pod's objects.
 */
export function toRetrievedPodData(r: PodCreateRequests): RetrievedPodData {
  const volumes = new Map((r.pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const cms = new Map((r.configmaps ?? []).map((c) => [c.metadata.name, c]));
  const secrets = new Map((r.secrets ?? []).map((s) => [s.metadata.name, s]));
  const projected = new Map((r.projectedvolumesmaps ?? []).map((p) => [p.metadata.name, p]));
  function entry(c: Container): RetrievedContainer {
    const cmNames = new Set<string>();
    const secretNames = new Set<string>();
    const projNames = new Set<string>();
    for (const m of c.volumeMounts ?? []) {
      const vol = volumes.get(m.name);
      if (vol?.configMap) cmNames.add(vol.configMap.name);
      else if (vol?.secret) secretNames.add(vol.secret.secretName);
      else if (vol?.projected) projNames.add(vol.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef) cmNames.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef) secretNames.add(e.valueFrom.secretKeyRef.name);
    }
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef) cmNames.add(e.configMapRef.name);
      if (e.secretRef) secretNames.add(e.secretRef.name);
    }
    const pick = <T>(names: Set<string>, from: Map<string, T>): T[] | null => {
      const out = [...names].flatMap((n) => (from.has(n) ? [from.get(n)!] : []));
      return out.length ? out : null;
    };
    return { name: c.name, configMaps: pick(cmNames, cms), projectedvolumemaps: pick(projNames, projected), secrets: pick(secretNames, secrets), emptyDirs: null };
  }
  return { pod: r.pod, container: [...(r.pod.spec.initContainers ?? []), ...r.pod.spec.containers].map(entry) };
}

/** A `/status` body: `Pod[]` (or null). Each pod needs metadata.uid. */
export function checkPodList(v: unknown): Pod[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', 'The body must be a JSON array of pods.');
  return v.map((p, i) => checkPod(p, `pods[${i}]`));
}

function optInt(o: Record<string, unknown>, key: keyof ContainerLogOpts): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail('BAD_REQUEST', `Opts.${key} must be a non-negative integer.`);
  return v;
}

function optBool(o: Record<string, unknown>, key: keyof ContainerLogOpts): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `Opts.${key} must be true or false.`);
  return v;
}

/**
 * A `/getLogs` body, with interLink's 400 rules: Namespace and a non-empty ContainerName are DNS
 * labels, PodUID is a lowercase UUID, Tail and Bytes are not both set, SinceSeconds and
 * SinceTime are not both set. Zero values mean unset and are dropped from `Opts`.
 */
export function checkLogStruct(v: unknown): LogStruct {
  if (!isObject(v)) throw fail('BAD_REQUEST', 'The body must be a LogStruct object {Namespace, PodUID, PodName, ContainerName, Opts}.');
  for (const k of ['Namespace', 'PodUID', 'PodName', 'ContainerName'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'string') throw fail('BAD_REQUEST', `${k} must be a string.`);
  }
  const ns = (v.Namespace as string | undefined) ?? '';
  const uid = (v.PodUID as string | undefined) ?? '';
  const container = (v.ContainerName as string | undefined) ?? '';
  if (!DNS_LABEL.test(ns) || ns.length > 63) throw fail('BAD_REQUEST', 'invalid namespace: must be a valid DNS label');
  if (!LOWER_UUID.test(uid)) throw fail('BAD_REQUEST', 'invalid pod UID: must be a valid UUID');
  if (container !== '' && (!DNS_LABEL.test(container) || container.length > 63)) throw fail('BAD_REQUEST', 'invalid container name: must be a valid DNS label');
  const raw = v.Opts ?? {};
  if (!isObject(raw)) throw fail('BAD_REQUEST', 'Opts must be an object.');
  const opts: ContainerLogOpts = {};
  const tail = optInt(raw, 'Tail');
  const bytes = optInt(raw, 'Bytes');
  const sinceSeconds = optInt(raw, 'SinceSeconds');
  if (tail) opts.Tail = tail;
  if (bytes) opts.Bytes = bytes;
  if (sinceSeconds) opts.SinceSeconds = sinceSeconds;
  for (const k of ['Timestamps', 'Follow', 'Previous'] as const) if (optBool(raw, k)) opts[k] = true;
  if (raw.SinceTime !== undefined && raw.SinceTime !== null) {
    if (typeof raw.SinceTime !== 'string' || Number.isNaN(Date.parse(raw.SinceTime))) throw fail('BAD_REQUEST', 'Opts.SinceTime must be an RFC 3339 time.');
    if (!raw.SinceTime.startsWith('0001-01-01T00:00:00')) opts.SinceTime = raw.SinceTime;
  }
  if (opts.Tail && opts.Bytes) throw fail('BAD_REQUEST', 'Both Tail and LimitBytes set. Set only one of them');
  if (opts.SinceSeconds && opts.SinceTime) throw fail('BAD_REQUEST', 'Both SinceSeconds and SinceTime set. Set only one of them');
  return { Namespace: ns, PodUID: uid, PodName: (v.PodName as string | undefined) ?? '', ContainerName: container, Opts: opts };
}

/** A LogStruct as Go's encoding/json writes it: every field present, zero values for unset ones. */
export function goLogStruct(req: LogStruct): Record<string, unknown> {
  const o = req.Opts ?? {};
  return {
    Namespace: req.Namespace,
    PodUID: req.PodUID,
    PodName: req.PodName,
    ContainerName: req.ContainerName,
    Opts: {
      Tail: o.Tail ?? 0,
      Bytes: o.Bytes ?? 0,
      Timestamps: o.Timestamps ?? false,
      Follow: o.Follow ?? false,
      Previous: o.Previous ?? false,
      SinceSeconds: o.SinceSeconds ?? 0,
      SinceTime: o.SinceTime ?? GO_ZERO_TIME,
    },
  };
}
