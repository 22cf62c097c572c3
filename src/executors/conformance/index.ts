/** The executor conformance suite: `runExecutorConformance({ name, newExecutor, skip })` in a test file. */
export { runExecutorConformance, CASES, type CaseName, type ConformanceOptions, type ObservedLimits } from './suite.js';
export { conformancePod, shContainer, waitForStatus, readAll, NAMESPACE } from './pods.js';
export type { SecurityExpectations } from './security.js';
