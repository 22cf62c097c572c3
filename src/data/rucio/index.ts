/** The Rucio REST client: `new RucioClient({url, credential: userpass(...)})`. */
export { RucioClient, type RucioClientOptions, type RucioCaller } from './client.js';
export { userpass, x509, oidcToken, jwtExpiry, parseRucioDate, formatRucioDate, type RucioCredential, type RucioToken } from './auth.js';
export { RucioError, isRucioError, rucioErrorFrom, type RucioExceptionClass } from './errors.js';
export { didPath, pythonLiteral } from './dids.js';
export type * from './types.js';
