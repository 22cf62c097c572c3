import { fail } from '../../errors/catalogue.js';
import { runIdentity, type RunIdentity } from '../podscript/identity.js';
import { runnerSupport } from '../podscript/sandbox.js';
import { effectiveSecurity, type SecuritySupport } from '../security.js';
import type { Pod } from '../types.js';
import { unreachable, type Account, type Accounts } from './accounts.js';

/**
 * Who a batch job runs as (`<kind>.runJobsAs`):
 * - user: the pod's own user: `sbatch --uid/--gid`, HTCondor's `+Owner`. Only root may submit for
 *   others, and the batch system must know the uid as an account; a pod it cannot run so is refused.
 * - executor: highrate's own account. As root the job is root on the node and the sandbox switches
 *   each container to its user itself; otherwise every container runs as highrate's uid.
 * - auto: as root, `user` for each pod that can run so, `executor` for the others; else `executor`.
 */
export type RunJobsAs = 'auto' | 'user' | 'executor';

/** The user a job is submitted for: its account and the group it runs with (the pod's runAsGroup). */
export interface JobUser {
  name: string;
  uid: number;
  /** The job's primary group (`sbatch --gid`): the pod's group, as the sandbox resolves it. */
  gid: number;
  /** The groups the job has on the node: the account's (Slurm and HTCondor set them with initgroups). */
  groups: number[];
}

/** The uid/gid of a container without runAsUser when the sandbox can switch users (nobody). */
export const DEFAULT_USER = runnerSupport({ runnerUid: 0 }).defaultUser!;

/**
 * The one identity every container of the pod runs as, resolved as a sandbox that may switch users
 * resolves it (`runIdentity`), so the job's user and the containers' users are the same by
 * construction; null with the reason when the containers differ. Malformed pods give null without
 * a reason: planPod refuses them with the exact error.
 */
export function podIdentity(pod: Pod, defaultUser = DEFAULT_USER): { who: RunIdentity; groups: number[] } | { why: string } | null {
  const containers = [...(pod?.spec?.initContainers ?? []), ...(Array.isArray(pod?.spec?.containers) ? pod.spec.containers : [])];
  if (!containers.length) return null;
  const can: SecuritySupport = { where: '', users: 'any', defaultUser, readOnlyRoot: 'always', seccomp: 'always', dropsAllCapabilities: true };
  const seen = containers.map((c) => ({ name: c?.name, id: runIdentity(effectiveSecurity(pod, c), can)! }));
  const first = seen[0]!.id;
  if (seen.some((s) => s.id.uid !== first.uid || s.id.gid !== first.gid)) {
    return { why: `its containers run as different users (${seen.map((s) => `${s.name}: ${s.id.uid}:${s.id.gid}`).join(', ')}), and a job runs as one` };
  }
  return { who: first, groups: [...new Set(seen.flatMap((s) => s.id.groups))] };
}

export interface JobUserInput {
  mode: RunJobsAs;
  /** The configuration key of the option, for messages: "slurm.runJobsAs". */
  option: string;
  /** 'executor "hpc"', for messages. */
  executor: string;
  pod: Pod;
  accounts: Accounts;
  /** Where job directories are made; must be searchable by the user. */
  jobRoot: string;
  /** The batch system starts a job with its account's primary group only (HTCondor), not any group of it (Slurm's --gid). */
  primaryGroupOnly?: boolean;
}

/** A job for the pod's user, or the executor's account with the reason (null: by configuration). */
export type JobUserChoice = { user: JobUser } | { executor: string | null };

/**
 * Whether this pod's job runs as its user. In `user` mode a pod that cannot is refused with
 * POD_SECURITY_UNENFORCEABLE naming the fix; in `auto` it runs as the executor's account and the
 * reason is returned. The caller has already settled that highrate runs as root and the hub
 * prepares the job directories (else the mode is `executor`).
 */
export async function chooseJobUser(i: JobUserInput): Promise<JobUserChoice> {
  if (i.mode === 'executor') return { executor: null };
  const refuse = (why: string, fix: string): JobUserChoice => {
    if (i.mode === 'auto') return { executor: why };
    throw fail('POD_SECURITY_UNENFORCEABLE', `${i.executor} runs each job as its pod's user (${i.option}: user), but ${why}. ${fix}, or set ${i.option}: executor (jobs run as highrate's own account; the sandbox still runs each container as the pod's user).`);
  };
  const found = podIdentity(i.pod);
  if (!found) return { executor: null };
  if ('why' in found) return refuse(found.why, 'Run them in separate pods');
  const { who, groups } = found;
  // A pod that asks for root is refused by the sandbox whoever submits it.
  if (who.uid === 0) return { executor: null };
  const account: Account | null = await i.accounts.byUid(who.uid);
  if (!account) {
    return refuse(
      `uid ${who.uid} has no account on this host (getent passwd ${who.uid} finds none): Slurm and HTCondor run jobs only for users they can resolve`,
      'Give the platform\'s users accounts known to the batch system (pods.identity: accounts, with the same accounts on the controller and the nodes)',
    );
  }
  const has = new Set(account.groups);
  if (!has.has(who.gid)) {
    return refuse(`its group ${who.gid} is not a group of account ${account.name} (uid ${who.uid})`, `Add ${account.name} to group ${who.gid}`);
  }
  if (i.primaryGroupOnly && who.gid !== account.gid) {
    return refuse(`its group ${who.gid} is not the primary group of account ${account.name} (${account.gid}), the only group the batch system starts a job with`, `Run the pod with runAsGroup ${account.gid}`);
  }
  const missing = groups.filter((g) => !has.has(g));
  if (missing.length) {
    return refuse(`its containers ask for group${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which account ${account.name} is not in (a job submitted as ${account.name} has that account's groups)`, `Add ${account.name} to ${missing.length > 1 ? 'them' : 'it'}`);
  }
  const user: JobUser = { name: account.name, uid: who.uid, gid: who.gid, groups: account.groups };
  const accessor = { uid: user.uid, groups: user.groups };
  const root = unreachable(i.jobRoot, accessor, { includeSelf: true });
  if (root) return refuse(`its job directory cannot be reached: ${root}`, 'Make jobRoot and the directories above it searchable by every user (e.g. mode 0711)');
  for (const v of i.pod.spec.volumes ?? []) {
    const p = v?.hostPath?.path;
    const why = typeof p === 'string' ? unreachable(p, accessor) : null;
    if (why) return refuse(`its hostPath volume "${v.name}" (${p}) cannot be reached: ${why}`, `Put the volume where ${account.name} can reach it`);
  }
  return { user };
}
