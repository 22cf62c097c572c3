import { fail } from '../../errors/catalogue.js';
import type { KeyToPath, Pod, Volume } from '../types.js';
import { checkAbsolutePath, checkLabel, checkRelativePath } from './names.js';
import { configMapEntries, needConfigMap, needSecret, secretEntries, type PodObjects } from './objects.js';
import { VOLUMES_DIR } from './layout.js';

/** Where a volume's files are: inside the pod directory (relative path) or on the host (absolute). */
export type VolumeSource = { in: 'pod'; path: string } | { in: 'host'; path: string };

export interface PlannedVolume {
  name: string;
  kind: 'emptyDir' | 'configMap' | 'secret' | 'projected' | 'hostPath';
  source: VolumeSource;
  /** ConfigMap, Secret and projected volumes are always read-only, as on a kubelet. */
  alwaysReadOnly: boolean;
}

/** A file the script writes into the pod directory (path relative to it). */
export interface PlannedFile { path: string; data: Buffer; mode: number }

export interface VolumePlan {
  volumes: Map<string, PlannedVolume>;
  /** Directories to create inside the pod directory (relative). */
  dirs: string[];
  /** Host directories to create (hostPath type DirectoryOrCreate). */
  hostDirs: string[];
  files: PlannedFile[];
}

const DEFAULT_MODE = 0o644;

function checkMode(what: string, mode: unknown): number {
  if (mode === undefined || mode === null) return DEFAULT_MODE;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(mode)}: must be a file mode between 0 and 0777.`);
  }
  return mode;
}

/**
 * Files of a key/value volume: every key, or only `items` (each key → path, own mode). A listed
 * key that is missing is an error unless the volume is optional, as on a kubelet.
 */
function keyFiles(vol: string, entries: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, optional: boolean | undefined): PlannedFile[] {
  const base = `${VOLUMES_DIR}/${vol}`;
  if (!items || items.length === 0) {
    return [...entries].map(([key, data]) => ({ path: `${base}/${checkRelativePath(`key of volume "${vol}"`, key)}`, data, mode: defaultMode }));
  }
  const out: PlannedFile[] = [];
  for (const it of items) {
    const data = entries.get(it.key);
    if (data === undefined) {
      if (optional) continue;
      throw fail('BAD_REQUEST', `Volume "${vol}" lists key "${it.key}", which its source does not have.`);
    }
    out.push({ path: `${base}/${checkRelativePath(`item path of volume "${vol}"`, it.path)}`, data, mode: checkMode(`mode of item "${it.key}"`, it.mode ?? defaultMode) });
  }
  return out;
}

/** Projected sources resolved here when interLink did not send the volume as a ready map. */
function projectedSourceFiles(v: Volume, objs: PodObjects, defaultMode: number): PlannedFile[] {
  const out: PlannedFile[] = [];
  for (const raw of v.projected!.sources ?? []) {
    const src = raw as { configMap?: { name: string; items?: KeyToPath[]; optional?: boolean }; secret?: { name: string; items?: KeyToPath[]; optional?: boolean } };
    if (src?.configMap) {
      const cm = needConfigMap(objs, src.configMap.name, src.configMap.optional, `projected volume "${v.name}"`);
      if (cm) out.push(...keyFiles(v.name, configMapEntries(cm), src.configMap.items, defaultMode, src.configMap.optional));
    } else if (src?.secret) {
      const s = needSecret(objs, src.secret.name, src.secret.optional, `projected volume "${v.name}"`);
      if (s) out.push(...keyFiles(v.name, secretEntries(s), src.secret.items, defaultMode, src.secret.optional));
    } else {
      throw fail('BAD_REQUEST', `Projected volume "${v.name}" has a source that was not provided with the pod (only ConfigMap and Secret sources are resolved here).`);
    }
  }
  return out;
}

/** Plans the pod's volumes: which directories and files the script creates, where each lives. */
export function planVolumes(pod: Pod, objs: PodObjects): VolumePlan {
  const plan: VolumePlan = { volumes: new Map(), dirs: [], hostDirs: [], files: [] };
  for (const v of pod.spec.volumes ?? []) {
    const name = checkLabel('volume', v?.name);
    if (plan.volumes.has(name)) throw fail('BAD_REQUEST', `Volume "${name}" is declared twice.`);
    const inPod: VolumeSource = { in: 'pod', path: `${VOLUMES_DIR}/${name}` };
    let vol: PlannedVolume;
    if (objs.projected.has(name)) {
      // interLink sends projected, ServiceAccount-token and downward-API volumes resolved, as a
      // ConfigMap named after the volume whose keys are file paths.
      const mode = checkMode(`defaultMode of volume "${name}"`, v.projected?.defaultMode);
      plan.files.push(...keyFiles(name, configMapEntries(objs.projected.get(name)!), undefined, mode, false));
      vol = { name, kind: 'projected', source: inPod, alwaysReadOnly: true };
    } else if (v.emptyDir) {
      vol = { name, kind: 'emptyDir', source: inPod, alwaysReadOnly: false };
    } else if (v.configMap) {
      const mode = checkMode(`defaultMode of volume "${name}"`, v.configMap.defaultMode);
      const cm = needConfigMap(objs, v.configMap.name, v.configMap.optional, `volume "${name}"`);
      if (cm) plan.files.push(...keyFiles(name, configMapEntries(cm), v.configMap.items, mode, v.configMap.optional));
      vol = { name, kind: 'configMap', source: inPod, alwaysReadOnly: true };
    } else if (v.secret) {
      const mode = checkMode(`defaultMode of volume "${name}"`, v.secret.defaultMode);
      const s = needSecret(objs, v.secret.secretName, v.secret.optional, `volume "${name}"`);
      if (s) plan.files.push(...keyFiles(name, secretEntries(s), v.secret.items, mode, v.secret.optional));
      vol = { name, kind: 'secret', source: inPod, alwaysReadOnly: true };
    } else if (v.projected) {
      const mode = checkMode(`defaultMode of volume "${name}"`, v.projected.defaultMode);
      plan.files.push(...projectedSourceFiles(v, objs, mode));
      vol = { name, kind: 'projected', source: inPod, alwaysReadOnly: true };
    } else if (v.hostPath) {
      const path = checkAbsolutePath(`hostPath of volume "${name}"`, v.hostPath.path);
      if (v.hostPath.type === 'DirectoryOrCreate') plan.hostDirs.push(path);
      vol = { name, kind: 'hostPath', source: { in: 'host', path }, alwaysReadOnly: false };
    } else {
      throw fail('BAD_REQUEST', `Volume "${name}" has a type this executor does not support (supported: emptyDir, configMap, secret, projected, hostPath).`);
    }
    if (vol.source.in === 'pod') plan.dirs.push(vol.source.path);
    plan.volumes.set(name, vol);
  }
  for (const f of plan.files) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/'));
    if (!plan.dirs.includes(dir)) plan.dirs.push(dir);
  }
  return plan;
}
