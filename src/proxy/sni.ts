/**
 * Reads the server name (SNI, RFC 6066 §3) from the first bytes a TLS client sends, without
 * terminating TLS: the ClientHello (RFC 8446 §4.1.2) travels in cleartext handshake records, so
 * the Dask port can route a connection by name and then pipe its bytes untouched.
 */

/** What the bytes seen so far say. */
export type HelloResult =
  | { kind: 'incomplete' }
  | { kind: 'hello'; serverName: string | null }
  | { kind: 'invalid'; reason: string };

const RECORD_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;
/** A ClientHello is at most 2^24 bytes by its length field; real ones are a few KiB (larger with PQ key shares). */
export const MAX_HELLO_BYTES = 64 * 1024;

/**
 * Parses the ClientHello at the start of `data` (which may hold more than the hello).
 * A hello split over several records (allowed by RFC 8446 §5.1) is reassembled.
 */
export function parseClientHello(data: Buffer): HelloResult {
  // Reassemble the handshake bytes from consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need < 0 || have < need) {
    if (data.length < off + 5) return { kind: 'incomplete' };
    if (data[off] !== RECORD_HANDSHAKE) return { kind: 'invalid', reason: off === 0 ? 'not a TLS handshake' : 'handshake interrupted by another record type' };
    if (data[off + 1] !== 3) return { kind: 'invalid', reason: 'unknown TLS record version' };
    const len = data.readUInt16BE(off + 3);
    if (len === 0) return { kind: 'invalid', reason: 'empty handshake record' };
    if (data.length < off + 5 + len) return { kind: 'incomplete' };
    parts.push(data.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'invalid', reason: 'first handshake message is not a ClientHello' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES) return { kind: 'invalid', reason: 'ClientHello too large' };
    }
  }
  const hello = (parts.length === 1 ? parts[0]! : Buffer.concat(parts)).subarray(4, need);
  return readServerName(hello);
}

/** Walks the ClientHello body to the server_name extension. */
function readServerName(body: Buffer): HelloResult {
  const bad = (reason: string): HelloResult => ({ kind: 'invalid', reason });
  let p = 2 + 32; // legacy_version, random
  if (body.length < p + 1) return bad('truncated ClientHello');
  p += 1 + body[p]!; // legacy_session_id
  if (body.length < p + 2) return bad('truncated ClientHello');
  p += 2 + body.readUInt16BE(p); // cipher_suites
  if (body.length < p + 1) return bad('truncated ClientHello');
  p += 1 + body[p]!; // legacy_compression_methods
  if (p === body.length) return { kind: 'hello', serverName: null }; // no extensions at all
  if (body.length < p + 2) return bad('truncated ClientHello');
  const end = p + 2 + body.readUInt16BE(p);
  if (end > body.length) return bad('extensions overrun the ClientHello');
  p += 2;
  while (p + 4 <= end) {
    const type = body.readUInt16BE(p);
    const len = body.readUInt16BE(p + 2);
    p += 4;
    if (p + len > end) return bad('extension overruns the extensions');
    if (type === EXT_SERVER_NAME) return readNameList(body.subarray(p, p + len));
    p += len;
  }
  return { kind: 'hello', serverName: null };
}

function readNameList(ext: Buffer): HelloResult {
  if (ext.length < 2) return { kind: 'invalid', reason: 'truncated server_name extension' };
  const end = 2 + ext.readUInt16BE(0);
  if (end > ext.length) return { kind: 'invalid', reason: 'server_name list overruns its extension' };
  let p = 2;
  while (p + 3 <= end) {
    const type = ext[p]!;
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (p + len > end) return { kind: 'invalid', reason: 'server name overruns its list' };
    // RFC 6066: one name per type; a host_name is ASCII (A-labels), no trailing dot.
    if (type === NAME_TYPE_HOST) return { kind: 'hello', serverName: ext.subarray(p, p + len).toString('latin1').toLowerCase() };
    p += len;
  }
  return { kind: 'hello', serverName: null };
}
