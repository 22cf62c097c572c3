import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { log, redactUrl } from '../log.js';
import { refuseUpgrade } from './responses.js';
import type { Route } from './routes.js';
import { WsTunnel, type WsKeepalive } from './ws-keepalive.js';

/** Deadlines and keep-alive of upgrades; all off by default (CHP's behaviour). */
export interface UpgradeDeadlines {
  /** Give up connecting to the target after this long (ms): 503. 0 = the OS's own. */
  connectTimeoutMs?: number;
  /** --target-timeout: the target must answer the handshake within this long (ms), else 504. */
  headTimeoutMs?: number;
  /** --ws-ping-interval: pings silent peers, closes tunnels whose peer is gone. */
  keepalive?: WsKeepalive | null;
}

/**
 * Forwards an upgrade (WebSocket) request: opens a TCP (or TLS) connection to the target,
 * replays the request head with the rewritten headers plus any bytes the client already sent,
 * then pipes the two raw sockets into each other. The target's `101 Switching Protocols` (or
 * refusal) travels back untouched. Every chunk either way, WebSocket frames included, stamps the
 * route's `lastActivity`. If the target cannot be reached before it sent anything: 503.
 * @param headerLines the rewritten request headers, `Name: value\r\n` each
 * @param path the URL path+query to request on the target (below the target's own path)
 * @param sockets the set of open tunnels, so that closing the proxy can end them
 * @param prependPath CHP's prependPath: put the target's own path before `path` (default true)
 * @param targetTls towards an https target: --insecure (rejectUnauthorized false), --client-ssl-* (key, cert, ca)
 * @param deadlines connect and handshake deadlines, WebSocket keep-alive (off unless given)
 */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, route: Route, headerLines: string, path: string, sockets: Set<Duplex>, prependPath = true, targetTls: tls.ConnectionOptions = {}, deadlines: UpgradeDeadlines = {}): void {
  const target = route.target;
  const upstream: net.Socket = target.secure
    ? tls.connect({ host: target.hostname, port: target.port, servername: net.isIP(target.hostname) ? undefined : target.hostname, ...targetTls })
    : target.socketPath !== undefined ? net.connect(target.socketPath) : net.connect(target.port, target.hostname);
  upstream.setNoDelay(true);
  if (client instanceof net.Socket) {
    client.setNoDelay(true);
    client.setTimeout(0);
  }
  sockets.add(client);
  const keepalive = deadlines.keepalive ?? null;
  const tracked = keepalive === null ? null : new WsTunnel(client, upstream, route.prefix, Date.now());
  if (tracked !== null) {
    tracked.fromClient(head, tracked.heardClient);
    keepalive!.add(tracked);
  }
  // Connecting, then the handshake's answer, are timed by the socket's own inactivity timer;
  // the first byte back turns it off (the tunnel is the keep-alive's from then on).
  const connectMs = deadlines.connectTimeoutMs ?? 0;
  const headMs = deadlines.headTimeoutMs ?? 0;
  let connected = false;
  let heardBack = false;
  if (connectMs > 0 || headMs > 0) {
    if (connectMs > 0) upstream.setTimeout(connectMs);
    upstream.once(target.secure ? 'secureConnect' : 'connect', function onUpgradeConnected() {
      connected = true;
      upstream.setTimeout(headMs);
    });
    upstream.on('timeout', function onUpgradeSilence() {
      if (heardBack) return;
      const handshake = connected;
      log.warn(handshake ? 'target timed out' : 'target unreachable', { route: route.prefix, target: target.href, url: redactUrl(req.url ?? ''), error: handshake ? `no handshake answer within ${headMs} ms` : 'connect timed out', upgrade: true });
      upstream.destroy();
      if (handshake) refuseUpgrade(client, 'PROXY_TARGET_TIMEOUT', 'The server behind this address did not answer in time.');
      else refuseUpgrade(client, 'UPSTREAM_UNAVAILABLE', 'The server behind this address is not reachable.');
    });
  }

  upstream.write(`${req.method} ${prependPath ? target.pathPrefix : ''}${path} HTTP/1.1\r\n${headerLines}\r\n`, 'latin1');
  if (head.length > 0) upstream.write(head);

  upstream.on('data', function onTargetData(chunk: Buffer) {
    if (!heardBack) {
      heardBack = true;
      if (connectMs > 0 || headMs > 0) upstream.setTimeout(0);
    }
    const now = Date.now();
    route.lastActivity = now;
    if (tracked !== null) tracked.fromTarget(chunk, now);
    if (!client.write(chunk)) {
      upstream.pause();
      client.once('drain', function onClientDrain() {
        upstream.resume();
      });
    }
  });
  client.on('data', function onClientData(chunk: Buffer) {
    const now = Date.now();
    route.lastActivity = now;
    if (tracked !== null) tracked.fromClient(chunk, now);
    if (!upstream.write(chunk)) {
      client.pause();
      upstream.once('drain', function onTargetDrain() {
        client.resume();
      });
    }
  });
  // Half-closes travel across; a close or error on one side tears down the other.
  upstream.on('end', function onTargetEnd() {
    client.end();
  });
  client.on('end', function onClientEnd() {
    upstream.end();
  });
  upstream.on('error', function onTargetError(err: NodeJS.ErrnoException) {
    if (!heardBack) {
      log.warn('target unreachable', { route: route.prefix, target: target.href, url: redactUrl(req.url ?? ''), error: err.code ?? err.message, upgrade: true });
      refuseUpgrade(client, 'UPSTREAM_UNAVAILABLE', 'The server behind this address is not reachable.');
    } else {
      client.destroy();
    }
  });
  upstream.on('close', function onTargetClose() {
    // The server side of an upgraded socket allows half-open connections; finish ours fully.
    if (!client.destroyed) {
      if (client instanceof net.Socket) client.destroySoon();
      else client.end();
    }
  });
  client.on('error', function onClientError() {
    upstream.destroy();
  });
  client.on('close', function onClientGone() {
    sockets.delete(client);
    if (tracked !== null) keepalive!.delete(tracked);
    upstream.destroy();
  });
}
