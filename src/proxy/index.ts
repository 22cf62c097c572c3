/** The proxy part: run it (`startProxy`) or drive one from the hub (`ProxyClient`). */
export { startProxy, type RunningProxy } from './server.js';
export { ProxyClient, type ProxyRoute } from './client.js';
export { parseProxyArgs, checkProxyOptions, USAGE as PROXY_USAGE, type ProxyOptions, type ProxyCommandLine } from './options.js';
export { SESSION_COOKIE } from './credential.js';
export type { AuthDecision, AuthCacheOptions } from './auth-cache.js';
export { runProxyProcess } from './process.js';
