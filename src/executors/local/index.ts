/** The local executor: pods as detached process trees on this host. */
export { LocalExecutor, probeBwrap, type LocalExecutorOptions, type LocalPodInfo } from './executor.js';
export { detectCgroups, readCgroupLimits, type CgroupDriver, type PodCgroup } from './cgroups.js';
