import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { log, redactUrl } from '../log.js';
import { refuseUpgrade } from './responses.js';
import type { Route } from './routes.js';

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
 */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, route: Route, headerLines: string, path: string, sockets: Set<Duplex>, prependPath = true, targetTls: tls.ConnectionOptions = {}): void {
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

  upstream.write(`${req.method} ${prependPath ? target.pathPrefix : ''}${path} HTTP/1.1\r\n${headerLines}\r\n`, 'latin1');
  if (head.length > 0) upstream.write(head);

  let heardBack = false;
  upstream.on('data', function onTargetData(chunk: Buffer) {
    heardBack = true;
    route.lastActivity = Date.now();
    if (!client.write(chunk)) {
      upstream.pause();
      client.once('drain', function onClientDrain() {
        upstream.resume();
      });
    }
  });
  client.on('data', function onClientData(chunk: Buffer) {
    route.lastActivity = Date.now();
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
    upstream.destroy();
  });
}
