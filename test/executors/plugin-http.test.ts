import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { conformancePod, shContainer } from '../../src/executors/conformance/index.js';
import { InterlinkExecutor } from '../../src/executors/interlink/index.js';
import type { Pod } from '../../src/executors/types.js';
import { startPluginProcess, wire, type PluginProcess } from './plugin-http.helpers.js';

/**
 * `highrate plugin serve` on the wire, as interLink ≥ 0.5 talks to it (real processes started
 * here and stopped after): bodies on GET, any method, exact field names, ping with `[]`, streamed
 * logs, 0.3/0.4 array bodies, the interLink API paths of --api, 400 with a message for every
 * malformed body (never 500), a unix socket, HTTPS, and bearer-token refusals.
 */

const root = mkdtempSync(join(tmpdir(), 'highrate-plugin-wire-'));
const started: PluginProcess[] = [];
after(async () => {
  await Promise.all(started.map((p) => p.stop()));
  rmSync(root, { recursive: true, force: true });
});

async function serve(args: string[]): Promise<PluginProcess> {
  const p = await startPluginProcess(args);
  started.push(p);
  return p;
}

const sh = (name: string, script: string, extra = {}) => shContainer(name, 'docker.io/library/busybox:1.36', script, extra);
const podOf = (p: Pod) => ({ apiVersion: 'v1', kind: 'Pod', metadata: p.metadata, spec: p.spec, status: { phase: 'Running' } });
/** A LogStruct as Go's encoding/json writes it (interLink sends every field). */
const goLogs = (p: Pod, container: string, opts: Record<string, unknown> = {}) => ({
  Namespace: p.metadata.namespace, PodUID: p.metadata.uid, PodName: p.metadata.name, ContainerName: container,
  Opts: { Tail: 0, Bytes: 0, Timestamps: false, Follow: false, Previous: false, SinceSeconds: 0, SinceTime: '0001-01-01T00:00:00Z', ...opts },
});

async function until(what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('plugin serve --api over TCP', () => {
  let base: string;
  const pods: Pod[] = [];
  before(async () => {
    base = (await serve(['--executor', 'local', '--listen', '127.0.0.1:0', '--api', '--data-dir', join(root, 'tcp')])).url;
  });
  after(async () => {
    for (const p of pods) await wire(base, 'POST', '/delete', { body: podOf(p) });
  });

  test('ping: GET /status with [] (and Go\'s null) answers a PingResponse', async () => {
    for (const raw of ['[]', 'null']) {
      const r = await wire(base, 'GET', '/status', { raw });
      assert.equal(r.status, 200, r.text);
      const body = r.json();
      assert.deepEqual(Object.keys(body), ['resources']);
      assert.deepEqual(Object.keys(body.resources), ['cpu', 'memory', 'pods']);
      assert.match(body.resources.cpu, /^\d+$/);
      assert.match(body.resources.memory, /^\d+(Ki|Mi|Gi)?$/);
      assert.equal(body.resources.pods, '1000');
    }
  });

  test('any method is accepted on every path', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const r = await wire(base, method, '/status', { raw: '[]' });
      assert.equal(r.status, 200, `${method} /status: ${r.text}`);
    }
  });

  test('create → CreateStruct; GET /status with a body → PodStatus; field names exactly as interLink\'s Go tags', async () => {
    const data = conformancePod('wire', { containers: [sh('main', 'echo wired; sleep 1')] });
    pods.push(data.pod);
    const c = await wire(base, 'POST', '/create', { body: data });
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(Object.keys(c.json()).sort(), ['PodJID', 'PodUID']);
    assert.equal(c.json().PodUID, data.pod.metadata.uid);
    const s = await wire(base, 'GET', '/status', { body: [podOf(data.pod)] });
    assert.equal(s.status, 200, s.text);
    const [st] = s.json();
    assert.deepEqual(Object.keys(st).sort(), ['JID', 'UID', 'containers', 'initContainers', 'name', 'namespace']);
    assert.deepEqual([st.name, st.UID, st.namespace, st.JID], [data.pod.metadata.name, data.pod.metadata.uid, 'highrate-conformance', c.json().PodJID]);
    assert.deepEqual(st.initContainers, []);
    assert.deepEqual(Object.keys(st.containers[0]).sort(), ['image', 'imageID', 'name', 'ready', 'restartCount', 'started', 'state']);
    await until('the container to end', async () => !!(await wire(base, 'GET', '/status', { body: [podOf(data.pod)] })).json()[0].containers[0].state.terminated);
    const l = await wire(base, 'GET', '/getLogs', { body: goLogs(data.pod, 'main') });
    assert.equal(l.status, 200, l.text);
    assert.match(String(l.headers['content-type']), /^text\/plain/);
    assert.equal(l.text, 'wired\n');
  });

  test('0.3/0.4-style array body on /create', async () => {
    const data = conformancePod('array', { containers: [sh('main', 'true')] });
    pods.push(data.pod);
    const r = await wire(base, 'POST', '/create', { body: [data] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().PodUID, data.pod.metadata.uid);
  });

  test('getLogs with Follow streams: the first line arrives before the container ends', async () => {
    const data = conformancePod('follow', { containers: [sh('main', 'echo one; sleep 1.5; echo two')] });
    pods.push(data.pod);
    await wire(base, 'POST', '/create', { body: data });
    await until('main to run', async () => !!(await wire(base, 'GET', '/status', { body: [podOf(data.pod)] })).json()[0].containers[0].state.running);
    const u = new URL(base);
    const payload = JSON.stringify(goLogs(data.pod, 'main', { Follow: true }));
    const arrivals = await new Promise<[number, string][]>((resolve, reject) => {
      const t0 = Date.now();
      const got: [number, string][] = [];
      const req = request({ hostname: u.hostname, port: u.port, path: '/getLogs', method: 'GET', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', (c: Buffer) => got.push([Date.now() - t0, c.toString()]));
        res.on('end', () => resolve(got));
      });
      req.on('error', reject);
      req.end(payload);
    });
    assert.equal(arrivals.map(([, s]) => s).join(''), 'one\ntwo\n');
    assert.ok(arrivals[0]![0] < 1000 && arrivals.at(-1)![0] >= 1000, `first chunk early, last late: ${JSON.stringify(arrivals)}`);
  });

  test('delete with a v1.Pod: 200, then status no longer has it; deleting again is fine', async () => {
    const data = conformancePod('delete', { containers: [sh('main', 'sleep 600')] });
    await wire(base, 'POST', '/create', { body: data });
    for (const method of ['POST', 'DELETE']) {
      const r = await wire(base, method, '/delete', { body: podOf(data.pod) });
      assert.equal(r.status, 200, r.text);
    }
    assert.deepEqual((await wire(base, 'GET', '/status', { body: [podOf(data.pod)] })).json(), []);
  });

  test('--api: /pinglink, /updateCache, PodCreateRequests on /create (objects given to the containers that use them)', async () => {
    const ping = await wire(base, 'POST', '/pinglink');
    assert.equal(ping.status, 200, ping.text);
    assert.ok(ping.json().resources.cpu);
    const data = conformancePod('vk', {
      volumes: [{ name: 'cfg', configMap: { name: 'vk-config' } }],
      containers: [sh('main', 'cat /etc/vk/greeting; echo " $TOKEN"', { volumeMounts: [{ name: 'cfg', mountPath: '/etc/vk' }], env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'vk-secret', key: 'token' } } }] })],
    });
    pods.push(data.pod);
    const body = {
      pod: podOf(data.pod),
      configmaps: [{ metadata: { name: 'vk-config', namespace: 'highrate-conformance' }, data: { greeting: 'hello from the VK' } }],
      secrets: [{ metadata: { name: 'vk-secret', namespace: 'highrate-conformance' }, data: { token: Buffer.from('t0k').toString('base64') } }],
      projectedvolumesmaps: null,
      jobscriptURL: '',
    };
    const c = await wire(base, 'POST', '/create', { body, headers: { 'InterLink-Http-Session': 'CreatePod#4242' } });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json().PodUID, data.pod.metadata.uid);
    await until('main to end', async () => !!(await wire(base, 'GET', '/status', { body: [podOf(data.pod)] })).json()[0]?.containers[0].state.terminated);
    assert.equal((await wire(base, 'GET', '/getLogs', { body: goLogs(data.pod, 'main') })).text, 'hello from the VK t0k\n');
    const u = await wire(base, 'POST', '/updateCache', { body: podOf(data.pod) });
    assert.deepEqual([u.status, u.text], [200, 'Updated cache']);
  });

  test('malformed bodies: 400 with a message naming what is wrong (never 500)', async () => {
    const uid = '3f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b';
    const logs = (over: Record<string, unknown>, opts: Record<string, unknown> = {}) => ({
      ...goLogs({ metadata: { name: 'p', namespace: 'ns', uid } } as Pod, 'main', opts), ...over,
    });
    const cases: [string, string, { raw?: string; body?: unknown }, RegExp][] = [
      ['/create', 'POST', { raw: '{"pod":' }, /not valid JSON/],
      ['/create', 'POST', { raw: '' }, /RetrievedPodData/],
      ['/create', 'POST', { body: { pod: { metadata: {} } } }, /body\.pod\.metadata\.uid must be a non-empty string/],
      ['/create', 'POST', { body: { pod: { metadata: { uid } , spec: { containers: [] } }, container: null } }, /spec\.containers must be a non-empty array/],
      ['/create', 'POST', { body: { pod: { metadata: { uid }, spec: { containers: [{ name: 'main' }] } }, container: 'x' } }, /body\.container must be an array or null/],
      ['/create', 'POST', { body: [] }, /empty array/],
      ['/create', 'POST', { body: conformancePod('bad', { containers: [sh('Bad Name', 'true')] }) }, /Invalid container name "Bad Name"/],
      ['/status', 'GET', { body: { pods: [] } }, /JSON array of pods/],
      ['/status', 'GET', { body: [{ metadata: {} }] }, /pods\[0\]\.metadata\.uid/],
      ['/delete', 'POST', { body: [] }, /Kubernetes Pod object/],
      ['/getLogs', 'GET', { body: logs({}, { Tail: 5, Bytes: 10 }) }, /^Both Tail and LimitBytes set\. Set only one of them$/],
      ['/getLogs', 'GET', { body: logs({}, { SinceSeconds: 5, SinceTime: '2025-01-01T00:00:00Z' }) }, /^Both SinceSeconds and SinceTime set\. Set only one of them$/],
      ['/getLogs', 'GET', { body: logs({ PodUID: uid.toUpperCase() }) }, /^invalid pod UID: must be a valid UUID$/],
      ['/getLogs', 'GET', { body: logs({ Namespace: 'Bad_NS' }) }, /^invalid namespace: must be a valid DNS label$/],
      ['/getLogs', 'GET', { body: logs({ ContainerName: '../etc' }) }, /^invalid container name: must be a valid DNS label$/],
      ['/getLogs', 'GET', { body: logs({}, { Tail: '5' }) }, /Opts\.Tail must be a non-negative integer/],
      ['/getLogs', 'GET', { body: logs({}, { SinceTime: 'yesterday' }) }, /Opts\.SinceTime must be an RFC 3339 time/],
      ['/getLogs', 'GET', { raw: '[1,2' }, /not valid JSON/],
    ];
    for (const [path, method, opts, message] of cases) {
      const r = await wire(base, method, path, opts);
      assert.equal(r.status, 400, `${method} ${path} ${opts.raw ?? JSON.stringify(opts.body).slice(0, 80)} → ${r.status} ${r.text}`);
      assert.match(r.json().message, message, `${path}: ${r.text}`);
    }
    const none = await wire(base, 'GET', '/nope', { raw: '[]' });
    assert.equal(none.status, 404);
    const unknown = await wire(base, 'GET', '/getLogs', { body: logs({}) });
    assert.equal(unknown.status, 404, unknown.text);
  });
});

describe('plugin serve on a unix socket, without --api', () => {
  let sock: string;
  before(async () => {
    sock = (await serve(['--executor', 'local', '--listen', `unix:${join(root, 'p.sock')}`, '--data-dir', join(root, 'unix')])).url;
  });

  test('ping over the socket; a PodCreateRequests body is refused with a pointer to --api', async () => {
    assert.equal(sock, `unix://${join(root, 'p.sock')}`);
    const ping = await wire(sock, 'GET', '/status', { raw: '[]' });
    assert.equal(ping.status, 200, ping.text);
    const data = conformancePod('vk', { containers: [sh('main', 'true')] });
    const r = await wire(sock, 'POST', '/create', { body: { pod: data.pod, configmaps: null, secrets: null, projectedvolumesmaps: null, jobscriptURL: '' } });
    assert.equal(r.status, 400);
    assert.match(r.json().message, /PodCreateRequests body.*--api/);
    assert.equal((await wire(sock, 'POST', '/pinglink')).status, 404, '/pinglink only with --api');
  });
});

describe('plugin serve over HTTPS with a client certificate (mTLS)', () => {
  let url: string;
  const tls = join(root, 'tls');
  before(async () => {
    execFileSync('mkdir', ['-p', tls]);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tls, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=highrate test CA');
    for (const [n, cn] of [['server', '127.0.0.1'], ['client', 'virtual-kubelet']] as const) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${cn}`);
      writeFileSync(join(tls, `${n}.ext`), n === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
      ssl('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.crt`, '-days', '1', '-extfile', `${n}.ext`);
    }
    url = (await serve(['--executor', 'local', '--listen', '127.0.0.1:0', '--api', '--data-dir', join(root, 'tls-data'),
      '--tls-cert', join(tls, 'server.crt'), '--tls-key', join(tls, 'server.key'), '--tls-ca', join(tls, 'ca.crt')])).url;
  });

  test('the interlink executor with CA and client certificate pings; without a client certificate the handshake fails', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = new InterlinkExecutor({ name: 'tls', url, tls: { caFile: join(tls, 'ca.crt'), certFile: join(tls, 'client.crt'), keyFile: join(tls, 'client.key') } });
    try {
      assert.ok((await ok.ping()).resources?.cpu);
    } finally {
      await ok.close();
    }
    const noCert = new InterlinkExecutor({ name: 'tls', url, tls: { caFile: join(tls, 'ca.crt') } });
    try {
      await assert.rejects(noCert.ping(), { code: 'EXECUTOR_FAILED', message: /unreachable/ });
    } finally {
      await noCert.close();
    }
  });
});

describe('bearer tokens (the oauth2-proxy part of an interLink deployment)', () => {
  let issuerServer: Server;
  let issuer: string;
  let base: string;
  let sign: (claims: Record<string, unknown>, opts?: { key?: 'good' | 'forged'; exp?: string; iss?: string }) => Promise<string>;

  before(async () => {
    const good = await generateKeyPair('RS256');
    const forged = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    issuerServer = createServer((req, res) => {
      const body = req.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] }
        : req.url === '/jwks' ? { keys: [jwk] } : null;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', () => r()));
    issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
    sign = async (claims, o = {}) => new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(o.iss ?? issuer).setSubject('vk-service').setIssuedAt().setExpirationTime(o.exp ?? '5m')
      .sign((o.key === 'forged' ? forged : good).privateKey);
    base = (await serve(['--executor', 'local', '--listen', '127.0.0.1:0', '--api', '--data-dir', join(root, 'auth'),
      '--oidc-issuer', issuer, '--audience', 'interlink', '--groups-claim', 'wlcg.groups', '--allowed-group', 'cms'])).url;
  });
  after(async () => {
    issuerServer.closeAllConnections();
    await new Promise<void>((r) => issuerServer.close(() => r()));
  });

  const ping = (auth?: string) => wire(base, 'GET', '/status', { raw: '[]', ...(auth ? { headers: { authorization: auth } } : {}) });

  test('a valid token with an allowed group (IAM writes "/cms") is let in', async () => {
    const r = await ping(`Bearer ${await sign({ aud: 'interlink', 'wlcg.groups': ['/cms', '/cms/uscms'] })}`);
    assert.equal(r.status, 200, r.text);
  });

  test('refusals: no token, another scheme, wrong audience, forged signature, expired, other issuer → 401; group not allowed → 403', async () => {
    const cases: [string, string | undefined, number, RegExp][] = [
      ['no token', undefined, 401, /bearer token is required/],
      ['token scheme', 'token abc', 401, /bearer token is required/],
      ['garbage', 'Bearer not.a.jwt', 401, /not valid: malformed/],
      ['wrong audience', `Bearer ${await sign({ aud: 'users', 'wlcg.groups': ['/cms'] })}`, 401, /claim "aud" check failed/],
      ['forged signature', `Bearer ${await sign({ aud: 'interlink', 'wlcg.groups': ['/cms'] }, { key: 'forged' })}`, 401, /signature verification failed/],
      ['expired', `Bearer ${await sign({ aud: 'interlink', 'wlcg.groups': ['/cms'] }, { exp: '-2m' })}`, 401, /expired/],
      ['other issuer', `Bearer ${await sign({ aud: 'interlink', 'wlcg.groups': ['/cms'] }, { iss: 'https://evil.example.org' })}`, 401, /claim "iss" check failed/],
      ['group not allowed', `Bearer ${await sign({ aud: 'interlink', 'wlcg.groups': ['/atlas'] })}`, 403, /none of the allowed groups/],
      ['no groups claim', `Bearer ${await sign({ aud: 'interlink', groups: ['cms'] })}`, 403, /none of the allowed groups \(claim "wlcg\.groups"\)/],
    ];
    for (const [what, auth, status, message] of cases) {
      const r = await ping(auth);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.match(r.json().message, message, what);
      if (status === 401) assert.match(String(r.headers['www-authenticate']), /^Bearer /, what);
    }
    // Every path is guarded, not only /status.
    assert.equal((await wire(base, 'POST', '/create', { body: conformancePod('x', { containers: [sh('main', 'true')] }) })).status, 401);
    assert.equal((await wire(base, 'POST', '/pinglink')).status, 401);
  });

  test('the interlink executor sends the token file, read again on every call', async () => {
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, await sign({ aud: 'interlink', 'wlcg.groups': ['/cms'] }));
    const ex = new InterlinkExecutor({ name: 'remote', url: base, tokenFile });
    try {
      assert.ok((await ex.ping()).resources);
      writeFileSync(tokenFile, await sign({ aud: 'interlink', 'wlcg.groups': ['/atlas'] }));
      await assert.rejects(ex.ping(), { code: 'EXECUTOR_FAILED', message: /answered \/pinglink with 403: The token's subject is in none of the allowed groups/ });
      writeFileSync(tokenFile, await sign({ aud: 'interlink', 'wlcg.groups': ['/cms'] }));
      assert.ok((await ex.ping()).resources, 'the refreshed token is used at once');
    } finally {
      await ex.close();
    }
  });
});
