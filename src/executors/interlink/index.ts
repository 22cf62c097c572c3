/** The interlink executor: pods on a remote site through interLink's API or one of its plugins. */
export { InterlinkExecutor, toPodCreateRequests, type InterlinkExecutorOptions } from './executor.js';
export { InterlinkTransport, type TransportOptions } from './transport.js';
