import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../../errors/catalogue.js';
import { bwrapSandbox, hostSandbox, type Sandbox } from '../podscript/index.js';
import { seccompProgram } from '../podscript/seccomp.js';
import { containerSandbox } from './container-sandbox.js';

/** How containers run on a batch node; the same choices for every batch system. */
export interface BatchNodeOptions {
  /** Runs each container's image with this runtime on the node; none: containers are host processes. */
  containerRuntime?: 'none' | 'apptainer' | 'singularity' | 'podman';
  /** For host processes (containerRuntime none): bubblewrap per container on the node (needs bwrap there). */
  sandbox?: 'none' | 'bwrap';
  /** More paths containers must not see with the bwrap sandbox (the state directory always is). */
  hiddenPaths?: string[];
  /** bubblewrap's path on the nodes (default /usr/bin/bwrap). */
  bwrapPath?: string;
}

/** The sandbox for a batch executor's jobs, and whether it honours images. */
export function nodeSandbox(opts: BatchNodeOptions & { name: string; stateDir: string }): { sandbox: Sandbox; runsImages: boolean } {
  const runtime = opts.containerRuntime ?? 'none';
  if (runtime !== 'none') return { sandbox: containerSandbox(runtime), runsImages: true };
  if (opts.sandbox === 'bwrap') {
    const bwrap = opts.bwrapPath ?? '/usr/bin/bwrap';
    if (!existsSync(bwrap)) throw fail('CONFIG_INVALID', `Executor "${opts.name}": sandbox "bwrap" needs ${bwrap} (Debian package bubblewrap) on the nodes.`);
    // Where hub and job share a machine, the executor's state (job scripts with Secrets) stays hidden.
    return { sandbox: bwrapSandbox({ bwrap, hide: [resolve(opts.stateDir), ...(opts.hiddenPaths ?? []).map((p) => resolve(p))], seccomp: seccompProgram() }), runsImages: false };
  }
  return { sandbox: hostSandbox(), runsImages: false };
}
