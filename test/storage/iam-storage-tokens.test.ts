/**
 * storage.tokenSource oidc: storage tokens come from an INDIGO-IAM-like issuer (test/security/iam.ts,
 * a real oidc-provider), not from the hub's key. A browser login through the IAM makes the hub
 * exchange the user's access token (RFC 8693) for a refresh token with the storage scopes and
 * offline_access, kept sealed in the store; a server's token file then holds the IAM's own WLCG
 * token, refreshed from IAM before it expires; the embedded XRootD (real) trusts the IAM's keys.
 * A revoked refresh token stops the refreshes (the hub says why) and the next login brings them
 * back without restarting the server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { CLI, freePortPair, Platform } from '../helpers/platform.js';
import { CLIENT_SECRET, HUB_CLIENT, IamLike, iamLogin, TOKEN_EXCHANGE } from '../security/iam.js';
import { freePort } from './helpers.js';

const ready = fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/bin/xrdcp') && fs.existsSync('/usr/lib/x86_64-linux-gnu/libXrdAccSciTokens-5.so');
const ANY = 'https://wlcg.cern.ch/jwt/v1/any';
const CAROL_SCOPE = 'storage.read:/public storage.read:/user/carol storage.create:/user/carol storage.modify:/user/carol';

/** GET with the token in a lower-case `authorization` header, as HTTP/2 and some libraries send it. */
function httpsGet(url: string, ca: string, token: string | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('storage tokens from an INDIGO-IAM-like issuer', { skip: !ready && 'XRootD is not installed (scripts/install-deps.sh)' }, () => {
  let iam: IamLike;
  let p: Platform;
  let storagePort: number;
  const tokenFile = () => path.join(p.dataDir, 'tokens', 'carol', 'bt');
  const readToken = () => (fs.existsSync(tokenFile()) ? fs.readFileSync(tokenFile(), 'utf8').trim() : '');
  const ca = () => fs.readFileSync(path.join(p.dataDir, 'tokens', 'carol', 'ca', 'storage-ca.pem'), 'utf8');
  const url = (rel: string) => `https://127.0.0.1:${storagePort}${rel}`;

  before(async () => {
    const port = await freePortPair();
    storagePort = await freePort();
    iam = await IamLike.start(`http://127.0.0.1:${port}/hub/oauth_callback`);
    iam.storageTokenTtl = 6;
    p = await Platform.start({
      config: {
        hub: { port },
        auth: {
          kind: 'oidc',
          oidc: { issuer: iam.issuer, clientId: HUB_CLIENT, clientSecret: CLIENT_SECRET, scopes: ['openid', 'profile', 'wlcg.groups'], usernameClaim: 'preferred_username', groupsClaim: 'wlcg.groups' },
          adminUsers: ['root'],
        },
        storage: { embedded: true, port: storagePort, tokenSource: 'oidc' },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
      },
    });
    fs.writeFileSync(path.join(p.dataDir, 'storage', 'public', 'f.txt'), 'public bytes\n', { mode: 0o644 });
    fs.mkdirSync(path.join(p.dataDir, 'storage', 'user', 'dave'), { recursive: true });
    fs.writeFileSync(path.join(p.dataDir, 'storage', 'user', 'dave', 'secret.txt'), 'dave only\n', { mode: 0o644 });
  });
  after(async () => {
    await p?.close();
    await iam?.close();
  });

  test('a login exchanges the access token for a refresh token with the storage scopes, sealed in the store', async () => {
    iam.add('carol', ['/cms']);
    const { last } = await iamLogin(p.base, iam, 'carol');
    assert.equal(last.status, 302, last.text);
    assert.deepEqual(iam.grants, [{ grantType: TOKEN_EXCHANGE, clientId: HUB_CLIENT, scope: `${CAROL_SCOPE} offline_access`, audience: ANY }]);
    const store = await p.openStore();
    try {
      const row = await store.getUpstreamToken('carol', iam.issuer);
      assert.ok(row, 'a refresh token is kept');
      assert.match(row.sealed, /^v1\./);
      assert.ok(!row.sealed.includes('iamlike-rt-'), 'sealed, not in the clear');
    } finally {
      await store.close();
    }
    assert.ok(!fs.readFileSync(path.join(p.dataDir, 'highrate.sqlite')).includes('iamlike-rt-'), 'no refresh token in the database file');
  });

  test('a server\'s token file holds IAM\'s WLCG token; the embedded XRootD trusts IAM\'s keys', async () => {
    const token = await p.token('carol');
    await p.startServer('carol', token, {});
    const t = readToken();
    const claims = decodeJwt(t);
    assert.equal(claims.iss, iam.issuer);
    assert.equal(claims.aud, ANY);
    assert.equal(claims.scope, CAROL_SCOPE);
    assert.equal(claims['wlcg.ver'], '1.0');
    assert.equal((claims.exp as number) - (claims.iat as number), 6);
    assert.deepEqual(await httpsGet(url('/public/f.txt'), ca(), t), { status: 200, body: 'public bytes\n' });
    assert.equal((await httpsGet(url('/user/dave/secret.txt'), ca(), t)).status, 403, 'another user\'s area');
    assert.equal((await httpsGet(url('/public/f.txt'), ca(), null)).status, 403, 'no token');
    // XRootD's own client over root:// with the file, as a pod uses it.
    const out = path.join(p.dataDir, 'got.txt');
    await new Promise<void>((resolve, reject) => execFile('xrdcp', ['-f', '-s', `root://127.0.0.1:${storagePort}//public/f.txt`, out], {
      timeout: 30_000, env: { PATH: process.env.PATH, BEARER_TOKEN_FILE: tokenFile(), X509_CERT_DIR: path.join(p.dataDir, 'tokens', 'carol', 'ca'), XRD_REQUESTTIMEOUT: '20' },
    }, (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve())));
    assert.equal(fs.readFileSync(out, 'utf8'), 'public bytes\n');
  });

  test('the file is refreshed from IAM before expiry, asking for the policy\'s scopes and the audience', async () => {
    const first = readToken();
    const seen = iam.grants.length;
    const next = await until('a refreshed token', () => { const t = readToken(); return t && t !== first ? t : undefined; }, 10_000);
    const refresh = iam.grants.slice(seen).find((g) => g.grantType === 'refresh_token');
    assert.deepEqual(refresh, { grantType: 'refresh_token', clientId: HUB_CLIENT, scope: CAROL_SCOPE, audience: ANY });
    const [a, b] = [decodeJwt(first), decodeJwt(next)];
    assert.ok((b.iat as number) < (a.exp as number), 'written before the old one expired');
    assert.notEqual(a.jti, b.jti);
    assert.equal((await httpsGet(url('/public/f.txt'), ca(), next)).status, 200);
  });

  test('`highrate token issue --storage` prints a token from IAM for scripts; --expires-in is refused', async () => {
    const run = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => execFile(process.execPath, [CLI, 'token', 'issue', 'carol', '--storage', '--data-dir', p.dataDir, '--config', p.configFile, ...args], { timeout: 30_000 }, (e, out, err) => resolve({ code: e ? Number(e.code) : 0, out, err })));
    const ok = await run([]);
    assert.equal(ok.code, 0, ok.err);
    const claims = decodeJwt(ok.out.trim().split('\n').at(-1)!);
    assert.equal(claims.iss, iam.issuer);
    assert.equal(claims.scope, CAROL_SCOPE);
    const refused = await run(['--expires-in', '60']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /--expires-in cannot be used with storage\.tokenSource oidc: the issuer decides the lifetime of its tokens\./);
  });

  test('a revoked refresh token stops refreshes; the next login brings tokens back without restarting the server', async () => {
    assert.ok(iam.revokeRefreshTokens('carol') >= 1);
    const store = await p.openStore();
    try {
      await until('the hub to drop the refused refresh token', async () => ((await store.getUpstreamToken('carol', iam.issuer)) === null ? true : undefined), 10_000);
      const stale = readToken();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(readToken(), stale, 'no new token without a refresh token');
      await iamLogin(p.base, iam, 'carol');
      assert.ok(await store.getUpstreamToken('carol', iam.issuer), 'the new login kept a new refresh token');
      const fresh = await until('a token after the new login', () => { const t = readToken(); return t && t !== stale ? t : undefined; }, 10_000);
      assert.equal((await httpsGet(url('/public/f.txt'), ca(), fresh)).status, 200);
      const servers = (await p.api('GET', '/hub/api/users/carol', { token: await p.token('carol') })).json().servers;
      assert.equal(servers['']?.ready, true, 'the server ran on');
    } finally {
      await store.close();
    }
  });

  test('a user the hub holds no refresh token for still starts a server; their pod has no token file', async () => {
    const erin = await p.token('erin');
    await p.startServer('erin', erin, {});
    assert.ok(fs.statSync(path.join(p.dataDir, 'tokens', 'erin')).isDirectory(), 'the directory pods mount exists');
    assert.equal(fs.existsSync(path.join(p.dataDir, 'tokens', 'erin', 'bt')), false);
  });
});
