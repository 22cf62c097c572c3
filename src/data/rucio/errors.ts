/**
 * Rucio's errors as typed errors. A Rucio server answers a failure with its HTTP status, the
 * headers `ExceptionClass` and `ExceptionMessage` (the message cut at 125 characters plus "...")
 * and a JSON body `{"ExceptionClass", "ExceptionMessage"}` sent as application/octet-stream
 * (`web/rest/flaskapi/v1/common.py`, `generate_http_error_flask`). The class name is the stable
 * part; the same class comes with different statuses on different endpoints (AccessDenied is 401
 * on DELETE /rules/<id>; DataIdentifierNotFound is 404 on /dids but 400 on POST /replicas/list).
 */
export class RucioError extends Error {
  constructor(
    /** Rucio's exception class name, e.g. `DataIdentifierNotFound`; `RucioUnreachable` for network failures. */
    readonly exceptionClass: string,
    message: string,
    /** The HTTP status Rucio answered with (0 when it could not be reached). */
    readonly status: number,
  ) {
    super(message);
    this.name = exceptionClass;
  }
}

/** Rucio's exception classes this client names; anything else stays a plain RucioError. */
export const KNOWN_RUCIO_EXCEPTIONS = [
  'AccessDenied', 'AccountNotFound', 'CannotAuthenticate', 'DataIdentifierNotFound', 'DuplicateRule',
  'IdentityError', 'IdentityNotFound', 'InsufficientAccountLimit', 'InsufficientTargetRSEs',
  'InvalidObject', 'InvalidReplicationRule', 'InvalidRSEExpression', 'RSENotFound', 'RuleNotFound',
  'ScopeNotFound', 'UnsupportedRequestedContentType', 'UnsupportedOperation',
] as const;

export type RucioExceptionClass = (typeof KNOWN_RUCIO_EXCEPTIONS)[number] | 'RucioUnreachable' | 'RucioProtocolError';

/** Whether `err` is a RucioError of (one of) these classes. */
export function isRucioError(err: unknown, ...classes: RucioExceptionClass[]): err is RucioError {
  return err instanceof RucioError && (classes.length === 0 || (classes as string[]).includes(err.exceptionClass));
}

/**
 * The typed error of a failed Rucio answer. The JSON body carries the untruncated message; the
 * headers are the fallback (a proxy in front of Rucio may replace the body), then the status line.
 */
export function rucioErrorFrom(status: number, headers: Record<string, string | string[] | undefined>, body: string): RucioError {
  const h = (name: string) => {
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  let cls = h('ExceptionClass');
  let msg = h('ExceptionMessage');
  try {
    const parsed = JSON.parse(body) as { ExceptionClass?: unknown; ExceptionMessage?: unknown };
    if (typeof parsed.ExceptionClass === 'string') cls = parsed.ExceptionClass;
    if (typeof parsed.ExceptionMessage === 'string') msg = parsed.ExceptionMessage;
  } catch { /* not JSON: an HTML error page of a web server in front of Rucio */ }
  // A 401 without a class is a token the server did not take; treat it as Rucio's own 401.
  if (!cls) cls = status === 401 ? 'CannotAuthenticate' : `HTTP${status}`;
  return new RucioError(cls, msg || `Rucio answered ${status}`, status);
}
