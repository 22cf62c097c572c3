/** `highrate plugin serve`: any executor as an interLink plugin (and a thin interLink API). */
export { createPluginHandler, servePlugin, parseListen, SESSION_HEADER, type PluginHandlerOptions, type PluginServer, type ServePluginOptions, type ListenAddress, type PluginTlsOptions } from './server.js';
export { createBearerAuth, bearerToken, type BearerAuthConfig, type BearerAuthenticator, type BearerPrincipal } from './auth.js';
export { checkLogStruct, checkPodCreateRequests, checkRetrievedPodData, checkPodList, toRetrievedPodData, goLogStruct, GO_ZERO_TIME } from '../executors/interlink/wire.js';
