/** Pod → supervisor script, shared by the executors that run pods as processes or batch jobs. */
export { planPod, type PodPlan, type PlannedContainer, type PlanOptions } from './plan.js';
export { hostSandbox, bwrapSandbox, type Sandbox, type SandboxContainer, type PlannedMount, type BwrapOptions } from './sandbox.js';
export { containerLimits, podLimits, type Limits } from './limits.js';
export { expandReferences, resolveEnv } from './env.js';
export * from './layout.js';
export type { PlannedFile, PlannedVolume, VolumeSource } from './volumes.js';
