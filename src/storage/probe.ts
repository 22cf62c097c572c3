import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { StorageElementState } from '../contracts/storage.js';

/** Debian's xrootd-client. */
export const XRDFS_BIN = '/usr/bin/xrdfs';
const GRID_CA_DIR = '/etc/grid-security/certificates';
/** Debian's system CAs, hashed as OpenSSL's -CApath wants: XRootD's client takes it as X509_CERT_DIR. */
const SYSTEM_CA_DIR = '/etc/ssl/certs';

/** What one probe saw. */
export interface ProbeResult {
  state: StorageElementState;
  latencyMs: number;
  version: string | null;
  /** In words; for degraded and unreachable, what to do about it. */
  message: string;
}

export interface ProbeTarget {
  /** root://, roots://, https:// or davs:// (davs is WebDAV over https). */
  url: URL;
  timeoutMs: number;
  slowMs: number;
  /** https: PEM of the CAs to trust (with the system's). */
  caPem?: string;
  /** root: a hashed CA directory (X509_CERT_DIR). */
  caDir?: string;
  /** https: the path asked for (default the URL's). */
  checkPath?: string;
  /** root: a token for the login (XRootD's ztn), given in the child's environment, never in argv. */
  token?: string;
}

export function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'root:' || url.protocol === 'roots:' ? 1094 : 443;
}

function hostPort(url: URL): string {
  return `${url.hostname}:${defaultPort(url)}`;
}

/** The host to connect to: URL keeps IPv6 literals in brackets, sockets want them bare. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** Probes one storage element by its URL's scheme. Never throws. */
export function probeElement(t: ProbeTarget): Promise<ProbeResult> {
  return t.url.protocol === 'root:' || t.url.protocol === 'roots:' ? probeRoot(t) : probeHttp(t);
}

function slowOr(t: ProbeTarget, r: ProbeResult): ProbeResult {
  if (r.state !== 'ok' || r.latencyMs <= t.slowMs) return r;
  return { ...r, state: 'degraded', message: `${r.message}; but slow: ${r.latencyMs} ms (more than ${t.slowMs} ms, storage.probeSlowMs). The element or the network to it is overloaded.` };
}

/** Why a TCP connection could not be made, for a user: what to check. */
function unreachableMessage(hp: string, code: string | undefined, timeoutMs: number): string {
  switch (code) {
    case 'ECONNREFUSED':
      return `Connection to ${hp} refused: nothing listens there. Is the storage element running, and is the port in its url right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host of ${hp} cannot be resolved: check the host name in its url (storage.elements).`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `No route to ${hp}: check the host in its url, and the network between the hub and the element.`;
    case 'TIMEOUT':
      return `No answer from ${hp} within ${timeoutMs / 1000} s: a firewall may drop the connection, or the element hangs.`;
    default:
      return `Cannot connect to ${hp} (${code ?? 'unknown error'}).`;
  }
}

/** A TCP connection within the deadline: null when it opened, else the error code ('TIMEOUT' for the deadline). */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(function deadline() { sock.destroy(); resolve('TIMEOUT'); }, timeoutMs);
    sock.once('connect', function opened() { clearTimeout(timer); sock.destroy(); resolve(null); });
    sock.once('error', function failed(err: NodeJS.ErrnoException) { clearTimeout(timer); resolve(err.code ?? 'ERROR'); });
  });
}

/**
 * root://: a TCP connect (so "refused", "unknown host" and "no answer" are told apart, which
 * xrdfs reports alike as "Connection error"), then `xrdfs host:port query config version` with
 * the deadline in XRootD's own variables and a kill at the deadline. The token goes in the
 * child's environment (BEARER_TOKEN), never in argv: /proc/<pid>/cmdline is world-readable.
 */
export async function probeRoot(t: ProbeTarget): Promise<ProbeResult> {
  const started = Date.now();
  const hp = hostPort(t.url);
  const refused = await tcpConnect(bareHost(t.url), defaultPort(t.url), t.timeoutMs);
  if (refused !== null) return { state: 'unreachable', latencyMs: Date.now() - started, version: null, message: unreachableMessage(hp, refused, t.timeoutMs) };
  if (!existsSync(XRDFS_BIN)) return { state: 'degraded', latencyMs: Date.now() - started, version: null, message: `${hp} accepts connections, but the hub cannot speak root:// to it: ${XRDFS_BIN} is missing (install Debian's xrootd-client, scripts/install-deps.sh).` };
  const left = Math.max(1, t.timeoutMs - (Date.now() - started));
  const secs = String(Math.max(1, Math.ceil(left / 1000)));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    X509_CERT_DIR: t.caDir ?? (existsSync(GRID_CA_DIR) ? GRID_CA_DIR : SYSTEM_CA_DIR),
    XRD_CONNECTIONRETRY: '1',
    XRD_CONNECTIONWINDOW: secs,
    XRD_REQUESTTIMEOUT: secs,
    XRD_STREAMTIMEOUT: secs,
    // The client looks at its timers every 15 s by default: a 5 s deadline would never fire.
    XRD_TIMEOUTRESOLUTION: '1',
    ...(t.token ? { BEARER_TOKEN: t.token } : {}),
  };
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }>((resolve) => {
    const child = spawn(XRDFS_BIN, [hp, 'query', 'config', 'version'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(function deadline() { killed = true; child.kill('SIGKILL'); }, left);
    child.once('error', function spawnFailed(err) { clearTimeout(timer); resolve({ code: -1, stdout, stderr: String(err), killed }); });
    child.once('close', function exited(code) { clearTimeout(timer); resolve({ code, stdout, stderr, killed }); });
  });
  const latencyMs = Date.now() - started;
  if (out.killed) return { state: 'unreachable', latencyMs, version: null, message: `${hp} accepts connections but XRootD did not answer within ${t.timeoutMs / 1000} s: the element hangs, or it is not an XRootD server.` };
  if (out.code === 0) {
    const v = out.stdout.trim().split('\n')[0]!.trim();
    return slowOr(t, { state: 'ok', latencyMs, version: /^v?\d+(\.\d+)*\S*$/.test(v) ? v : null, message: `answers root:// queries${v ? ` (XRootD ${v})` : ''}` });
  }
  const err = out.stderr.replace(/\s+/g, ' ').trim().slice(0, 300);
  // The server answered and asked for credentials it did not get: it is up, it just does not trust the hub's probe token.
  if (/Auth failed/i.test(err)) return slowOr(t, { state: 'ok', latencyMs, version: null, message: 'answers root://; it did not accept the hub\'s probe token, so its version is not known' });
  if (/TLS error|certificate/i.test(err)) return { state: 'degraded', latencyMs, version: null, message: `${hp} answers, but the TLS handshake failed (${err}): set caFile of this element to the PEM of its CA.` };
  return { state: 'degraded', latencyMs, version: null, message: `${hp} accepts connections, but the XRootD query failed: ${err || `xrdfs exited ${out.code}`}` };
}

/** TLS verification failures: the element answers, the hub does not trust its certificate. */
const TLS_TRUST_CODES = new Set(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED']);

/**
 * https:// and davs://: `PROPFIND` with `Depth: 0` on the check path, no credentials. Any HTTP
 * answer means the element serves (401/403: it wants a token, as it should); 5xx is degraded.
 * The version is read from the `Server` header when it names one (XrdHttp: `XrootD/v5.5.3`).
 */
export function probeHttp(t: ProbeTarget): Promise<ProbeResult> {
  const started = Date.now();
  const hp = hostPort(t.url);
  const path = t.checkPath ?? (t.url.pathname || '/');
  return new Promise((resolve) => {
    let done = false;
    function finish(r: Omit<ProbeResult, 'latencyMs'>) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(slowOr(t, { ...r, latencyMs: Date.now() - started }));
    }
    const req = httpsRequest({
      host: bareHost(t.url), port: defaultPort(t.url), path: encodeURI(path), method: 'PROPFIND', agent: false,
      headers: { Depth: '0', 'Content-Length': '0', 'User-Agent': 'highrate-probe' },
      ...(t.caPem ? { ca: [...rootCertificates, t.caPem] } : {}),
    }, function answered(res) {
      res.resume();
      const status = res.statusCode ?? 0;
      const server = String(res.headers.server ?? '');
      const version = /\/(v?\d+(?:\.\d+)+)/.exec(server)?.[1] ?? null;
      const who = server ? ` (${server.slice(0, 60)})` : '';
      if (status >= 500) finish({ state: 'degraded', version, message: `${hp} answers HTTP ${status}${who}: the element reports a server error; its administrators should look at its logs.` });
      else finish({ state: 'ok', version, message: `answers HTTP ${status} to PROPFIND ${path}${who}` });
    });
    const timer = setTimeout(function deadline() {
      finish({ state: 'unreachable', version: null, message: unreachableMessage(hp, 'TIMEOUT', t.timeoutMs) });
    }, t.timeoutMs);
    req.on('error', function failed(err: NodeJS.ErrnoException) {
      const code = err.code;
      if (code && TLS_TRUST_CODES.has(code)) finish({ state: 'degraded', version: null, message: `${hp} answers, but its TLS certificate is not trusted (${code}): set caFile of this element to the PEM of its CA.` });
      else if (code === 'EPROTO' || /SSL|TLS|wrong version/i.test(err.message)) finish({ state: 'degraded', version: null, message: `${hp} accepts connections, but not TLS (${err.message.slice(0, 120)}): is the port right, and does it serve https?` });
      else finish({ state: 'unreachable', version: null, message: unreachableMessage(hp, code, t.timeoutMs) });
    });
    req.end();
  });
}
