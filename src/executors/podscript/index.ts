/** Pod → supervisor script, shared by the executors that run pods as processes or batch jobs. */
export { planPod, type PodPlan, type PlannedContainer, type PlanOptions } from './plan.js';
export { hostSandbox, runnerSupport, type Sandbox, type SandboxContainer, type PlannedMount, type HostSandboxOptions } from './sandbox.js';
export { bwrapSandbox, type BwrapOptions } from './bwrap.js';
export { runIdentity, type RunIdentity } from './identity.js';
export { containerLimits, podLimits, type Limits } from './limits.js';
export { expandReferences, resolveEnv } from './env.js';
export * from './layout.js';
export type { PlannedFile, PlannedVolume, VolumeSource } from './volumes.js';
