import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformancePod, readAll, shContainer } from '../../src/executors/conformance/index.js';
import { InterlinkExecutor } from '../../src/executors/interlink/index.js';

/**
 * The interlink executor's requests, exactly, against a recording stand-in for interLink (or a
 * plugin): paths, methods, bodies (GET with JSON), the session header, the bearer token read from
 * its file on every call, a unix socket, and how answers other than 200 become errors.
 */

interface Seen { method: string; path: string; headers: IncomingMessage['headers']; body: string }
type Reply = (seen: Seen, res: ServerResponse) => void;

class FakeInterlink {
  seen: Seen[] = [];
  reply: Reply = (_s, res) => { res.writeHead(200); res.end('[]'); };
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const s: Seen = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
    this.seen.push(s);
    this.reply(s, res);
  });
  listen(where: number | string): Promise<void> {
    return new Promise((r) => (typeof where === 'number' ? this.server.listen(where, '127.0.0.1', () => r()) : this.server.listen(where, () => r())));
  }
  get port(): number { return (this.server.address() as AddressInfo).port; }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const json = (body: unknown, status = 200): Reply => (_s, res) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const dir = mkdtempSync(join(tmpdir(), 'highrate-interlink-client-'));
const fake = new FakeInterlink();
const unixFake = new FakeInterlink();
const sock = join(dir, 'interlink.sock');
before(async () => {
  await fake.listen(0);
  await unixFake.listen(sock);
});
after(async () => {
  await fake.close();
  await unixFake.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.seen = [];
  unixFake.seen = [];
});

const sh = (name: string, script: string, extra = {}) => shContainer(name, 'busybox:1.36', script, extra);
const withObjects = () => conformancePod('objs', {
  volumes: [{ name: 'c', configMap: { name: 'cfg' } }],
  containers: [sh('main', 'true', { volumeMounts: [{ name: 'c', mountPath: '/c' }] }), sh('side', 'true', { volumeMounts: [{ name: 'c', mountPath: '/c' }] })],
}, { configMaps: [{ metadata: { name: 'cfg' }, data: { a: 'b' } }] });

describe('target api (as the virtual kubelet calls interLink)', () => {
  const ex = () => new InterlinkExecutor({ name: 'remote', url: `http://127.0.0.1:${fake.port}` });

  test('create: POST /create with PodCreateRequests (each object once, Go\'s nulls), session CreatePod#n', async () => {
    const data = withObjects();
    fake.reply = json({ PodUID: data.pod.metadata.uid, PodJID: 'slurm-4711' });
    const e = ex();
    assert.deepEqual(await e.create(data), { PodUID: data.pod.metadata.uid, PodJID: 'slurm-4711' });
    assert.deepEqual(await e.create(data), { PodUID: data.pod.metadata.uid, PodJID: 'slurm-4711' }, 'a repeated create is answered without a second submission');
    assert.equal(fake.seen.length, 1);
    const s = fake.seen[0]!;
    assert.deepEqual([s.method, s.path], ['POST', '/create']);
    assert.match(String(s.headers['interlink-http-session']), /^CreatePod#\d+$/);
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers.authorization, undefined, 'no token file: no Authorization');
    const body = JSON.parse(s.body);
    assert.deepEqual(Object.keys(body), ['pod', 'configmaps', 'secrets', 'projectedvolumesmaps', 'jobscriptURL']);
    assert.deepEqual(body.configmaps, [{ metadata: { name: 'cfg' }, data: { a: 'b' } }]);
    assert.equal(body.secrets, null);
    assert.equal(body.projectedvolumesmaps, null);
    assert.equal(body.jobscriptURL, '');
    assert.deepEqual([body.pod.apiVersion, body.pod.kind, body.pod.metadata.uid], ['v1', 'Pod', data.pod.metadata.uid]);
    await e.close();
  });

  test('status: GET /status with the pods as body; only the pods asked for, nulls made lists; no call for none', async () => {
    const a = withObjects().pod;
    const b = withObjects().pod;
    fake.reply = json([
      { name: a.metadata.name, UID: a.metadata.uid, namespace: 'ns', JID: '1', containers: null, initContainers: null },
      { name: 'cached-other', UID: 'someone-else', namespace: 'ns', JID: '2', containers: [], initContainers: [] },
      { name: a.metadata.name, UID: a.metadata.uid, namespace: 'ns', JID: '1', containers: [], initContainers: [] },
    ]);
    const e = ex();
    assert.deepEqual(await e.status([a, b]), [{ name: a.metadata.name, UID: a.metadata.uid, namespace: 'ns', JID: '1', containers: [], initContainers: [] }]);
    const s = fake.seen[0]!;
    assert.deepEqual([s.method, s.path], ['GET', '/status']);
    assert.match(String(s.headers['interlink-http-session']), /^GetStatus#\d+$/);
    assert.deepEqual(JSON.parse(s.body).map((p: { metadata: { uid: string } }) => p.metadata.uid), [a.metadata.uid, b.metadata.uid]);
    assert.deepEqual(await e.status([]), []);
    assert.equal(fake.seen.length, 1, 'status of no pods asks nothing (an empty list would be a ping)');
    await e.close();
  });

  test('logs: GET /getLogs with every LogStruct field as Go writes it; streamed', async () => {
    const pod = withObjects().pod;
    fake.reply = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      setTimeout(() => res.end('second\n'), 100);
    };
    const e = ex();
    const text = await readAll(await e.logs({ Namespace: 'ns', PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: 'main', Opts: { Tail: 10, Follow: true } }));
    assert.equal(text, 'first\nsecond\n');
    const s = fake.seen[0]!;
    assert.deepEqual([s.method, s.path], ['GET', '/getLogs']);
    assert.deepEqual(JSON.parse(s.body), {
      Namespace: 'ns', PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: 'main',
      Opts: { Tail: 10, Bytes: 0, Timestamps: false, Follow: true, Previous: false, SinceSeconds: 0, SinceTime: '0001-01-01T00:00:00Z' },
    });
    await e.close();
  });

  test('delete: DELETE /delete with the pod; ping: POST /pinglink, its PingResponse or {} for a text answer', async () => {
    const pod = withObjects().pod;
    fake.reply = (_s, res) => { res.writeHead(200); res.end('All correct'); };
    const e = ex();
    await e.delete(pod);
    assert.deepEqual([fake.seen[0]!.method, fake.seen[0]!.path, JSON.parse(fake.seen[0]!.body).metadata.uid], ['DELETE', '/delete', pod.metadata.uid]);
    assert.match(String(fake.seen[0]!.headers['interlink-http-session']), /^DeletePod#\d+$/);
    assert.deepEqual(await e.ping(), {});
    fake.reply = json({ resources: { cpu: '64', memory: '256Gi', pods: '100' }, taints: [] });
    assert.deepEqual(await e.ping(), { resources: { cpu: '64', memory: '256Gi', pods: '100' }, taints: [] });
    assert.deepEqual([fake.seen[1]!.method, fake.seen[1]!.path, fake.seen[1]!.body], ['POST', '/pinglink', '']);
    assert.match(String(fake.seen[1]!.headers['interlink-http-session']), /^PingInterLink#\d+$/);
    await e.close();
  });

  test('only 200 is success: 201 (the HTCondor plugin\'s create), 500 with text, unreachable; highrate\'s 400/404 keep their code', async () => {
    const data = withObjects();
    const e = ex();
    fake.reply = json({ PodUID: data.pod.metadata.uid, PodJID: '1' }, 201);
    await assert.rejects(e.create(data), { code: 'EXECUTOR_FAILED', message: /answered \/create with 201/ });
    fake.reply = (_s, res) => { res.writeHead(500); res.end('Error: sbatch: error: Batch job submission failed: Invalid account'); };
    await assert.rejects(e.create(data), { code: 'EXECUTOR_FAILED', message: /answered \/create with 500: Error: sbatch: error: Batch job submission failed: Invalid account$/ });
    // A highrate plugin's refusal of the pod keeps its code and message; the same code under another status does not.
    const refusal = 'Executor "local" (bubblewrap) cannot run container "main" as its securityContext asks: privileged containers are not allowed.';
    fake.reply = json({ status: 400, message: refusal, code: 'POD_SECURITY_UNENFORCEABLE' }, 400);
    await assert.rejects(e.create(data), { code: 'POD_SECURITY_UNENFORCEABLE', status: 400, message: refusal });
    fake.reply = json({ status: 400, message: refusal, code: 'POD_SECURITY_UNENFORCEABLE' }, 502);
    await assert.rejects(e.create(data), { code: 'EXECUTOR_FAILED', message: `interLink at http://127.0.0.1:${fake.port} answered /create with 502: ${refusal}` });
    fake.reply = json({ status: 404, message: 'No pod "x" on executor local.', code: 'WORKLOAD_NOT_FOUND' }, 404);
    await assert.rejects(async () => readAll(await e.logs({ Namespace: 'ns', PodUID: data.pod.metadata.uid, PodName: 'p', ContainerName: 'main', Opts: {} })), { code: 'WORKLOAD_NOT_FOUND', message: 'No pod "x" on executor local.' });
    await e.close();
    const gone = new InterlinkExecutor({ name: 'gone', url: 'http://127.0.0.1:1' });
    await assert.rejects(gone.ping(), { code: 'EXECUTOR_FAILED', message: /interLink at http:\/\/127\.0\.0\.1:1 is unreachable: ECONNREFUSED/ });
    await gone.close();
  });
});

describe('target plugin (as interLink calls its plugin)', () => {
  test('create sends RetrievedPodData; delete is POST; ping is GET /status with []', async () => {
    const data = withObjects();
    const e = new InterlinkExecutor({ name: 'direct', url: `http://127.0.0.1:${fake.port}`, target: 'plugin' });
    fake.reply = json({ PodUID: data.pod.metadata.uid, PodJID: '9' });
    await e.create(data);
    assert.deepEqual(JSON.parse(fake.seen[0]!.body), JSON.parse(JSON.stringify(data)));
    fake.reply = json({ resources: { cpu: '2', memory: '4Gi', pods: '10' } });
    assert.deepEqual((await e.ping()).resources, { cpu: '2', memory: '4Gi', pods: '10' });
    assert.deepEqual([fake.seen[1]!.method, fake.seen[1]!.path, fake.seen[1]!.body], ['GET', '/status', '[]']);
    fake.reply = (_s, res) => { res.writeHead(200); res.end(); };
    await e.delete(data.pod);
    assert.deepEqual([fake.seen[2]!.method, fake.seen[2]!.path], ['POST', '/delete']);
    await e.close();
  });
});

describe('token file and unix socket', () => {
  test('Authorization: Bearer <file contents>, read again on every call', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'first-token');
    const e = new InterlinkExecutor({ name: 't', url: `http://127.0.0.1:${fake.port}`, tokenFile });
    fake.reply = json({});
    await e.ping();
    writeFileSync(tokenFile, 'rotated-token');
    await e.ping();
    assert.deepEqual(fake.seen.map((s) => s.headers.authorization), ['Bearer first-token', 'Bearer rotated-token']);
    // The VK sends the file untrimmed, which a trailing newline breaks: refused here before sending.
    writeFileSync(tokenFile, 'with-newline\n');
    await assert.rejects(e.ping(), { code: 'EXECUTOR_FAILED', message: /contains a line break/ });
    assert.equal(fake.seen.length, 2);
    rmSync(tokenFile);
    await assert.rejects(e.ping(), { code: 'EXECUTOR_FAILED', message: /token file .* cannot be read/ });
    await e.close();
  });

  test('unix:///path: requests go to http://unix/<path> over the socket', async () => {
    const e = new InterlinkExecutor({ name: 'u', url: `unix://${sock}` });
    unixFake.reply = json({ resources: { cpu: '1', memory: '1Gi', pods: '1' } });
    assert.ok((await e.ping()).resources);
    assert.deepEqual([unixFake.seen[0]!.method, unixFake.seen[0]!.path, unixFake.seen[0]!.headers.host], ['POST', '/pinglink', 'unix']);
    await e.close();
    assert.throws(() => new InterlinkExecutor({ name: 'bad', url: 'unix://relative.sock' }), { code: 'CONFIG_INVALID' });
    assert.throws(() => new InterlinkExecutor({ name: 'bad', url: 'ftp://x' }), { code: 'CONFIG_INVALID' });
  });
});
