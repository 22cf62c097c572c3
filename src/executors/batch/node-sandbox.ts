import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../../errors/catalogue.js';
import { bwrapSandbox, hostSandbox, type HostSandboxOptions, type Sandbox } from '../podscript/index.js';
import { seccompProgram } from '../podscript/seccomp.js';
import { containerSandbox } from './container-sandbox.js';

/** How containers run on a batch node; the same choices for every batch system. */
export interface BatchNodeOptions {
  /** Runs each container's image with this runtime on the node; none: containers are host processes. */
  containerRuntime?: 'none' | 'apptainer' | 'singularity' | 'podman';
  /**
   * For host processes (containerRuntime none): bubblewrap per container on the node (needs bwrap
   * there); auto (default): bwrap when `bwrapPath` exists on the hub's machine (the nodes are
   * taken to be alike), else none.
   */
  sandbox?: 'auto' | 'none' | 'bwrap';
  /** More paths containers must not see with the bwrap sandbox (the state directory always is). */
  hiddenPaths?: string[];
  /** bubblewrap's path on the nodes (default /usr/bin/bwrap). */
  bwrapPath?: string;
}

/** Who runs a job's supervisor when the job is submitted for a user: its uid, group and groups. */
export interface JobRunner { uid: number; gid: number; groups: number[] }

/** The sandboxes of a batch executor: one for jobs of its own account, one per user for jobs submitted as them. */
export interface NodeSandboxes {
  /** Jobs that run as the executor's own account (root switches to each container's user). */
  sandbox: Sandbox;
  /** The same sandbox for a job that runs as `who`: it cannot switch users, so it honours `who` only. */
  userSandbox: (who: JobRunner) => Sandbox;
  runsImages: boolean;
  /** A sentence naming the fix for a POD_SECURITY_UNENFORCEABLE message, when the configuration has one. */
  securityHint: (message: string) => string | undefined;
}

/** The sandbox for a batch executor's jobs, and whether it honours images. */
export function nodeSandbox(opts: BatchNodeOptions & { name: string; stateDir: string; kind?: string }): NodeSandboxes {
  const kind = opts.kind ?? 'slurm';
  const runtime = opts.containerRuntime ?? 'none';
  const where = (what: string, who?: JobRunner) => `executor "${opts.name}" (${what}${who ? `, a job of uid ${who.uid}` : ''})`;
  const runnerOf = (what: string, who?: JobRunner): HostSandboxOptions => ({
    where: where(what, who), ...(who ? { runnerUid: who.uid, runnerGid: who.gid, runnerGroups: who.groups } : {}),
  });
  if (runtime !== 'none') {
    const what = `${runtime} on the node`;
    return {
      sandbox: containerSandbox(runtime, { runner: runnerOf(what) }),
      userSandbox: (who) => containerSandbox(runtime, { runner: runnerOf(what, who) }),
      runsImages: true,
      securityHint: () => undefined,
    };
  }
  const bwrap = opts.bwrapPath ?? '/usr/bin/bwrap';
  const mode = opts.sandbox ?? 'auto';
  if (mode === 'bwrap' && !existsSync(bwrap)) {
    throw fail('CONFIG_INVALID', `Executor "${opts.name}": sandbox "bwrap" needs ${bwrap} (Debian package bubblewrap) on the nodes.`);
  }
  if (mode === 'bwrap' || (mode === 'auto' && existsSync(bwrap))) {
    // Where hub and job share a machine, the executor's state (job scripts with Secrets) stays hidden.
    const base = { bwrap, hide: [resolve(opts.stateDir), ...(opts.hiddenPaths ?? []).map((p) => resolve(p))], seccomp: seccompProgram() };
    const what = 'bubblewrap on the node';
    return {
      sandbox: bwrapSandbox({ ...base, ...runnerOf(what) }),
      userSandbox: (who) => bwrapSandbox({ ...base, ...runnerOf(what, who) }),
      runsImages: false,
      securityHint: () => undefined,
    };
  }
  const what = 'host processes on the node, no sandbox';
  return {
    sandbox: hostSandbox(runnerOf(what)),
    userSandbox: (who) => hostSandbox(runnerOf(what, who)),
    runsImages: false,
    securityHint: (message) => (/readOnlyRootFilesystem|seccompProfile/.test(message)
      ? `Set ${kind}.sandbox: bwrap (bubblewrap on the nodes: a read-only root and the seccomp filter for every container), or relax the profile's securityContext (readOnlyRootFilesystem: false, seccompProfile: {type: Unconfined}).`
      : undefined),
  };
}
