import { createHash } from 'node:crypto';

/**
 * How the route API shows a route's upstream token: its SHA-256 in lower-case hex, so the hub can
 * verify a route without the proxy ever handing a credential out.
 */
export function upstreamTokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** An edge-authenticated route as its owner added it (the data the proxy is given). */
export interface WantedRoute {
  target: string;
  user: string;
  server_name: string;
  /** Absent for servers that check the user's credentials themselves (passed through unchanged). */
  upstream_token?: string | undefined;
}

/**
 * What differs between a route as the route API shows it and the route its owner added: '' when
 * nothing, else 'missing', 'target', 'owner' or 'upstream token' (for logs). Reconcilers put a
 * route that differs back, so one re-pointed through the route API does not stay.
 */
export function routeDrift(shown: unknown, want: WantedRoute): string {
  const r = shown as Record<string, unknown> | undefined;
  if (!r) return 'missing';
  if (r.target !== want.target) return 'target';
  if (r.user !== want.user || r.server_name !== want.server_name) return 'owner';
  const digest = want.upstream_token === undefined ? undefined : upstreamTokenDigest(want.upstream_token);
  if (r.upstream_token_sha256 !== digest) return 'upstream token';
  return '';
}
