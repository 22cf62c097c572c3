import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adler32 } from '../../src/data/adler32.js';
import { RucioClient, isRucioError, oidcToken, userpass, x509, type RucioError } from '../../src/data/rucio/index.js';
import { demoState, seedContent } from '../fixtures/rucio-server/seed.js';
import { startRucioProcess, type RucioProcess } from './rucio-process.js';

const STORAGE = ['--storage-root', 'root://127.0.0.1:31094', '--storage-https', 'https://127.0.0.1:31094'];

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function rejects(p: Promise<unknown>, cls: string, status: number, message?: RegExp): Promise<RucioError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isRucioError(err), `not a RucioError: ${String(err)}`);
    assert.equal(err.exceptionClass, cls, err.message);
    assert.equal(err.status, status, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${cls}`);
}

/** A raw request, to check what the server sends on the wire. */
function raw(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject).end();
  });
}

describe('Rucio client against the Rucio test server (a real process)', () => {
  let rucio: RucioProcess;
  let alice: RucioClient;
  let bob: RucioClient;

  before(async () => {
    rucio = await startRucioProcess({ args: ['--token-lifetime', '3', '--replication-seconds', '0.3', ...STORAGE] });
    alice = new RucioClient({ url: rucio.url, credential: userpass({ username: 'alice', password: 'alice-secret' }) });
    bob = new RucioClient({ url: rucio.url, credential: userpass({ username: 'bob', password: 'bob-secret', account: 'bob' }) });
  });
  after(async () => { await rucio?.stop(); });

  test('userpass login, whoami (a 303 followed), and the wire format of errors', async () => {
    const me = await alice.accounts.whoami();
    assert.equal(me.account, 'alice');
    assert.equal(me.account_type, 'USER');
    assert.equal(alice.logins, 1);
    const login = await raw(`${rucio.url}/auth/userpass`, { 'x-rucio-username': 'alice', 'x-rucio-password': 'alice-secret' });
    assert.equal(login.status, 200);
    assert.match(String(login.headers['x-rucio-auth-token-expires']), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$/);
    assert.equal(login.headers['x-rucio-auth-account'], 'alice');
    const token = String(login.headers['x-rucio-auth-token']);
    const missing = await raw(`${rucio.url}/dids/data/dataset1`, {});
    assert.equal(missing.status, 400);
    assert.equal(missing.headers.exceptionclass, 'ValueError');
    assert.deepEqual(JSON.parse(missing.body), { ExceptionClass: 'ValueError', ExceptionMessage: 'Token must be set.' });
    const wrongAccept = await raw(`${rucio.url}/dids/data/dataset1/files`, { 'x-rucio-auth-token': token, accept: 'application/json' });
    assert.equal(wrongAccept.status, 406);
    assert.equal(wrongAccept.headers.exceptionclass, 'UnsupportedRequestedContentType');
    const stream = await raw(`${rucio.url}/dids/data/dataset1/files`, { 'x-rucio-auth-token': token, accept: 'application/x-json-stream' });
    assert.equal(stream.headers['content-type'], 'application/x-json-stream');
    assert.equal(stream.body.split('\n').filter(Boolean).length, 3);
    await rejects(new RucioClient({ url: rucio.url, credential: userpass({ username: 'alice', password: 'wrong' }) }).accounts.whoami(), 'CannotAuthenticate', 401, /Cannot authenticate to account alice/);
  });

  test('DID search with wildcards, DID detail, files, content, parents, metadata', async () => {
    const datasets = await collect(alice.dids.search('data', { name: 'dataset*', type: 'dataset' }));
    assert.deepEqual(datasets.map((d) => [d.name, d.did_type, d.bytes, d.length]), [['dataset1', 'DATASET', 28672, 3], ['dataset2', 'DATASET', 3072, 2]]);
    const files = await collect(alice.dids.search('data', { name: 'file*', type: 'all' }));
    assert.deepEqual(files.map((d) => d.name), ['file1.root', 'file2.root', 'file3.root', 'file4.root', 'file5.root']);
    const ds = await alice.dids.get('data', 'dataset1', { dynamicDepth: 'FILE' });
    assert.deepEqual([ds.type, ds.bytes, ds.length, ds.open], ['DATASET', 28672, 3, false]);
    const f = await alice.dids.get('data', 'file2.root');
    assert.equal(f.adler32, adler32(seedContent('data', 'file2.root', 8192)));
    const listed = await collect(alice.dids.files('data', 'container1'));
    assert.deepEqual(listed.map((x) => [x.name, x.bytes]), [['file1.root', 4096], ['file2.root', 8192], ['file3.root', 16384], ['file4.root', 2048], ['file5.root', 1024]]);
    assert.deepEqual((await collect(alice.dids.content('data', 'container1'))).map((c) => `${c.name}:${c.type}`), ['dataset1:DATASET', 'dataset2:DATASET']);
    assert.deepEqual((await collect(alice.dids.parents('data', 'file4.root'))).map((p) => p.name), ['dataset2']);
    assert.deepEqual(await alice.dids.meta('data', 'dataset1', 'JSON'), { project: 'demo', datatype: 'NTUP' });
    await rejects(alice.dids.get('data', 'nope'), 'DataIdentifierNotFound', 404, /Data identifier 'data:nope' not found/);
  });

  test('replicas/list: json-stream, schemes, RSE expressions; unknown DID is a 400', async () => {
    const all = await collect(alice.replicas.list([{ scope: 'data', name: 'dataset2' }], { schemes: ['root'] }));
    assert.equal(all.length, 2);
    const f4 = all.find((x) => x.name === 'file4.root')!;
    const [pfn] = Object.keys(f4.pfns);
    assert.match(pfn!, /^root:\/\/xrootd\.site\.example\.org:1094\/\/rucio\/data\/[0-9a-f]{2}\/[0-9a-f]{2}\/file4\.root$/);
    assert.deepEqual(f4.pfns[pfn!], { rse_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', rse: 'SITE-DISK', type: 'DISK', volatile: false, domain: 'wan', priority: 1, client_extract: false });
    assert.deepEqual(f4.rses, { 'SITE-DISK': [pfn] });
    const here = await collect(alice.replicas.list([{ scope: 'data', name: 'dataset2' }], { rseExpression: 'FACILITY' }));
    assert.deepEqual(here.map((x) => Object.keys(x.pfns).length), [0, 0]);
    await rejects(collect(alice.replicas.list([{ scope: 'data', name: 'nope' }])), 'DataIdentifierNotFound', 400);
  });

  test('rules: add, lock states REPLICATING → OK, replicas appear at the facility, delete', async () => {
    const [id] = await alice.rules.add({ dids: [{ scope: 'data', name: 'dataset2' }], account: 'alice', copies: 1, rse_expression: 'FACILITY', lifetime: 3600, comment: 'test' });
    assert.match(id!, /^[0-9a-f]{32}$/);
    const fresh = await alice.rules.get(id!);
    assert.deepEqual([fresh.state, fresh.locks_ok_cnt, fresh.locks_replicating_cnt, fresh.account, fresh.comments], ['REPLICATING', 0, 2, 'alice', 'test']);
    assert.deepEqual((await collect(alice.rules.locks(id!))).map((l) => `${l.name}@${l.rse}:${l.state}`).sort(), ['file4.root@FACILITY:REPLICATING', 'file5.root@FACILITY:REPLICATING']);
    await new Promise((r) => setTimeout(r, 800));
    const done = await alice.rules.get(id!);
    assert.deepEqual([done.state, done.locks_ok_cnt, done.locks_replicating_cnt], ['OK', 2, 0]);
    const mine = await collect(alice.rules.ofAccount('alice'));
    assert.deepEqual(mine.map((r) => r.id), [id]);
    const usage = await alice.accounts.usage('alice', 'FACILITY');
    assert.deepEqual(usage.map((u) => [u.rse, u.bytes, u.files, u.bytes_limit]), [['FACILITY', 3072, 2, 64 * 1024 * 1024]]);
    assert.deepEqual(await alice.accounts.limits('alice'), { FACILITY: 64 * 1024 * 1024 });
    const reps = await collect(alice.replicas.list([{ scope: 'data', name: 'file5.root' }], { rseExpression: 'FACILITY', schemes: ['root', 'https'] }));
    assert.deepEqual(Object.keys(reps[0]!.pfns).map((p) => p.replace(/\/[0-9a-f]{2}\/[0-9a-f]{2}\//, '/H/H/')), ['root://127.0.0.1:31094//rucio/data/H/H/file5.root', 'https://127.0.0.1:31094/rucio/data/H/H/file5.root'], 'the RSE\'s protocol order is the priority');
    await rejects(alice.rules.add({ dids: [{ scope: 'data', name: 'dataset2' }], account: 'alice', copies: 1, rse_expression: 'FACILITY' }), 'DuplicateRule', 409);
    // Someone else's rule: readable, not deletable (401 AccessDenied, which is no reason to log in again).
    const bobLogins = bob.logins;
    assert.equal((await bob.rules.get(id!)).account, 'alice');
    await rejects(bob.rules.delete(id!), 'AccessDenied', 401);
    assert.equal(bob.logins, bobLogins + (bobLogins === 0 ? 1 : 0));
    await alice.rules.delete(id!);
    await rejects(alice.rules.get(id!), 'RuleNotFound', 404);
  });

  test('quota and RSE errors are typed', async () => {
    // bob has no limit at FACILITY: Rucio takes that as none left.
    await rejects(bob.rules.add({ dids: [{ scope: 'data', name: 'dataset1' }], account: 'bob', copies: 1, rse_expression: 'FACILITY' }), 'InsufficientAccountLimit', 409, /insufficient quota/);
    // alice's 64 MiB do not hold 160 MiB.
    await rejects(alice.rules.add({ dids: [{ scope: 'data', name: 'big' }], account: 'alice', copies: 1, rse_expression: 'FACILITY' }), 'InsufficientAccountLimit', 409);
    await rejects(alice.rules.add({ dids: [{ scope: 'data', name: 'nope' }], account: 'alice', copies: 1, rse_expression: 'FACILITY' }), 'DataIdentifierNotFound', 404);
    await rejects(alice.rules.add({ dids: [{ scope: 'data', name: 'dataset1' }], account: 'alice', copies: 1, rse_expression: 'NOWHERE' }), 'InvalidRSEExpression', 409);
    assert.equal((await alice.rses.attributes('FACILITY')).site, 'FACILITY');
    await rejects(alice.rses.attributes('NOWHERE'), 'RSENotFound', 404, /RSE 'NOWHERE' cannot be found/);
  });

  test('re-authenticates on 401 CannotAuthenticate and before expiry', async () => {
    await alice.accounts.whoami();
    const before = alice.logins;
    const r = await fetch(`${rucio.url}/_test/expire-tokens?account=alice`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal((await alice.accounts.whoami()).account, 'alice');
    assert.equal(alice.logins, before + 1, 'one new login after the server refused the token');
    // Tokens live 3 s here: a client idle past that logs in before it asks.
    await new Promise((res) => setTimeout(res, 3100));
    assert.equal((await alice.accounts.whoami()).account, 'alice');
    assert.equal(alice.logins, before + 2);
  });
});

describe('Rucio client: x509 and OIDC-token authentication', () => {
  let rucio: RucioProcess;
  let certs: string;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwt = (claims: Record<string, unknown>) => {
    const head = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return `${head}.${body}.${sig}`;
  };

  before(async () => {
    const state = demoState({ facilityRse: 'FACILITY', rootUrl: 'root://127.0.0.1:31094', httpsUrl: 'https://127.0.0.1:31094', prefix: '/rucio/' });
    state.identities.push({ kind: 'X509', identity: '/C=CH/O=Highrate/CN=hub', accounts: ['alice', 'carol'] });
    state.identities.push({ kind: 'OIDC', identity: 'SUB=alice-sub, ISS=https://idp.example.org', accounts: ['alice'] });
    // With TLS: a CA, a server certificate and a client certificate (the hub's), in a dir of our own.
    certs = mkdtempSync(join(tmpdir(), 'highrate-rucio-certs-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Test CA');
    for (const [n, subj] of [['server', '/CN=127.0.0.1'], ['client', '/C=CH/O=Highrate/CN=hub']] as const) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', subj);
      if (n === 'server') writeFileSync(join(certs, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
      ssl('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.pem`, '-days', '1', ...(n === 'server' ? ['-extfile', 'san.cnf'] : []));
    }
    writeFileSync(join(certs, 'oidc.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const tlsState = join(certs, 'tls-state.json');
    writeFileSync(tlsState, JSON.stringify(state));
    rucio = await startRucioProcess({ state, args: ['--token-lifetime', '60', '--tls-cert', join(certs, 'server.pem'), '--tls-key', join(certs, 'server.key'), '--tls-ca', join(certs, 'ca.pem'), '--oidc-issuer', 'https://idp.example.org', '--oidc-key', join(certs, 'oidc.pem')] });
  });
  after(async () => {
    await rucio?.stop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  test('x509: the client certificate\'s DN is the identity; X-Rucio-Account picks the account', async () => {
    const ca = readFileSync(join(certs, 'ca.pem'));
    const cred = { cert: readFileSync(join(certs, 'client.pem')), key: readFileSync(join(certs, 'client.key')) };
    const asCarol = new RucioClient({ url: rucio.url, tls: { ca }, credential: x509({ ...cred, account: 'carol' }) });
    assert.equal((await asCarol.accounts.whoami()).account, 'carol');
    // Two accounts and none named: x509 refuses unless multiple accounts may be returned.
    await rejects(new RucioClient({ url: rucio.url, tls: { ca }, credential: x509(cred) }).accounts.whoami(), 'CannotAuthenticate', 401, /Multiple accounts/);
    // Without a client certificate there is no DN.
    await rejects(new RucioClient({ url: rucio.url, tls: { ca }, credential: userpass({ username: 'x', password: 'y' }) }).accounts.whoami(), 'IdentityNotFound', 401);
  });

  test('OIDC: a JWT in X-Rucio-Auth-Token, checked for issuer, audience, scope and expiry', async () => {
    const ca = readFileSync(join(certs, 'ca.pem'));
    const exp = Math.floor(Date.now() / 1000) + 600;
    let token = jwt({ iss: 'https://idp.example.org', sub: 'alice-sub', aud: 'rucio', scope: 'openid profile', exp });
    const client = new RucioClient({ url: rucio.url, tls: { ca }, credential: oidcToken({ token: () => token }) });
    assert.equal((await client.accounts.whoami()).account, 'alice');
    const wrongAud = new RucioClient({ url: rucio.url, tls: { ca }, credential: oidcToken({ token: () => jwt({ iss: 'https://idp.example.org', sub: 'alice-sub', aud: 'other', scope: 'openid profile', exp }) }) });
    await rejects(wrongAud.accounts.whoami(), 'CannotAuthenticate', 401);
    // An expired JWT is refused; the client re-reads the token source once and succeeds with the fresh one.
    token = jwt({ iss: 'https://idp.example.org', sub: 'alice-sub', aud: 'rucio', scope: 'openid profile', exp: Math.floor(Date.now() / 1000) + 1 });
    const c2 = new RucioClient({ url: rucio.url, tls: { ca }, credential: oidcToken({ token: () => token }) });
    assert.equal((await c2.accounts.whoami()).account, 'alice');
    await new Promise((r) => setTimeout(r, 1100));
    token = jwt({ iss: 'https://idp.example.org', sub: 'alice-sub', aud: 'rucio', scope: 'openid profile', exp });
    assert.equal((await c2.accounts.whoami()).account, 'alice');
    assert.equal(c2.logins, 2, 'the expired JWT was replaced by the fresh one');
  });
});
