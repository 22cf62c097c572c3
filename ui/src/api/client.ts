import { readXsrfToken } from './xsrf.js';
import type { ApiErrorBody } from './types.js';

/** An API answer outside 2xx, carrying the hub's user-safe message and stable code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** The whole error body (a 429 for a start carries `position` in the line), or null. */
  readonly body: Record<string, unknown> | null;
  /** Seconds from the Retry-After header (429, 503), or null. */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, code?: string, extra: { body?: Record<string, unknown> | null; retryAfter?: number | null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = extra.body ?? null;
    this.retryAfter = extra.retryAfter ?? null;
  }
}

type Method = 'GET' | 'POST' | 'DELETE' | 'PATCH';

/** The answer of a successful call: status plus the parsed JSON body, or null when there is none. */
export interface ApiResponse<T> {
  status: number;
  body: T | null;
}

/**
 * Calls the hub API with the session cookie. Every state change carries X-XSRFToken.
 * Throws ApiError for non-2xx answers and for network failures (status 0).
 */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') {
    const xsrf = readXsrfToken();
    if (xsrf !== null) headers['X-XSRFToken'] = xsrf;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `The hub could not be reached (${err instanceof Error ? err.message : String(err)}).`);
  }
  const parsed = await readJson(response);
  if (!response.ok) {
    const errorBody = parsed as Partial<ApiErrorBody> | null;
    const message =
      errorBody && typeof errorBody.message === 'string' && errorBody.message !== ''
        ? errorBody.message
        : `Request failed: HTTP ${response.status} ${response.statusText}`.trim();
    const retryAfter = Number(response.headers.get('Retry-After') ?? NaN);
    throw new ApiError(response.status, message, typeof errorBody?.code === 'string' ? errorBody.code : undefined, {
      body: errorBody && typeof errorBody === 'object' ? (errorBody as Record<string, unknown>) : null,
      retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null,
    });
  }
  return { status: response.status, body: parsed as T | null };
}

// JupyterHub answers some calls (start, 204s) with an empty body; a body is never required.
async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(function unreadable() {
    return '';
  });
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Turns any thrown value into a message for an alert. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
