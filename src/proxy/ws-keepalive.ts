import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { log } from '../log.js';

/**
 * Follows WebSocket frame boundaries in one direction of a tunnel (RFC 6455 §5.2) without copying
 * or buffering: the proxy pipes raw bytes, and may put a frame of its own (a ping, a close) into
 * a stream only between two frames. Cost per chunk: a few integer operations per frame header.
 */
export class FrameCursor {
  /** Payload bytes of the current frame still to pass. */
  #payloadLeft = 0;
  /** Header bytes seen of the frame being started; 0 between frames. */
  #headerSeen = 0;
  #headerNeed = 2;
  #lenCode = 0;
  #extBytes = 0;
  #extLen = 0;

  /** Whether the bytes passed so far end exactly at a frame's end. */
  get atBoundary(): boolean {
    return this.#payloadLeft === 0 && this.#headerSeen === 0;
  }

  /** Accounts for `buf` from offset `from` on. */
  feed(buf: Buffer, from = 0): void {
    let i = from;
    const n = buf.length;
    while (i < n) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, n - i);
        this.#payloadLeft -= take;
        i += take;
        continue;
      }
      const b = buf[i++]!;
      const k = this.#headerSeen++;
      if (k === 0) {
        this.#headerNeed = 2;
        continue;
      }
      if (k === 1) {
        this.#lenCode = b & 0x7f;
        this.#extBytes = this.#lenCode === 126 ? 2 : this.#lenCode === 127 ? 8 : 0;
        this.#headerNeed = 2 + this.#extBytes + ((b & 0x80) !== 0 ? 4 : 0);
        this.#extLen = 0;
      } else if (k < 2 + this.#extBytes) {
        // 64-bit lengths beyond 2^53 do not occur; a Number holds every real one exactly.
        this.#extLen = this.#extLen * 256 + b;
      }
      if (this.#headerSeen === this.#headerNeed) {
        this.#payloadLeft = this.#lenCode < 126 ? this.#lenCode : this.#extLen;
        this.#headerSeen = 0;
      }
    }
  }
}

// Frames the proxy writes itself. Towards the client it speaks as the server (unmasked); towards
// the target as the client, whose frames must be masked (RFC 6455 §5.3).
const MASK = randomBytes(4);
const PING_TO_CLIENT = Buffer.from([0x89, 0x00]);
const PING_TO_TARGET = Buffer.from([0x89, 0x80, ...MASK]);
// Close 1001 "going away" (RFC 6455 §7.4.1): the other peer is gone.
const CLOSE_TO_CLIENT = Buffer.from([0x88, 0x02, 0x03, 0xe9]);
const CLOSE_TO_TARGET = Buffer.from([0x88, 0x82, ...MASK, 0x03 ^ MASK[0]!, 0xe9 ^ MASK[1]!]);

/**
 * One WebSocket tunnel as the keep-alive sees it: when each peer was last heard from, and where
 * the frame boundaries of both streams are. The pongs peers send back are forwarded like any
 * frame: an unsolicited pong is allowed and ignored (RFC 6455 §5.5.3), so the stream is never
 * rewritten, only added to.
 */
export class WsTunnel {
  readonly client: Duplex;
  readonly upstream: Duplex;
  readonly #fromClient = new FrameCursor();
  readonly #fromTarget = new FrameCursor();
  heardClient: number;
  heardTarget: number;
  #pingedClient = false;
  #pingedTarget = false;
  /** The target's 101 head has passed; from here on its bytes are frames. */
  upgraded = false;
  #refused = false;
  #status = '';
  #crlf = 0;
  readonly route: string;

  constructor(client: Duplex, upstream: Duplex, route: string, now: number) {
    this.client = client;
    this.upstream = upstream;
    this.route = route;
    this.heardClient = now;
    this.heardTarget = now;
  }

  /** Bytes from the client (frames, after its request head). */
  fromClient(chunk: Buffer, now: number): void {
    this.heardClient = now;
    this.#pingedClient = false;
    this.#fromClient.feed(chunk);
  }

  /** Bytes from the target: its response head first, then (after a 101) frames. */
  fromTarget(chunk: Buffer, now: number): void {
    this.heardTarget = now;
    this.#pingedTarget = false;
    if (this.upgraded) {
      this.#fromTarget.feed(chunk);
      return;
    }
    if (this.#refused) return;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#status.length < 12) {
        this.#status += String.fromCharCode(b);
        if (this.#status.length === 12 && !/^HTTP\/1\.[01] 101$/.test(this.#status)) {
          // Not switching protocols: an HTTP answer passes through; nothing to keep alive.
          this.#refused = true;
          return;
        }
      }
      // The head ends at the first CRLFCRLF.
      if (b === (this.#crlf % 2 === 0 ? 13 : 10)) this.#crlf++;
      else this.#crlf = b === 13 ? 1 : 0;
      if (this.#crlf === 4) {
        this.upgraded = true;
        this.#fromTarget.feed(chunk, i + 1);
        return;
      }
    }
  }

  /**
   * One look at the tunnel: pings a peer silent for half the interval (when its stream is between
   * frames), and ends the tunnel when a peer has been silent for the whole interval. Returns
   * false once the tunnel is ended.
   */
  check(now: number, intervalMs: number): boolean {
    // A side we do not read from (paused: the other side is not draining what it sends) cannot
    // answer a ping we would see; its silence is the other side's doing, judged there.
    if (this.client.isPaused()) this.heardClient = now;
    if (this.upstream.isPaused()) this.heardTarget = now;
    if (now - this.heardClient >= intervalMs) {
      this.#end('client', intervalMs);
      return false;
    }
    if (now - this.heardTarget >= intervalMs) {
      this.#end('target', intervalMs);
      return false;
    }
    const half = intervalMs / 2;
    if (!this.#pingedClient && now - this.heardClient >= half && this.#fromTarget.atBoundary) {
      this.#pingedClient = true;
      this.client.write(PING_TO_CLIENT);
    }
    if (!this.#pingedTarget && now - this.heardTarget >= half && this.#fromClient.atBoundary) {
      this.#pingedTarget = true;
      this.upstream.write(PING_TO_TARGET);
    }
    return true;
  }

  /** A peer is gone: the other one gets a close frame (when between frames) and its connection ends. */
  #end(gone: 'client' | 'target', intervalMs: number): void {
    log.info('websocket peer silent, closing the tunnel', { route: this.route, gone, intervalMs });
    if (gone === 'client') {
      if (this.#fromClient.atBoundary) this.upstream.write(CLOSE_TO_TARGET);
      this.upstream.end();
      this.client.destroy();
    } else {
      if (this.#fromTarget.atBoundary) this.client.write(CLOSE_TO_CLIENT);
      this.client.end();
      this.upstream.destroy();
    }
  }
}

/**
 * WebSocket keep-alive for every tunnel of a proxy (--ws-ping-interval): one timer for all of
 * them, ticking at an eighth of the interval, so a dead peer is found within 1⅛ intervals of
 * its last sign of life and no timer is made per connection.
 */
export class WsKeepalive {
  readonly intervalMs: number;
  readonly #tunnels = new Set<WsTunnel>();
  #timer: NodeJS.Timeout | null = null;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  add(tunnel: WsTunnel): void {
    this.#tunnels.add(tunnel);
    if (this.#timer === null) {
      const keepalive = this;
      this.#timer = setInterval(function sweepTunnels() {
        keepalive.#sweep();
      }, Math.max(25, Math.floor(this.intervalMs / 8)));
      this.#timer.unref();
    }
  }

  delete(tunnel: WsTunnel): void {
    this.#tunnels.delete(tunnel);
    if (this.#tunnels.size === 0) this.close();
  }

  /** Stops the timer (tunnels are ended by their owner). */
  close(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const tunnel of this.#tunnels) {
      if (!tunnel.upgraded) continue;
      if (!tunnel.check(now, this.intervalMs)) this.#tunnels.delete(tunnel);
    }
  }
}
