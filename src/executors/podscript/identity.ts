import { resolvedUser, type EffectiveSecurity, type SecuritySupport } from '../security.js';
import { shQuote } from './shell.js';

/** Who a container's process is: uid, primary gid and supplementary groups. */
export interface RunIdentity {
  uid: number;
  gid: number;
  groups: number[];
}

/**
 * The identity a container runs as on a sandbox, or undefined where an image runtime decides.
 * The group, when the pod names none, is the executor's default user's group for a defaulted
 * user, else the uid itself (a user private group, as Debian's adduser makes) — never Kubernetes'
 * fallback of gid 0, which would hand out root's group. fsGroup joins the supplementary groups,
 * as on a kubelet.
 */
export function runIdentity(sec: EffectiveSecurity, can: SecuritySupport): RunIdentity | undefined {
  const uid = resolvedUser(sec, can);
  if (uid === undefined) return undefined;
  const gid = sec.runAsGroup ?? (sec.runAsUser === undefined ? can.defaultUser?.gid : undefined) ?? uid;
  const groups = [...new Set([sec.fsGroup, ...sec.supplementalGroups].filter((g): g is number => g !== undefined && g !== gid))];
  return { uid, gid, groups };
}

/**
 * setpriv(1) arguments that become `who` for good, run as root inside the sandbox: real, effective
 * and saved ids, exactly these groups, no capabilities in any set (inheritable, ambient and the
 * bounding set, so no setuid binary can hand any back) and no_new_privs.
 */
export function setprivArgs(setpriv: string, who: RunIdentity): string[] {
  return [
    setpriv, `--reuid=${who.uid}`, `--regid=${who.gid}`,
    who.groups.length ? `--groups=${who.groups.join(',')}` : '--clear-groups',
    '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
  ];
}

/** The passwd line a sandbox adds when the host has no account for the uid (so `id`, git and shells know a name). */
export function passwdLine(name: string, who: RunIdentity, home: string): string {
  const safe = /^[a-z_][a-z0-9._-]{0,31}$/.test(name) ? name : `u${who.uid}`;
  return `${safe}:x:${who.uid}:${who.gid}:highrate user:${home.replace(/[:\n]/g, '_')}:/bin/sh`;
}

/** Shell word for `passwdLine`'s output. */
export function passwdWord(name: string, who: RunIdentity, home: string): string {
  return shQuote(passwdLine(name, who, home));
}
