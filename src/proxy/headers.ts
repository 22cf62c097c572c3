import { withoutSessionCookie } from './credential.js';

/** What the proxy does to a request's headers on the way to the target. */
export interface UpstreamHeaderOptions {
  /** The client's address, appended to X-Forwarded-For. */
  remoteAddress: string | undefined;
  /** `http` (or `ws` for upgrades, as CHP): the scheme the client used. */
  proto: string;
  /** WebSocket upgrades keep `Connection`/`Upgrade`; plain requests drop hop-by-hop headers. */
  upgrade: boolean;
  /** Edge-authenticated route: the client's session cookie never reaches the target. */
  edge: boolean;
  /**
   * With `edge`: sent as `Authorization: token …` instead of the client's header. Without one the
   * target checks credentials itself (a jupyterhub-singleuser server): the client's Authorization
   * passes unchanged.
   */
  upstreamToken?: string | undefined;
  /** Host header to send when the client sent none (HTTP/1.0): the target's host:port. */
  fallbackHost: string;
  /** CHP's x-forward option: false (--no-x-forward) leaves X-Forwarded-* as the client sent them. Default true. */
  xForward?: boolean;
  /** CHP's --change-origin: Host is `fallbackHost` (the target's), not the client's. */
  changeOrigin?: boolean;
  /** CHP's --custom-header, prepared once by `customHeaderBlock`; null or absent when there are none. */
  custom?: CustomHeaders | null;
}

/** --custom-header values, prepared once at start: the names to drop from the client's, and the lines to add. */
export interface CustomHeaders {
  /** Lower-case names: a client's header of the same name is replaced (as http-proxy's `headers` option). */
  readonly names: ReadonlySet<string>;
  /** `Name: value\r\n` for each. */
  readonly lines: string;
}

/** Prepares --custom-header pairs for `upstreamHead`; null when there are none (the hot path then skips the check). */
export function customHeaderBlock(pairs: ReadonlyArray<readonly [string, string]>): CustomHeaders | null {
  if (pairs.length === 0) return null;
  const byName = new Map<string, string>();
  // A repeated name: the last one wins, as CHP (it collects them into an object).
  for (const [name, value] of pairs) {
    for (const key of byName.keys()) if (key.toLowerCase() === name.toLowerCase()) byName.delete(key);
    byName.set(name, value);
  }
  let lines = '';
  for (const [name, value] of byName) lines += `${name}: ${value}\r\n`;
  return { names: new Set([...byName.keys()].map((n) => n.toLowerCase())), lines };
}

/** The outgoing header block, ready to write after the request line. */
export interface UpstreamHead {
  /** `Name: value\r\n` for each header, without the final blank line (latin1, as node decoded them). */
  lines: string;
  /** Whether the request announces a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The body came chunked: node hands it over decoded, so it must be chunked again upstream. */
  chunked: boolean;
}

/**
 * Builds the headers sent to a route's target in one pass over the client's raw headers:
 * - Host is preserved (CHP does not change the origin);
 * - X-Forwarded-For/-Port/-Proto get the client's values appended (comma, no space, as CHP via
 *   http-proxy), X-Forwarded-Host is set unless present (plain requests only, as CHP);
 * - hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection, Trailer, Upgrade) are dropped for
 *   plain requests: the upstream pool manages its connections itself (HTTP/1.1 keep-alive default);
 * - on edge-authenticated routes the session cookie is removed, and Authorization replaced where
 *   the route has an upstream token.
 */
export function upstreamHead(raw: string[], o: UpstreamHeaderOptions): UpstreamHead {
  let out = '';
  let host: string | undefined;
  let xfFor: string | undefined;
  let xfPort: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let hasBody = false;
  let chunked = false;
  const custom = o.custom ?? null;
  const xForward = o.xForward !== false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (custom !== null && custom.names.has(name.toLowerCase())) continue;
    // Only names of these lengths need a look; every other header is copied without lowercasing.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          host ??= value;
          if (o.changeOrigin === true) continue;
        }
        break;
      case 6:
        if (o.edge && name.toLowerCase() === 'cookie') {
          const kept = withoutSessionCookie(value);
          if (kept !== null) out += `${name}: ${kept}\r\n`;
          continue;
        }
        break;
      case 7: {
        const lower = name.toLowerCase();
        if (lower === 'trailer' || (!o.upgrade && lower === 'upgrade')) continue;
        break;
      }
      case 10: {
        const lower = name.toLowerCase();
        if (!o.upgrade && (lower === 'connection' || lower === 'keep-alive')) continue;
        break;
      }
      case 13:
        if (o.edge && o.upstreamToken !== undefined && name.toLowerCase() === 'authorization') continue;
        break;
      case 14:
        if (!hasBody && name.toLowerCase() === 'content-length' && value !== '0') hasBody = true;
        break;
      case 15: {
        const lower = name.toLowerCase();
        if (xForward && lower === 'x-forwarded-for') {
          xfFor = xfFor === undefined ? value : `${xfFor},${value}`;
          continue;
        }
        break;
      }
      case 16: {
        const lower = name.toLowerCase();
        if (xForward && lower === 'x-forwarded-port') {
          xfPort = xfPort === undefined ? value : `${xfPort},${value}`;
          continue;
        }
        if (xForward && lower === 'x-forwarded-host') {
          xfHost ??= value;
          continue;
        }
        if (lower === 'proxy-connection') continue;
        break;
      }
      case 17: {
        const lower = name.toLowerCase();
        if (xForward && lower === 'x-forwarded-proto') {
          xfProto = xfProto === undefined ? value : `${xfProto},${value}`;
          continue;
        }
        if (lower === 'transfer-encoding') hasBody = chunked = true;
        break;
      }
    }
    out += `${name}: ${value}\r\n`;
  }
  const remote = o.remoteAddress ?? '';
  if (host === undefined || o.changeOrigin === true) out += `Host: ${o.fallbackHost}\r\n`;
  if (xForward) {
    out +=
      `X-Forwarded-For: ${xfFor === undefined ? remote : `${xfFor},${remote}`}\r\n` +
      `X-Forwarded-Port: ${appendValue(xfPort, hostPort(host))}\r\n` +
      `X-Forwarded-Proto: ${appendValue(xfProto, o.proto)}\r\n`;
    if (!o.upgrade) out += `X-Forwarded-Host: ${xfHost ?? host ?? ''}\r\n`;
    else if (xfHost !== undefined) out += `X-Forwarded-Host: ${xfHost}\r\n`;
  }
  if (custom !== null) out += custom.lines;
  if (o.edge && o.upstreamToken !== undefined) out += `Authorization: token ${o.upstreamToken}\r\n`;
  return { lines: out, hasBody, chunked };
}

function appendValue(existing: string | undefined, value: string): string {
  return existing === undefined ? value : `${existing},${value}`;
}

/** The port the client addressed, from its Host header; 80 when absent (as CHP, plain HTTP). */
function hostPort(host: string | undefined): string {
  if (host === undefined) return '80';
  const colon = host.lastIndexOf(':');
  if (colon === -1 || colon < host.lastIndexOf(']')) return '80';
  const port = host.slice(colon + 1);
  return /^\d+$/.test(port) ? port : '80';
}
