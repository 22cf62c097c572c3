import { posix } from 'node:path';
import type { V1PodSecurityContext, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { effectiveSecurity, requireEnforceable, type SecuritySupport } from '../security.js';
import type { Container, Pod } from '../types.js';

/**
 * The pod's securityContext (security.ts) as the Kubernetes executor writes it into the manifest:
 * Kubernetes' own fields, carried, with the executor's options as defaults that only ever make a
 * pod stricter, and its own floor under everything:
 *
 * | field | emitted |
 * |---|---|
 * | pod runAsUser, runAsGroup, fsGroup | the pod's; else options.runAsUser/runAsGroup/fsGroup |
 * | pod runAsNonRoot | true when options.runAsNonRoot (default true) or the pod says so; a pod's false cannot undo the option |
 * | pod supplementalGroups | the pod's |
 * | pod seccompProfile | always RuntimeDefault (a container's own profile, if any, is carried) |
 * | container runAsUser, runAsGroup, readOnlyRootFilesystem, seccompProfile | the container's, when set |
 * | container runAsNonRoot | the container's when set, OR options.runAsNonRoot |
 * | container allowPrivilegeEscalation | always false: no setuid program gains anything, even when a profile allows escalation (as the local executor's no_new_privs; status notes say so) |
 * | container privileged | always false; a privileged container is refused |
 * | container capabilities | drop ALL always; add only NET_BIND_SERVICE (what the "restricted" Pod Security Standard allows); any other add is refused |
 *
 * Refused with POD_SECURITY_UNENFORCEABLE (400) before anything reaches the API server, as
 * every executor refuses what it will not run as asked (security.ts): privileged, capabilities
 * other than NET_BIND_SERVICE, seccompProfile Unconfined (every container gets RuntimeDefault
 * here) or Localhost (a file on nodes the hub does not manage), runAsUser 0 while runAsNonRoot
 * holds (the kubelet would fail the container later with CreateContainerConfigError). Junk values
 * are BAD_REQUEST. So the securityContext of a pod that passes meets the "restricted" Pod
 * Security Standard whenever runAsNonRoot holds (the executor's default); its volumes are another
 * matter (hostPath, with `hostPath: allow`, is not even "baseline").
 */

/** Capabilities a container may add back after dropping ALL. */
export const ADDABLE_CAPABILITIES = ['NET_BIND_SERVICE'];

/** The executor options that act as securityContext defaults (config: executors[].kubernetes.*). */
export interface SecurityDefaults {
  /** Default true. */
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
}

/** What the Kubernetes executor enforces, in security.ts's terms. */
export function kubernetesSupport(executor: string, o: SecurityDefaults): SecuritySupport {
  return {
    where: `executor "${executor}" (Kubernetes)`,
    users: 'image',
    readOnlyRoot: 'honoured',
    seccomp: 'always',
    dropsAllCapabilities: true,
    allowedCapabilities: ADDABLE_CAPABILITIES,
    allowRoot: !(o.runAsNonRoot ?? true),
  };
}

/**
 * A container's securityContext for the manifest; throws POD_SECURITY_UNENFORCEABLE or
 * BAD_REQUEST. `notes` receives what is run more strictly than asked.
 */
export function containerSecurityContext(pod: Pod, c: Container, executor: string, o: SecurityDefaults, notes: string[]): V1SecurityContext {
  const asked = effectiveSecurity(pod, c);
  const nonRoot = o.runAsNonRoot ?? true;
  // What the container will run with once the options are applied, checked as a whole.
  requireEnforceable(c.name, { ...asked, runAsUser: asked.runAsUser ?? o.runAsUser, runAsNonRoot: asked.runAsNonRoot || nonRoot }, kubernetesSupport(executor, o));
  const own = c.securityContext ?? {};
  if (own.allowPrivilegeEscalation === true) {
    notes.push(`container "${c.name}": allowPrivilegeEscalation true not honoured (containers never gain privileges here)`);
  }
  const explicitRoot = own.runAsNonRoot === false || (own.runAsNonRoot === undefined && pod.spec.securityContext?.runAsNonRoot === false);
  if (explicitRoot && nonRoot) notes.push(`container "${c.name}": runAsNonRoot false not honoured (this executor runs no container as root)`);
  return {
    ...(own.runAsUser !== undefined ? { runAsUser: own.runAsUser } : {}),
    ...(own.runAsGroup !== undefined ? { runAsGroup: own.runAsGroup } : {}),
    ...(own.runAsNonRoot !== undefined ? { runAsNonRoot: own.runAsNonRoot || nonRoot } : {}),
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'], ...(asked.capabilities.add.length ? { add: [...new Set(asked.capabilities.add)] } : {}) },
    ...(own.readOnlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: own.readOnlyRootFilesystem } : {}),
    ...(own.seccompProfile ? { seccompProfile: { type: own.seccompProfile.type } } : {}),
  };
}

/** The pod's securityContext for the manifest (its containers were checked by containerSecurityContext). */
export function podSecurityContext(pod: Pod, o: SecurityDefaults): V1PodSecurityContext {
  const p = pod.spec.securityContext ?? {};
  const runAsUser = p.runAsUser ?? o.runAsUser;
  const runAsGroup = p.runAsGroup ?? o.runAsGroup;
  const fsGroup = p.fsGroup ?? o.fsGroup;
  return {
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    ...((o.runAsNonRoot ?? true) || p.runAsNonRoot === true ? { runAsNonRoot: true } : {}),
    ...(fsGroup !== undefined ? { fsGroup } : {}),
    ...(p.supplementalGroups?.length ? { supplementalGroups: [...p.supplementalGroups] } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * A writable /tmp for a container whose root file system is read-only: the kubelet adds none,
 * and Jupyter (runtime files), Dask (spill and lock files) and most tools need one. One emptyDir
 * per container (private, as a container's own /tmp would be), unless it mounts a volume at
 * /tmp itself. Returns the volume to add to the pod and the mount to put first in the container.
 */
export function scratchTmp(sc: V1SecurityContext, mounts: V1VolumeMount[], taken: Set<string>): { volume: V1Volume; mount: V1VolumeMount } | null {
  if (sc.readOnlyRootFilesystem !== true) return null;
  if (mounts.some((m) => posix.normalize(m.mountPath).replace(/(.)\/+$/, '$1') === '/tmp')) return null;
  let n = 0;
  while (taken.has(`highrate-tmp-${n}`)) n++;
  const name = `highrate-tmp-${n}`;
  taken.add(name);
  return { volume: { name, emptyDir: {} }, mount: { name, mountPath: '/tmp' } };
}
