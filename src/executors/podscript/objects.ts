import { fail } from '../../errors/catalogue.js';
import type { ConfigMap, RetrievedPodData, Secret } from '../types.js';

/**
 * The ConfigMaps, Secrets and projected-volume maps a pod may refer to. interLink hands them out
 * per container (each entry lists what that container mounts); a pod-level volume or an env
 * reference may be listed under any container, so they are pooled by name.
 */
export interface PodObjects {
  configMaps: Map<string, ConfigMap>;
  secrets: Map<string, Secret>;
  /** Projected volumes (also ServiceAccount tokens, downward API), keyed by *volume* name. */
  projected: Map<string, ConfigMap>;
}

/** Pools the objects of every container entry by name. */
export function indexObjects(data: RetrievedPodData): PodObjects {
  const objs: PodObjects = { configMaps: new Map(), secrets: new Map(), projected: new Map() };
  for (const entry of data.container ?? []) {
    for (const cm of entry.configMaps ?? []) if (cm?.metadata?.name) objs.configMaps.set(cm.metadata.name, cm);
    for (const s of entry.secrets ?? []) if (s?.metadata?.name) objs.secrets.set(s.metadata.name, s);
    for (const p of entry.projectedvolumemaps ?? []) if (p?.metadata?.name) objs.projected.set(p.metadata.name, p);
  }
  return objs;
}

/** Every key of a ConfigMap (`data` as UTF-8, `binaryData` decoded) with its bytes. */
export function configMapEntries(cm: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(String(v), 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(String(v), 'base64'));
  return out;
}

/** Every key of a Secret: `data` is base64 on the wire; `stringData` (plain) wins, as the API server merges it. */
export function secretEntries(s: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(String(v), 'base64'));
  for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(String(v), 'utf8'));
  return out;
}

/** A named ConfigMap, or null when it is missing and `optional`; missing and required is a BAD_REQUEST. */
export function needConfigMap(objs: PodObjects, name: string, optional: boolean | undefined, by: string): ConfigMap | null {
  const cm = objs.configMaps.get(name);
  if (cm) return cm;
  if (optional) return null;
  throw fail('BAD_REQUEST', `ConfigMap "${name}" (${by}) was not provided with the pod.`);
}

/** A named Secret, or null when it is missing and `optional`; missing and required is a BAD_REQUEST. */
export function needSecret(objs: PodObjects, name: string, optional: boolean | undefined, by: string): Secret | null {
  const s = objs.secrets.get(name);
  if (s) return s;
  if (optional) return null;
  throw fail('BAD_REQUEST', `Secret "${name}" (${by}) was not provided with the pod.`);
}
