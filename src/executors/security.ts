import { fail } from '../errors/catalogue.js';
import type { Container, Pod, PodSecurityContext, SeccompProfile, SecurityContext } from './types.js';

export type { PodSecurityContext, SeccompProfile, SecurityContext } from './types.js';

/**
 * The pod's security model: Kubernetes' own `securityContext` (core/v1 PodSecurityContext and
 * SecurityContext, field names exactly), so a pod means the same on every executor. The hub writes
 * it for every workload (`restrictedSecurity`); each executor enforces it or refuses the pod with
 * POD_SECURITY_UNENFORCEABLE, never runs it weaker in silence (`checkEnforceable`).
 */

/** What one container runs with: the container's fields over the pod's, Kubernetes' defaults for the rest. */
export interface EffectiveSecurity {
  /** Unset: the executor's default user (an image's USER on Kubernetes). */
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot: boolean;
  fsGroup?: number;
  supplementalGroups: number[];
  /** Kubernetes' default is true; false means no_new_privs. */
  allowPrivilegeEscalation: boolean;
  privileged: boolean;
  /** Upper-case names without the CAP_ prefix; "ALL" may appear in drop (and add). */
  capabilities: { add: string[]; drop: string[] };
  readOnlyRootFilesystem: boolean;
  /** Unset: the executor's default (Kubernetes: Unconfined unless the kubelet defaults it). */
  seccomp?: SeccompProfile;
}

/** Largest id Linux accepts (2^32 - 2; -1 means "unchanged" to setresuid). */
const MAX_ID = 4294967294;
const CAPABILITY = /^(CAP_)?[A-Z][A-Z_]{1,40}$/;

function id(what: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ID) {
    throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(v)}: must be an integer between 0 and ${MAX_ID}.`);
  }
  return v;
}

function bool(what: string, v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `Invalid ${what} ${JSON.stringify(v)}: must be true or false.`);
  return v;
}

function capabilities(what: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', `Invalid ${what}: must be a list of capability names.`);
  return v.map((c) => {
    if (typeof c !== 'string' || !CAPABILITY.test(c.toUpperCase())) throw fail('BAD_REQUEST', `Invalid capability ${JSON.stringify(c)} in ${what}.`);
    return c.toUpperCase().replace(/^CAP_/, '');
  });
}

function seccomp(what: string, v: unknown): SeccompProfile | undefined {
  if (v === undefined || v === null) return undefined;
  const p = v as Partial<SeccompProfile>;
  if (typeof v !== 'object' || !['RuntimeDefault', 'Unconfined', 'Localhost'].includes(p.type as string)) {
    throw fail('BAD_REQUEST', `Invalid ${what}: type must be RuntimeDefault, Unconfined or Localhost.`);
  }
  if (p.type === 'Localhost' && (typeof p.localhostProfile !== 'string' || p.localhostProfile === '')) {
    throw fail('BAD_REQUEST', `Invalid ${what}: type Localhost needs localhostProfile.`);
  }
  return p.type === 'Localhost' ? { type: 'Localhost', localhostProfile: p.localhostProfile } : { type: p.type! };
}

function object(what: string, v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw fail('BAD_REQUEST', `Invalid ${what}: must be an object.`);
  return v as Record<string, unknown>;
}

/**
 * The security a container of the pod runs with, validated (junk is BAD_REQUEST): the
 * container's securityContext wins field by field over the pod's, as on a kubelet.
 */
export function effectiveSecurity(pod: Pod, c: Container): EffectiveSecurity {
  const who = `container "${c.name}"`;
  const p = object('the pod\'s securityContext', pod.spec.securityContext);
  const s = object(`the securityContext of ${who}`, (c as Container & { securityContext?: unknown }).securityContext);
  const groups = p.supplementalGroups;
  if (groups !== undefined && groups !== null && !Array.isArray(groups)) throw fail('BAD_REQUEST', 'Invalid supplementalGroups: must be a list of group ids.');
  const caps = object(`capabilities of ${who}`, s.capabilities);
  const out: EffectiveSecurity = {
    runAsUser: id(`runAsUser of ${who}`, s.runAsUser) ?? id('runAsUser of the pod', p.runAsUser),
    runAsGroup: id(`runAsGroup of ${who}`, s.runAsGroup) ?? id('runAsGroup of the pod', p.runAsGroup),
    runAsNonRoot: bool(`runAsNonRoot of ${who}`, s.runAsNonRoot) ?? bool('runAsNonRoot of the pod', p.runAsNonRoot) ?? false,
    fsGroup: id('fsGroup of the pod', p.fsGroup),
    supplementalGroups: ((groups as unknown[] | undefined) ?? []).map((g) => id('supplementalGroups entry', g)!),
    allowPrivilegeEscalation: bool(`allowPrivilegeEscalation of ${who}`, s.allowPrivilegeEscalation) ?? true,
    privileged: bool(`privileged of ${who}`, s.privileged) ?? false,
    capabilities: { add: capabilities(`capabilities.add of ${who}`, caps.add), drop: capabilities(`capabilities.drop of ${who}`, caps.drop) },
    readOnlyRootFilesystem: bool(`readOnlyRootFilesystem of ${who}`, s.readOnlyRootFilesystem) ?? false,
    seccomp: seccomp(`seccompProfile of ${who}`, s.seccompProfile) ?? seccomp('seccompProfile of the pod', p.seccompProfile),
  };
  if (out.privileged && out.allowPrivilegeEscalation === false) {
    throw fail('BAD_REQUEST', `${who} cannot be privileged and disallow privilege escalation (Kubernetes refuses this too).`);
  }
  return out;
}

/** The Unix identity a workload runs as. */
export interface UnixIdentity {
  uid: number;
  gid: number;
  /** More groups (a facility's project groups). */
  groups?: number[];
}

/**
 * What the hub writes into every pod it makes (notebook, scheduler, worker, job): Kubernetes'
 * "restricted" Pod Security Standard with the owner's identity. `relax` (a profile's
 * `securityContext`) may loosen container fields; the administrator wrote it, so it is explicit.
 */
export function restrictedSecurity(who: UnixIdentity, relax: SecurityContext = {}): { pod: PodSecurityContext; container: SecurityContext } {
  return {
    pod: {
      runAsUser: who.uid,
      runAsGroup: who.gid,
      runAsNonRoot: true,
      fsGroup: who.gid,
      ...(who.groups?.length ? { supplementalGroups: [...who.groups] } : {}),
      seccompProfile: { type: 'RuntimeDefault' },
    },
    container: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      seccompProfile: { type: 'RuntimeDefault' },
      ...relax,
    },
  };
}

/** What an executor's sandbox can enforce, for `checkEnforceable`. */
export interface SecuritySupport {
  /** Shown in refusals, e.g. 'executor "local" (bubblewrap)'. */
  where: string;
  /**
   * Which users containers can run as: 'any' (the sandbox starts as root and switches), or the one
   * uid it runs as (it cannot switch), or 'image' (a container runtime: the image decides).
   */
  users: 'any' | 'image' | number;
  /** The uid/gid a container without runAsUser gets (any: e.g. nobody; a number: its own). */
  defaultUser?: { uid: number; gid: number };
  /** With `users` a number: the supplementary groups it has (the only ones it can give). */
  groups?: number[];
  /** Whether the root file system is read-only whatever the pod asks (a host's root is never the pod's to write). */
  readOnlyRoot: 'always' | 'honoured' | 'never';
  /** Applies its RuntimeDefault seccomp filter (to every container, asked or not, when 'always'). */
  seccomp: 'always' | 'honoured' | 'never';
  /** Drops every capability and sets no_new_privs for every container. */
  dropsAllCapabilities: boolean;
  /** Capabilities a container may add (empty: none). */
  allowedCapabilities?: string[];
  /** Whether containers may run as uid 0 at all. */
  allowRoot?: boolean;
}

/** The uid a container will run as on this sandbox, or undefined where the image decides. */
export function resolvedUser(sec: EffectiveSecurity, can: SecuritySupport): number | undefined {
  if (sec.runAsUser !== undefined) return sec.runAsUser;
  if (typeof can.users === 'number') return can.users;
  return can.users === 'any' ? can.defaultUser?.uid : undefined;
}

/**
 * Why the sandbox cannot run the container as its security context says (empty: it can). A
 * sandbox may run a container *more* strictly than asked (a read-only root when a writable one
 * was allowed, no_new_privs when escalation was allowed); it never runs one less strictly.
 */
export function unenforceable(sec: EffectiveSecurity, can: SecuritySupport): string[] {
  const out: string[] = [];
  const uid = resolvedUser(sec, can);
  if (sec.privileged) out.push('privileged containers are not allowed');
  if (typeof can.users === 'number') {
    // A sandbox that is not root keeps its own uid and groups: it can only honour those.
    if (sec.runAsUser !== undefined && sec.runAsUser !== can.users) {
      out.push(`runAsUser ${sec.runAsUser}: it runs as uid ${can.users} and cannot switch users (run highrate as root to run each user's pods as their own uid)`);
    }
    const have = new Set([can.defaultUser?.gid, ...(can.groups ?? [])]);
    const missing = [...new Set([sec.runAsGroup, sec.fsGroup, ...sec.supplementalGroups].filter((g): g is number => g !== undefined && !have.has(g)))];
    if (missing.length) out.push(`group${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: it cannot switch groups`);
  }
  if (uid === 0 && !can.allowRoot) out.push('containers may not run as root (uid 0) here');
  if (sec.runAsNonRoot && uid === 0) out.push('runAsNonRoot is set but the container would run as uid 0');
  if (sec.readOnlyRootFilesystem && can.readOnlyRoot === 'never') out.push('readOnlyRootFilesystem: the root file system cannot be made read-only');
  const wants = sec.seccomp?.type;
  if ((wants === 'RuntimeDefault' || wants === 'Localhost') && can.seccomp === 'never') out.push(`seccompProfile ${wants}: no seccomp filter can be applied`);
  if (wants === 'Localhost') out.push(`seccompProfile Localhost (${sec.seccomp!.localhostProfile}): only RuntimeDefault is supported`);
  if (wants === 'Unconfined' && can.seccomp === 'always') out.push('seccompProfile Unconfined: every container runs with the RuntimeDefault filter here');
  const dropAll = sec.capabilities.drop.includes('ALL');
  if (dropAll && !can.dropsAllCapabilities) out.push('capabilities.drop ALL: capabilities cannot be dropped');
  if (!sec.allowPrivilegeEscalation && !can.dropsAllCapabilities) out.push('allowPrivilegeEscalation false: no_new_privs cannot be set');
  const allowed = new Set(can.allowedCapabilities ?? []);
  const added = sec.capabilities.add.filter((c) => !allowed.has(c));
  if (added.length) out.push(`capabilities.add ${added.join(', ')}: ${allowed.size ? `only ${[...allowed].join(', ')} may be added` : 'no capability may be added'}`);
  return out;
}

/** Throws POD_SECURITY_UNENFORCEABLE naming every reason, or returns quietly. */
export function requireEnforceable(container: string, sec: EffectiveSecurity, can: SecuritySupport): void {
  const why = unenforceable(sec, can);
  if (why.length) {
    const where = can.where.charAt(0).toUpperCase() + can.where.slice(1);
    throw fail('POD_SECURITY_UNENFORCEABLE', `${where} cannot run container "${container}" as its securityContext asks: ${why.join('; ')}.`);
  }
}
