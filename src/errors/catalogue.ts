/**
 * The one error catalogue. Every error a user or client can see has a stable `code`, an HTTP
 * status and a message safe to show; log detail is kept apart (`detail`) and never sent.
 * docs/errors.md lists every code; src/errors/catalogue.test.ts fails when the two disagree.
 */
export const ERRORS = {
  // 400 — bad input
  BAD_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_NAME: { status: 400, message: 'Invalid name.' },
  INVALID_OPTIONS: { status: 400, message: 'Invalid server options.' },
  INVALID_SCOPE: { status: 400, message: 'Unknown or disallowed scope.' },
  SERVER_ALREADY_RUNNING: { status: 400, message: 'The server is already running.' },
  SERVER_PENDING: { status: 400, message: 'The server is busy starting or stopping.' },
  NAMED_SERVERS_DISABLED: { status: 400, message: 'Named servers are not enabled.' },
  CONFIG_INVALID: { status: 400, message: 'The configuration is invalid.' },
  POD_SECURITY_UNENFORCEABLE: { status: 400, message: 'The executor cannot enforce the pod\'s security context.' },
  STORAGE_BAD_PATH: { status: 400, message: 'A storage path must be absolute (start with /), without "." or ".." parts, e.g. /public/run1.' },
  // OAuth 2 token endpoint (RFC 6749 §5.2): the body also carries `error` and `error_description`
  OAUTH_INVALID_REQUEST: { status: 400, message: 'The OAuth request is malformed.' },
  OAUTH_UNSUPPORTED_GRANT_TYPE: { status: 400, message: 'Only the authorization_code grant is supported.' },
  OAUTH_INVALID_GRANT: { status: 400, message: 'The authorization code is invalid, expired or already used.' },
  // 401/403 — who you are, what you may do
  UNAUTHENTICATED: { status: 401, message: 'Authentication required.' },
  OAUTH_INVALID_CLIENT: { status: 401, message: 'Unknown OAuth client or wrong client secret.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  MISSING_SCOPE: { status: 403, message: 'The credential lacks a required scope.' },
  CSRF_FAILED: { status: 403, message: 'Cross-site request refused: missing or wrong XSRF token.' },
  ORIGIN_REFUSED: { status: 403, message: 'Cross-origin request refused: its Origin is not this site.' },
  LOGIN_REFUSED: { status: 403, message: 'Login refused.' },
  QUOTA_EXCEEDED: { status: 403, message: 'The request would exceed a quota.' },
  STORAGE_FORBIDDEN: { status: 403, message: 'The storage element refused your storage token for this path: your token reads the public area and your own; ask the facility\'s administrators for others.' },
  // 404/405/409/413/415/429
  NOT_FOUND: { status: 404, message: 'Not found.' },
  USER_NOT_FOUND: { status: 404, message: 'No such user.' },
  SERVER_NOT_FOUND: { status: 404, message: 'No such server.' },
  TOKEN_NOT_FOUND: { status: 404, message: 'No such token.' },
  GROUP_NOT_FOUND: { status: 404, message: 'No such group.' },
  ROLE_NOT_FOUND: { status: 404, message: 'No such role.' },
  SERVICE_NOT_FOUND: { status: 404, message: 'No such service.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route.' },
  WORKLOAD_NOT_FOUND: { status: 404, message: 'No such workload.' },
  CLUSTER_NOT_FOUND: { status: 404, message: 'No such cluster.' },
  DATA_NOT_FOUND: { status: 404, message: 'No such data identifier or rule in Rucio.' },
  STORAGE_NOT_FOUND: { status: 404, message: 'No such file or directory on the storage element.' },
  STORAGE_NOT_CONFIGURED: { status: 404, message: 'This hub runs no embedded storage element (storage.embedded in its config).' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed.' },
  USER_EXISTS: { status: 409, message: 'User already exists.' },
  CONFLICT: { status: 409, message: 'Conflict with the current state.' },
  CLUSTER_NOT_RUNNING: { status: 409, message: 'The cluster is not running.' },
  STORAGE_TOKEN_UNAVAILABLE: { status: 409, message: 'The identity provider gives no storage token for you until you log in again.' },
  DATA_QUOTA_EXCEEDED: { status: 409, message: 'Your Rucio quota at this facility does not hold this data.' },
  // 422 as dask-gateway answers refused cluster requests
  INVALID_CLUSTER_OPTIONS: { status: 422, message: 'Invalid cluster options.' },
  SERVER_NOT_RUNNING: { status: 424, message: 'The server is not running.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type.' },
  TOO_MANY_REQUESTS: { status: 429, message: 'Too many requests; retry later.' },
  SPAWN_LIMIT: { status: 429, message: 'Too many users trying to log in right now. Try again in a minute.' },
  ACTIVE_SERVER_LIMIT: { status: 429, message: 'Active user limit exceeded. Try again in a few minutes.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down and retry after the time in Retry-After.' },
  // 5xx — our side, with a reason safe to show
  SPAWN_FAILED: { status: 500, message: 'The server failed to start.' },
  EXECUTOR_FAILED: { status: 502, message: 'The executor failed.' },
  EXECUTOR_TIMEOUT: { status: 504, message: 'The executor\'s backend did not answer in time; retry in a moment.' },
  DATA_UPSTREAM: { status: 502, message: 'Rucio is not reachable or refused the hub.' },
  STORAGE_UNAVAILABLE: { status: 502, message: 'The storage element did not answer; try again in a minute (the Resources page shows its health).' },
  UPSTREAM_UNAVAILABLE: { status: 503, message: 'The service is not reachable.' },
  STORE_UNAVAILABLE: { status: 503, message: 'The hub\'s database did not answer in time; nothing was changed. Retry in a moment.' },
  HUB_STARTING: { status: 503, message: 'The hub is starting; retry in a moment.' },
  PROXY_TARGET_TIMEOUT: { status: 504, message: 'The server behind this address did not answer in time.' },
  STORAGE_FULL: { status: 507, message: 'The hub\'s storage is full; nothing was changed. An operator must free space.' },
  NOT_SUPPORTED: { status: 501, message: 'This hub does not support the request.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A typed error from the catalogue. `message` is shown to users; `detail` goes to logs only. */
export class HighrateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail?: string;
  readonly extra?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, opts: { detail?: string; extra?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message ?? ERRORS[code].message, { cause: opts.cause });
    this.name = 'HighrateError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = opts.detail;
    this.extra = opts.extra;
  }
}

/** Shorthand: `throw fail('USER_NOT_FOUND', 'No such user: bob')`. */
export function fail(code: ErrorCode, message?: string, opts?: ConstructorParameters<typeof HighrateError>[2]): HighrateError {
  return new HighrateError(code, message, opts);
}

/**
 * The JSON body every API error has. `status` and `message` are JupyterHub's fields; `code` is ours.
 * Anything that is not a HighrateError becomes INTERNAL without leaking its message.
 */
export function errorBody(err: unknown): { status: number; message: string; code: ErrorCode } & Record<string, unknown> {
  if (err instanceof HighrateError) return { ...(err.extra ?? {}), status: err.status, message: err.message, code: err.code };
  return { status: 500, message: ERRORS.INTERNAL.message, code: 'INTERNAL' };
}
