import http from 'node:http';
import type { Server } from 'node:http';
import { fail } from '../errors/catalogue.js';

/**
 * Stops an HTTP server in order: it accepts no new connection, requests in flight finish (each
 * kept-alive connection is closed as soon as it is idle), and whatever still runs after `ms` is
 * cut. Resolves once every connection is gone.
 */
export function drainServer(server: Server, ms: number): Promise<void> {
  return new Promise(function drain(resolve) {
    let sweep: NodeJS.Timeout | undefined;
    let cut: NodeJS.Timeout | undefined;
    server.close(function drained() {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
    // A connection whose response just ended is idle only then: look again until all are gone.
    sweep = setInterval(function closeIdle() {
      server.closeIdleConnections();
    }, 50);
    cut = setTimeout(function cutTheRest() {
      server.closeAllConnections();
    }, ms);
  });
}

/** One GET with a deadline on a fresh connection; resolves with the status, or null (refused, reset, silent). */
export function probe(url: string, timeoutMs: number): Promise<number | null> {
  return new Promise(function get(resolve) {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers: { accept: 'application/json' } }, function answered(res) {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Waits until a request through the proxy's public port reaches a ready hub (`GET /hub/api/`
 * answers 200), so that "running" is announced only when users can really use the platform
 * (issue 14). A wildcard address is reached on loopback. UPSTREAM_UNAVAILABLE after `ms`.
 */
export async function awaitPublicPort(ip: string, port: number, ms = 15_000): Promise<void> {
  const host = ip === '' || ip === '0.0.0.0' || ip === '*' ? '127.0.0.1' : ip === '::' ? '[::1]' : ip.includes(':') ? `[${ip}]` : ip;
  const url = `http://${host}:${port}/hub/api/`;
  const deadline = Date.now() + ms;
  let last: number | null = null;
  for (;;) {
    last = await probe(url, 2000);
    if (last === 200) return;
    if (Date.now() > deadline) {
      throw fail('UPSTREAM_UNAVAILABLE', `The platform does not answer on its public port ${port}: GET ${url} ${last === null ? 'got no answer' : `answered ${last}`} for ${Math.round(ms / 1000)} s.`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
