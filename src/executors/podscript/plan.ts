import { posix } from 'node:path';
import { fail } from '../../errors/catalogue.js';
import type { Container, RetrievedPodData } from '../types.js';
import { effectiveSecurity, requireEnforceable } from '../security.js';
import { parseMemory } from '../quantity.js';
import { resolveArgv, resolveEnv } from './env.js';
import { runIdentity, type RunIdentity } from './identity.js';
import type { ContainerKind } from './layout.js';
import { containerLimits, podLimits, type Limits } from './limits.js';
import { checkAbsolutePath, checkLabel, checkRelativePath, checkUid } from './names.js';
import { indexObjects } from './objects.js';
import type { PlannedMount, Sandbox, SandboxContainer } from './sandbox.js';
import { renderScript } from './script.js';
import { planVolumes, type PlannedFile, type PlannedVolume, type VolumePlan } from './volumes.js';

export interface PlannedContainer extends SandboxContainer {
  image?: string;
  limits: Limits;
  /** Its ephemeral-storage limit in bytes, when it has one. */
  ephemeralBytes?: number;
  /** The script's shell function for this container. */
  fn: string;
  /** What the sandbox does not honour for it (for status messages). */
  notes: string[];
}

export interface PodPlan {
  uid: string;
  name: string;
  namespace: string;
  podDir: string;
  volumes: PlannedVolume[];
  /** Volume files (ConfigMaps, Secrets, projected); `dirs`/`hostDirs`/`allFiles`: what the script (or writePodFiles) makes. */
  files: PlannedFile[];
  dirs: string[];
  hostDirs: string[];
  allFiles: PlannedFile[];
  initContainers: PlannedContainer[];
  containers: PlannedContainer[];
  /** The pod's effective limits (see podLimits). */
  limits: Limits;
  /** Who owns the pod's volume files and emptyDirs: the pod's user, group fsGroup (as a kubelet's fsGroup does). */
  volumeOwner?: { uid: number; gid: number };
  /** The supervisor script (pod.sh). */
  script: string;
}

export interface PlanOptions {
  /** Absolute path of the pod directory where the script will run. */
  podDir: string;
  sandbox: Sandbox;
  /** status.podIP for fieldRef; default 127.0.0.1. */
  podIP?: string;
  /** The executor writes the pod's directories and files itself (writePodFiles) before the script runs. */
  filesWritten?: boolean;
}

function planMounts(c: Container, vp: VolumePlan): PlannedMount[] {
  const mounts: PlannedMount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const vol = vp.volumes.get(vm?.name);
    if (!vol) throw fail('BAD_REQUEST', `Container "${c.name}" mounts volume ${JSON.stringify(vm?.name)}, which the pod does not declare.`);
    const target = checkAbsolutePath(`mountPath of container "${c.name}"`, vm.mountPath);
    if (target === '/') throw fail('BAD_REQUEST', `Container "${c.name}" cannot mount a volume at "/".`);
    if (mounts.some((m) => m.target === target)) throw fail('BAD_REQUEST', `Container "${c.name}" mounts two volumes at ${target}.`);
    let source = vol.source;
    if (vm.subPath) {
      const sub = checkRelativePath(`subPath of container "${c.name}"`, vm.subPath);
      source = { in: source.in, path: posix.join(source.path, sub) } as typeof source;
      // A subPath of a writable volume is created if missing, as the kubelet does.
      if (vol.kind === 'emptyDir' && !vp.dirs.includes(source.path)) vp.dirs.push(source.path);
      if (vol.kind === 'hostPath' && !vp.hostDirs.includes(source.path)) vp.hostDirs.push(source.path);
    }
    mounts.push({ volume: vol.name, source, target, readOnly: vol.alwaysReadOnly || vm.readOnly === true });
  }
  return mounts.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/**
 * Turns what interLink sends a plugin into a pod directory plan and its supervisor script.
 * Pure: reads and writes nothing. Bad pods (unknown volumes, missing ConfigMaps, junk quantities,
 * names unsafe as file names) throw BAD_REQUEST.
 */
export function planPod(data: RetrievedPodData, opts: PlanOptions): PodPlan {
  const pod = data?.pod;
  if (!pod?.metadata || !pod.spec || !Array.isArray(pod.spec.containers) || pod.spec.containers.length === 0) {
    throw fail('BAD_REQUEST', 'The pod needs metadata and at least one container.');
  }
  const uid = checkUid(pod.metadata.uid);
  const objs = indexObjects(data);
  const vp = planVolumes(pod, objs);
  const seen = new Set<string>();

  function plan(c: Container, kind: ContainerKind, i: number): PlannedContainer {
    const name = checkLabel('container', c?.name);
    if (seen.has(name)) throw fail('BAD_REQUEST', `Two containers are named "${name}".`);
    seen.add(name);
    const env = resolveEnv(c, pod, objs, { podIP: opts.podIP ?? '127.0.0.1' });
    for (const [k, v] of env) {
      if (v.includes('\0')) throw fail('BAD_REQUEST', `Environment variable ${k} of container "${name}" contains NUL.`);
    }
    const security = effectiveSecurity(pod, c);
    requireEnforceable(name, security, opts.sandbox.support);
    const identity = runIdentity(security, opts.sandbox.support);
    const limits = containerLimits(c);
    const pc: PlannedContainer = {
      kind, name,
      image: typeof c.image === 'string' && c.image ? c.image : undefined,
      argv: resolveArgv(c, env),
      env,
      workingDir: c.workingDir ? checkAbsolutePath(`workingDir of container "${name}"`, c.workingDir) : undefined,
      mounts: planMounts(c, vp),
      security,
      identity,
      podName: String(pod.metadata.name ?? ''),
      owner: pod.metadata.labels?.['hub.jupyter.org/username'],
      ephemeralBytes: ephemeralBytes(c),
      scratchBytes: ephemeralBytes(c) ?? limits.memoryBytes,
      limits,
      fn: `hr_${kind}_${i}`,
      notes: [],
    };
    pc.notes = opts.sandbox.notes(pc);
    return pc;
  }

  const initContainers = (pod.spec.initContainers ?? []).map((c, i) => plan(c, 'init', i));
  const containers = pod.spec.containers.map((c, i) => plan(c, 'run', i));
  const name = String(pod.metadata.name ?? '');
  const namespace = String(pod.metadata.namespace ?? 'default');
  const volumeOwner = ownerOf(pod.spec.securityContext?.fsGroup, containers[0]!.identity);
  const files = [...opts.sandbox.files(), ...vp.files];
  const script = renderScript({
    uid, name, namespace, podDir: opts.podDir,
    dirs: vp.dirs, hostDirs: vp.hostDirs, files, volumeOwner, filesWritten: opts.filesWritten,
    initContainers, containers, sandbox: opts.sandbox,
  });
  return {
    uid, name, namespace, podDir: opts.podDir,
    volumes: [...vp.volumes.values()], files: vp.files,
    dirs: [...new Set([...opts.sandbox.dirs, ...vp.dirs])], hostDirs: vp.hostDirs, allFiles: files,
    initContainers, containers, limits: podLimits(pod), volumeOwner, script,
  };
}

/** Volume files and emptyDirs belong to the pod's (first container's) user, group fsGroup when set. */
function ownerOf(fsGroup: number | undefined, who: RunIdentity | undefined): { uid: number; gid: number } | undefined {
  return who ? { uid: who.uid, gid: fsGroup ?? who.gid } : undefined;
}

/** A container's ephemeral-storage limit (what its private tmpfs may hold; else its memory limit does). */
function ephemeralBytes(c: Container): number | undefined {
  const eph = c.resources?.limits?.['ephemeral-storage'];
  if (eph === undefined) return undefined;
  const v = parseMemory(eph, { field: `limits.ephemeral-storage of container "${c.name}"` });
  return v > 0 ? v : undefined;
}
