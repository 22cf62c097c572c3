import net from 'node:net';
import { log } from '../log.js';
import { MAX_HELLO_BYTES, parseClientHello } from './sni.js';

/** The SNI prefix dask-gateway's `gateway://` comm and `dask worker --scheduler-sni` send. */
export const SNI_PREFIX = 'daskgateway-';
/** A client has this long to send its ClientHello. */
const HELLO_TIMEOUT_MS = 10_000;

/** Where a cluster's scheduler listens for TLS. */
export interface SniTarget { host: string; port: number }

/**
 * The Dask port: one TCP listener routing each connection by the SNI name of its ClientHello
 * (`daskgateway-<cluster>`) to that cluster's scheduler, then piping raw bytes both ways. TLS is
 * never terminated here: the scheduler and the client authenticate each other with the cluster's
 * own certificate, so a connection to another user's cluster fails its handshake end to end.
 * Unknown names and anything that is not a TLS ClientHello are closed.
 */
export class SniRouter {
  readonly #routes = new Map<string, SniTarget>();
  readonly #open = new Map<string, Set<net.Socket>>();
  readonly #server: net.Server;
  /** Connections routed so far (tests and metrics). */
  routed = 0;
  /** Connections refused so far (no hello, unknown name). */
  refused = 0;

  constructor() {
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Routes `daskgateway-<cluster>` to `target` (replacing an earlier route). */
  set(cluster: string, target: SniTarget): void {
    this.#routes.set(cluster.toLowerCase(), target);
  }

  /** Removes the route and cuts the connections it carries; false when there was none. */
  delete(cluster: string): boolean {
    const key = cluster.toLowerCase();
    const had = this.#routes.delete(key);
    for (const s of this.#open.get(key) ?? []) s.destroy();
    this.#open.delete(key);
    return had;
  }

  /** Every route, by cluster. */
  entries(): IterableIterator<[string, SniTarget]> {
    return this.#routes.entries();
  }

  /** Connections currently routed to `cluster`. */
  connections(cluster: string): number {
    return this.#open.get(cluster.toLowerCase())?.size ?? 0;
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops listening and cuts every connection. */
  close(): Promise<void> {
    for (const set of this.#open.values()) for (const s of set) s.destroy();
    this.#open.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    let buffered: Buffer = Buffer.alloc(0);
    const refuse = (why: string) => {
      this.refused++;
      log.debug('dask port: connection refused', { why, remote: client.remoteAddress });
      client.destroy();
    };
    const timer = setTimeout(() => refuse('no ClientHello in time'), HELLO_TIMEOUT_MS);
    timer.unref();
    client.on('error', () => client.destroy());
    client.on('close', () => clearTimeout(timer));
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const hello = parseClientHello(buffered);
      if (hello.kind === 'incomplete') {
        if (buffered.length > MAX_HELLO_BYTES + 5 * 16) refuse('ClientHello too large');
        return;
      }
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
      if (hello.kind === 'invalid') return refuse(hello.reason);
      const name = hello.serverName;
      if (!name || !name.startsWith(SNI_PREFIX)) return refuse(`server name ${JSON.stringify(name)} is not a cluster's`);
      const cluster = name.slice(SNI_PREFIX.length);
      const target = this.#routes.get(cluster);
      if (!target) return refuse(`no cluster ${cluster}`);
      this.#pipe(client, cluster, target, buffered);
    };
    client.on('data', onData);
  }

  /** Connects to the scheduler, replays the hello, then pipes both ways until either side ends. */
  #pipe(client: net.Socket, cluster: string, target: SniTarget, hello: Buffer): void {
    this.routed++;
    let set = this.#open.get(cluster);
    if (!set) this.#open.set(cluster, (set = new Set()));
    set.add(client);
    const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
    const teardown = () => {
      client.destroy();
      upstream.destroy();
      set!.delete(client);
    };
    upstream.on('error', teardown);
    upstream.on('close', teardown);
    client.on('close', teardown);
    upstream.once('connect', () => {
      upstream.write(hello);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
