import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { JWK } from 'jose';

/**
 * Paths as the xrootd process sees them. When the hub runs as root, xrootd runs as an unprivileged
 * user (`-R`) that cannot traverse the hub's 0700 data directory, so its two directories are bind
 * mounts in a private mount namespace (xrootd-process.ts); otherwise these are the real paths.
 */
export interface XrootdView {
  /** xrootd's own directory: etc/ (configs, TLS pair), cache/ (XDG_CACHE_HOME), run/, log/. */
  home: string;
  /** The exported storage (oss.localroot). */
  storage: string;
}

export interface XrootdConfigInput {
  view: XrootdView;
  port: number;
  /** The issuer whose tokens are accepted (the embedded IdP's `iss`). */
  issuer: string;
  /** Accepted `aud` values; the WLCG "any" audience is accepted by the SciTokens library itself. */
  audiences: string[];
}

/** File names inside the view's home. */
export const XROOTD_FILES = {
  config: 'etc/xrootd.cfg',
  scitokens: 'etc/scitokens.cfg',
  cert: 'etc/cert.pem',
  key: 'etc/key.pem',
  keyCache: 'cache/scitokens/scitokens_cpp.sqllite',
  log: 'log/xrootd.log',
  run: 'run',
} as const;

/**
 * xrootd.cfg: one port for root:// and http(s):// (XrdHttp sniffs each connection; TLS from
 * `xrd.tls`), root:// upgraded to TLS when the client can (`xrootd.tls capable all`) and tokens over
 * root:// through the `ztn` security protocol (XRootD's client sends BEARER_TOKEN_FILE's token with
 * it, and only over TLS), over https in `Authorization` (copied to the `authz` CGI the plugin reads).
 * Authorisation is the SciTokens plugin alone (no `++`: nothing else may authorise, so no token,
 * or a token that does not cover the path, is refused).
 */
export function renderXrootdConfig(input: XrootdConfigInput): string {
  const { view, port } = input;
  const at = (f: string) => `${view.home}/${f}`;
  return [
    '# Written by highrate (src/storage/xrootd-config.ts) at every start; edits are overwritten.',
    'all.role server',
    'all.export /',
    `all.adminpath ${at(XROOTD_FILES.run)}`,
    `all.pidpath ${at(XROOTD_FILES.run)}`,
    `oss.localroot ${view.storage}`,
    `xrd.port ${port}`,
    `xrd.tls ${at(XROOTD_FILES.cert)} ${at(XROOTD_FILES.key)}`,
    // No client certificates are asked for: identity is the bearer token.
    'xrd.tlsca noverify',
    'xrootd.tls capable all',
    `xrd.protocol XrdHttp:${port} libXrdHttp.so`,
    // XrdHttp 5.5 matches the header name exactly: clients that send it in lower case (HTTP/2
    // style, some libraries) would reach it without their token, so both spellings are mapped.
    'http.header2cgi Authorization authz',
    'http.header2cgi authorization authz',
    // Without a security library xrootd logs clients in without any protocol and ztn never runs.
    'xrootd.seclib libXrdSec.so',
    'sec.protocol ztn',
    'sec.protbind * only ztn',
    'ofs.authorize 1',
    `ofs.authlib libXrdAccSciTokens.so config=${at(XROOTD_FILES.scitokens)}`,
    'scitokens.trace error warning',
    '',
  ].join('\n');
}

/**
 * scitokens.cfg (the plugin's INI file): the audiences, `onmissing = deny` (a request without a
 * token is refused, not passed to another authoriser), and one issuer with base path `/`, so the
 * token's scope paths are paths in the export.
 */
export function renderScitokensConfig(input: XrootdConfigInput): string {
  return [
    '[Global]',
    `audience_json = ${JSON.stringify(input.audiences)}`,
    'onmissing = deny',
    '',
    '[Issuer highrate]',
    `issuer = ${input.issuer}`,
    'base_path = /',
    '',
  ].join('\n');
}

/** How long the provisioned keys count as fresh: long, so the library never tries to fetch them. */
const KEY_CACHE_YEARS = 10;

/**
 * Provisions the issuer's public keys into the SciTokens library's key cache, so no key is ever
 * fetched over the network. scitokens-cpp (0.7, Debian 12) keeps keys in the SQLite file
 * `$XDG_CACHE_HOME/scitokens/scitokens_cpp.sqllite` (sic), table `keycache(issuer, keys)`, where
 * `keys` is `{"jwks": <JWKS>, "expires": <unix s>, "next_update": <unix s>}`; before `next_update`
 * it uses the row as it is, after `expires` it deletes it. The file is rewritten from scratch.
 */
export function writeKeyCache(file: string, issuer: string, jwks: { keys: JWK[] }, now = Math.floor(Date.now() / 1000)): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true });
  const db = new BetterSqlite3(file);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS keycache (issuer text UNIQUE PRIMARY KEY NOT NULL,keys text NOT NULL)');
    const until = now + KEY_CACHE_YEARS * 365 * 24 * 3600;
    db.prepare('INSERT OR REPLACE INTO keycache VALUES (?, ?)').run(issuer, JSON.stringify({ jwks, expires: until, next_update: until }));
  } finally {
    db.close();
  }
}
