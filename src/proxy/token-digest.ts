import { createHash } from 'node:crypto';

/**
 * How the route API shows a route's upstream token: its SHA-256 in lower-case hex, so the hub can
 * verify a route without the proxy ever handing a credential out.
 */
export function upstreamTokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
