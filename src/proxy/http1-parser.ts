/**
 * A strict, incremental HTTP/1.1 message parser (RFC 9112), used where node's own HTTP
 * machinery costs more CPU than the work itself: responses on the proxy's upstream connections,
 * and requests on the local route API. It hands over the head and body slices without building
 * streams.
 *
 * Strictness matters: a target (a user's own server) is not trusted, and neither is whoever
 * connects to the API port. Anything ambiguous (obs-fold, space before the colon, conflicting
 * Content-Length, Transfer-Encoding together with Content-Length on a request, bare LF, bytes
 * after a response) is a ProtocolError, and the connection is then dropped, never reused.
 */

/** Receives one response. `onBody(…, true)` marks its end (the chunk may be null). */
export interface ResponseSink {
  /** `headers` are the end-to-end ones, as a flat [name, value, …] list; framing is re-done by the receiver. */
  onHead(status: number, reason: string, headers: string[]): void;
  onBody(chunk: Buffer | null, last: boolean): void;
}

/** Receives requests, one after the other (pipelined requests arrive in order). */
export interface RequestSink {
  /** `headers` has lower-case names; repeated fields are joined with ', '. */
  onRequest(method: string, url: string, headers: Record<string, string>): void;
  onBody(chunk: Buffer | null, last: boolean): void;
}

export class ProtocolError extends Error {
  readonly code = 'EHTTPPROTO';
  constructor(message: string) {
    super(`invalid HTTP message: ${message}`);
    this.name = 'ProtocolError';
  }
}

const IDLE = 0;
const HEAD = 1;
const LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILERS = 6;
const UNTIL_CLOSE = 7;
const STOPPED = 8;

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\0\r\n]*))?$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const HEX = /^[0-9A-Fa-f]{1,13}$/;

export class Http1Parser {
  readonly #requests: boolean;
  #sink: ResponseSink | RequestSink | null;
  #state = IDLE;
  #headRequest = false;
  #pending: Buffer | null = null;
  #remaining = 0;
  #line = '';
  /** Whether any byte of the current message arrived (a silent upstream failure may be retried). */
  received = false;
  /** After a message head: whether the connection may carry another exchange. */
  keepAlive = false;
  /** A response's `Keep-Alive: timeout=N` hint, in ms (undefined when absent). */
  idleHintMs: number | undefined = undefined;

  /** A response parser (call `begin` before each response), or a request parser fed to `sink`. */
  constructor(mode: 'response' | 'request', sink: RequestSink | null = null) {
    this.#requests = mode === 'request';
    this.#sink = sink;
  }

  /** Whether a message is expected or in progress. */
  get busy(): boolean {
    return this.#state !== IDLE && this.#state !== STOPPED;
  }

  /** Expects the response to a request made with `method` (HEAD responses carry no body). */
  begin(sink: ResponseSink, method: string): void {
    this.#sink = sink;
    this.#state = HEAD;
    this.#headRequest = method === 'HEAD';
    this.received = false;
    this.keepAlive = false;
  }

  /** Ignores everything from now on (the connection is closing). */
  stop(): void {
    this.#state = STOPPED;
    this.#pending = null;
  }

  /** Feeds bytes from the connection. Throws ProtocolError on anything malformed or unsolicited. */
  execute(data: Buffer): void {
    let off = 0;
    const len = data.length;
    if (len > 0) this.received = true;
    while (off < len) {
      switch (this.#state) {
        case STOPPED:
          return;
        case IDLE:
          if (!this.#requests) throw new ProtocolError('data without a request');
          this.#state = HEAD;
          this.keepAlive = false;
          break;
        case HEAD:
          off = this.#head(data, off);
          break;
        case LENGTH: {
          const n = Math.min(this.#remaining, len - off);
          const chunk = off === 0 && n === len ? data : data.subarray(off, off + n);
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#complete(chunk);
          else this.#sink!.onBody(chunk, false);
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.#remaining, len - off);
          const chunk = data.subarray(off, off + n);
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = CHUNK_DATA_END;
          this.#sink!.onBody(chunk, false);
          break;
        }
        case CHUNK_SIZE:
        case CHUNK_DATA_END:
        case TRAILERS:
          off = this.#chunkLine(data, off);
          break;
        case UNTIL_CLOSE:
          this.#sink!.onBody(off === 0 ? data : data.subarray(off), false);
          off = len;
          break;
      }
    }
  }

  /**
   * The peer closed the connection. Completes a body delimited by the close; throws when a
   * message was cut short (for a response that never started, `received` is false).
   */
  end(): void {
    if (this.#state === IDLE || this.#state === STOPPED) return;
    if (this.#state === UNTIL_CLOSE) {
      this.#complete(null);
      return;
    }
    if (this.#requests && this.#state === HEAD && this.#pending === null) return;
    throw new ProtocolError(this.received ? 'connection closed mid-message' : 'connection closed before a response');
  }

  #complete(chunk: Buffer | null): void {
    this.#state = IDLE;
    const sink = this.#sink!;
    if (!this.#requests) this.#sink = null;
    sink.onBody(chunk, true);
  }

  /** Collects a head (start line + fields); returns the offset in `data` just after it. */
  #head(data: Buffer, off: number): number {
    let buf = data;
    let start = off;
    let carried = 0;
    if (this.#pending !== null) {
      carried = this.#pending.length;
      buf = Buffer.concat([this.#pending, data.subarray(off)]);
      start = 0;
      this.#pending = null;
    }
    const end = buf.indexOf(HEAD_END, Math.max(start, start + carried - 3));
    if (end === -1) {
      if (buf.length - start > MAX_HEAD) throw new ProtocolError('head too large');
      this.#pending = Buffer.from(buf.subarray(start));
      return data.length;
    }
    if (end - start > MAX_HEAD) throw new ProtocolError('head too large');
    const lines = buf.toString('latin1', start, end).split('\r\n');
    if (this.#requests) this.#requestHead(lines);
    else this.#responseHead(lines);
    return carried === 0 ? end + 4 : off + (end + 4 - carried);
  }

  #responseHead(lines: string[]): void {
    const m = STATUS_LINE.exec(lines[0]!);
    if (m === null) throw new ProtocolError('bad status line');
    const http11 = m[1] === '1';
    const status = Number(m[2]);
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connClose = false;
    let connKeepAlive = false;
    let idleHint: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = fieldColon(line);
      const name = line.slice(0, colon);
      const value = trimOws(line, colon + 1);
      // Framing and hop-by-hop fields are consumed here; everything else is end-to-end.
      switch (name.length) {
        case 10: {
          const lower = name.toLowerCase();
          if (lower === 'connection') {
            const v = value.toLowerCase();
            if (v.includes('close')) connClose = true;
            if (v.includes('keep-alive')) connKeepAlive = true;
            continue;
          }
          if (lower === 'keep-alive') {
            const t = /(?:^|[\s,])timeout=(\d+)/i.exec(value);
            if (t !== null) idleHint = Number(t[1]) * 1000;
            continue;
          }
          break;
        }
        case 14:
          if (name.toLowerCase() === 'content-length') {
            contentLength = mergeContentLength(contentLength, value);
            continue;
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = true;
            chunked = lastCodingIsChunked(value);
            continue;
          }
          break;
        case 16:
          if (name.toLowerCase() === 'proxy-connection') continue;
          break;
        case 7: {
          const lower = name.toLowerCase();
          if (lower === 'trailer' || lower === 'upgrade') continue;
          break;
        }
        case 2:
          if (name.toLowerCase() === 'te') continue;
          break;
      }
      headers.push(name, value);
    }
    // Content-Length is end-to-end unless Transfer-Encoding overrides it (RFC 9112 §6.3).
    if (contentLength !== -1 && !transferEncoding) headers.push('Content-Length', String(contentLength));
    if (status < 200) {
      // 101 is only valid as an answer to an upgrade, which this client never sends.
      if (status === 101) throw new ProtocolError('unsolicited 101');
      return; // 100 Continue, 103 Early Hints…: informational, the real response follows
    }
    this.idleHintMs = idleHint;
    this.keepAlive = (http11 ? !connClose : connKeepAlive) && !(transferEncoding && contentLength !== -1);
    (this.#sink as ResponseSink).onHead(status, m[3] ?? '', headers);
    if (this.#state === STOPPED) return;
    if (this.#headRequest || status === 204 || status === 304) {
      this.#complete(null);
    } else if (transferEncoding) {
      if (chunked) {
        this.#state = CHUNK_SIZE;
      } else {
        this.#state = UNTIL_CLOSE;
        this.keepAlive = false;
      }
    } else if (contentLength > 0) {
      this.#state = LENGTH;
      this.#remaining = contentLength;
    } else if (contentLength === 0) {
      this.#complete(null);
    } else {
      this.#state = UNTIL_CLOSE;
      this.keepAlive = false;
    }
  }

  #requestHead(lines: string[]): void {
    const m = REQUEST_LINE.exec(lines[0]!);
    if (m === null) throw new ProtocolError('bad request line');
    const http11 = m[3] === '1';
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    let contentLength = -1;
    let transferEncoding: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = fieldColon(line);
      const name = line.slice(0, colon).toLowerCase();
      const value = trimOws(line, colon + 1);
      if (name === 'content-length') contentLength = mergeContentLength(contentLength, value);
      else if (name === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    // Both framings at once is the classic request-smuggling shape: refuse it (RFC 9112 §6.3).
    if (transferEncoding !== undefined && contentLength !== -1) throw new ProtocolError('both Transfer-Encoding and Content-Length');
    if (transferEncoding !== undefined && !lastCodingIsChunked(transferEncoding)) throw new ProtocolError('request body not chunked');
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = http11 ? !connection.includes('close') : connection.includes('keep-alive');
    (this.#sink as RequestSink).onRequest(m[1]!, m[2]!, headers);
    if (this.#state === STOPPED) return;
    if (transferEncoding !== undefined) {
      this.#state = CHUNK_SIZE;
    } else if (contentLength > 0) {
      this.#state = LENGTH;
      this.#remaining = contentLength;
    } else {
      this.#complete(null);
    }
  }

  /** One CRLF-terminated line of chunked framing: a chunk size, the CRLF after data, or a trailer. */
  #chunkLine(data: Buffer, off: number): number {
    const nl = data.indexOf(10, off);
    if (nl === -1) {
      this.#line += data.toString('latin1', off);
      if (this.#line.length > MAX_LINE) throw new ProtocolError('chunk line too long');
      return data.length;
    }
    let line = this.#line + data.toString('latin1', off, nl);
    this.#line = '';
    if (line.length > MAX_LINE) throw new ProtocolError('chunk line too long');
    if (line.charCodeAt(line.length - 1) !== 13) throw new ProtocolError('bare LF in chunked framing');
    line = line.slice(0, -1);
    switch (this.#state) {
      case CHUNK_SIZE: {
        const semi = line.indexOf(';');
        const size = trimOws(semi === -1 ? line : line.slice(0, semi), 0);
        if (!HEX.test(size)) throw new ProtocolError('bad chunk size');
        const n = parseInt(size, 16);
        if (n === 0) {
          this.#state = TRAILERS;
        } else {
          this.#state = CHUNK_DATA;
          this.#remaining = n;
        }
        break;
      }
      case CHUNK_DATA_END:
        if (line !== '') throw new ProtocolError('chunk data longer than its size');
        this.#state = CHUNK_SIZE;
        break;
      case TRAILERS:
        // Trailer fields are dropped (the receiving side frames its own message); a blank line ends it.
        if (line === '') this.#complete(null);
        break;
    }
    return nl + 1;
  }
}

/** Validates one field line and returns the index of its colon. */
function fieldColon(line: string): number {
  const first = line.charCodeAt(0);
  if (first === 32 || first === 9) throw new ProtocolError('obsolete line folding');
  const colon = line.indexOf(':');
  if (colon <= 0) throw new ProtocolError('field without a name');
  const last = line.charCodeAt(colon - 1);
  if (last === 32 || last === 9) throw new ProtocolError('space before colon');
  if (line.includes('\n') || line.includes('\r') || line.includes('\0')) throw new ProtocolError('bare CR/LF or NUL in a field');
  return colon;
}

/** Content-Length: digits, or a list of identical values (RFC 9110 §8.6); repeats must agree. */
function mergeContentLength(current: number, value: string): number {
  let n: number;
  if (/^\d{1,15}$/.test(value)) {
    n = Number(value);
  } else {
    const parts = value.split(',').map((p) => p.trim());
    if (!parts.every((p) => /^\d{1,15}$/.test(p) && p === parts[0])) throw new ProtocolError('bad Content-Length');
    n = Number(parts[0]);
  }
  if (current !== -1 && current !== n) throw new ProtocolError('conflicting Content-Length');
  return n;
}

function lastCodingIsChunked(value: string): boolean {
  const codings = value.toLowerCase().split(',');
  return codings[codings.length - 1]!.trim() === 'chunked';
}

/** The part of `s` from `from`, without leading/trailing spaces and tabs (HTTP's OWS only). */
function trimOws(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
