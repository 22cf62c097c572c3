import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { LocalExecutor } from '../../src/executors/local/index.js';
import { SECCOMP_ARCHES } from '../../src/executors/podscript/seccomp.js';
import { parseMemory } from '../../src/executors/quantity.js';
import type { Pod } from '../../src/executors/types.js';
import { closeWithClusters, gw, waitFor, waitRunning } from '../clusters/helpers.js';
import { http } from '../helpers/http.js';
import { execute, openChannels, readProgress, startKernel } from '../helpers/kernel.js';
import { Platform, ROOT } from '../helpers/platform.js';

/**
 * The red team: every attack of issue 9's review, run from inside a real notebook kernel (code
 * sent over the kernel's WebSocket through the proxy, as a user would), each asserting the exact
 * refusal. Alice attacks; Bob is the victim with a running server and a Dask cluster. The data
 * directory is below /var/lib, so that its hiding (not /tmp's tmpfs) is what is tested.
 * Cross-origin attacks from a browser page are in cross-origin.test.ts.
 */

const PIDS_LIMIT = 256;
const NR = SECCOMP_ARCHES[process.arch]?.table;

describe('red team: a hostile user in their own notebook', { skip: process.getuid?.() !== 0 ? 'needs root (per-user uids)' : !NR ? `no syscall table for ${process.arch}` : false }, () => {
  let p: Platform;
  let ws: WebSocket;
  let aliceToken: string;
  let bobToken: string;
  let aliceUid: number;
  let bobUid: number;
  let bob: { port: number; secret: string; pod: Pod; pid: number };
  let bobCluster: { name: string; tls: number; pid: number };

  /** Runs a Python expression in Alice's kernel and returns its value (through JSON). */
  async function py<T = any>(expr: string, timeoutMs = 60_000): Promise<T> {
    const out = await execute(ws, `print(json.dumps(${expr}))`, timeoutMs);
    return JSON.parse(out.trim().split('\n').pop()!);
  }

  async function startServer(user: string, token: string): Promise<void> {
    const r = await p.api('POST', `/hub/api/users/${user}/server`, { token }, { cores: 1 });
    assert.ok([201, 202].includes(r.status), r.text);
    const events = await readProgress(p.base, `/hub/api/users/${user}/server/progress`, { authorization: `token ${token}` });
    assert.equal(events.at(-1).ready, true, JSON.stringify(events));
  }

  let dataParent: string;

  before(async () => {
    // Not below /tmp or /var/tmp (private tmpfs in every pod, which would hide the data directory
    // for free, and where a checkout may live): the data directory's own hiding is what is tested.
    dataParent = mkdtempSync('/var/lib/highrate-red-team-');
    chmodSync(dataParent, 0o755);
    p = await Platform.start({
      dataParent,
      config: { executors: [{ name: 'local', kind: 'local', options: { pidsLimit: PIDS_LIMIT } }], clusters: { daskPort: 0, idleTimeout: 0 } },
      users: [{ name: 'alice' }, { name: 'bob' }],
    });
    [aliceToken, bobToken] = [await p.token('alice'), await p.token('bob')];
    await Promise.all([startServer('alice', aliceToken), startServer('bob', bobToken)]);
    const hub = p.hub!.hub;
    aliceUid = (await hub.store.getUnixIdentity('alice'))!.uid;
    bobUid = (await hub.store.getUnixIdentity('bob'))!.uid;
    const local = hub.executors.get('local') as LocalExecutor;
    const row = (await hub.store.getServer('bob', ''))!;
    const pod = row.spawnState.pod as Pod;
    const bobPid = local.inspect(pod.metadata.uid)!.processes.at(-1)!;
    // Bob's server token (JUPYTERHUB_API_TOKEN, its OAuth client secret): what a thief would want.
    const bobEnv = readFileSync(`/proc/${bobPid}/environ`, 'utf8').split('\0');
    const secret = bobEnv.find((e) => e.startsWith('JUPYTERHUB_API_TOKEN='))!.slice('JUPYTERHUB_API_TOKEN='.length);
    assert.ok(secret.length >= 32);
    bob = { port: Number(new URL(row.url!).port), secret, pod, pid: bobPid };

    const created = await gw(p, 'POST', '/api/v1/clusters/', bobToken, { cluster_options: {} });
    assert.equal(created.status, 201, created.text);
    const name = created.json().name as string;
    await waitRunning(p, bobToken, name);
    const crow = (await hub.store.getCluster(name))!;
    const sched = (crow.state as any).scheduler;
    bobCluster = { name, tls: sched.ports.tls, pid: local.inspect(sched.pod.metadata.uid)!.pid };

    const auth = { authorization: `token ${aliceToken}` };
    const kernel = await startKernel(p.base, '/user/alice/', auth);
    ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    await execute(ws, readFileSync(join(ROOT, 'test', 'fixtures', 'red_team.py'), 'utf8'));
  });

  after(async () => {
    ws?.close();
    await closeWithClusters(p);
    if (dataParent) rmSync(dataParent, { recursive: true, force: true });
  });

  test('the kernel is Alice\'s own unprivileged uid: no capabilities, no_new_privs, seccomp filter', async () => {
    assert.ok(aliceUid >= 200000 && bobUid >= 200000 && aliceUid !== bobUid, `${aliceUid} ${bobUid}`);
    assert.deepEqual(await py('status()'), {
      CapInh: '0000000000000000', CapPrm: '0000000000000000', CapEff: '0000000000000000', CapBnd: '0000000000000000', CapAmb: '0000000000000000',
      NoNewPrivs: '1', Seccomp: '2', uid: aliceUid, gid: aliceUid, groups: [],
    });
    // A name for the uid: the sandbox adds a passwd entry.
    assert.deepEqual(await py('run(["id", "-un"])'), [0, 'alice']);
  });

  test('the sandbox cannot be undone: no mount, umount, unshare, setns or new user namespace', async () => {
    assert.deepEqual(await py('[call("unshare", 0x00020000), call("unshare", 0x10000000), call("umount2", "/tmp", 2), call("umount2", "/proc", 2), call("mount", "none", "/tmp", "tmpfs", 0, "")]'),
      ['EPERM', 'EPERM', 'EPERM', 'EPERM', 'EPERM']);
    assert.deepEqual(await py(`[syscall(${NR!.setns}, 0, 0), syscall(${NR!.clone}, 0x10000000 | 17, 0, 0, 0, 0)]`), ['EPERM', 'EPERM']);
    const [code, out] = await py<[number, string]>('run(["unshare", "-Urm", "umount", "-l", "/tmp"])');
    assert.notEqual(code, 0);
    assert.match(out, /Operation not permitted/);
  });

  test('the hub\'s data directory is absent by every path: store, IdP keys, secrets, other homes', async () => {
    const d = p.dataDir;
    // On the host they are there, so the refusals below can fail.
    for (const f of ['highrate.sqlite', 'secrets/proxy-token', 'idp', 'homes/bob']) assert.ok(existsSync(join(d, f)), f);
    assert.deepEqual(await py(`try_listdir(${JSON.stringify(d)})`), []);
    assert.deepEqual(await py(`[try_read(${JSON.stringify(join(d, 'highrate.sqlite'))}), try_read(${JSON.stringify(join(d, 'secrets/proxy-token'))}), try_listdir(${JSON.stringify(join(d, 'idp'))})]`),
      ['ENOENT', 'ENOENT', 'ENOENT']);
    assert.equal(await py(`try_read(${JSON.stringify(p.configFile)})`), 'ENOENT');
    // Through bwrap's pid 1 (root): no way into the host's root either.
    assert.equal(await py(`try_listdir("/proc/1/root${d}")`), 'EACCES');
  });

  test('Alice cannot make herself admin through the store', async () => {
    assert.equal(await py(`sqlite_admin(${JSON.stringify(join(p.dataDir, 'highrate.sqlite'))}, "alice")`), 'unable to open database file');
    assert.equal((await p.api('GET', '/hub/api/users/alice', { token: aliceToken })).json().admin, false);
  });

  test('Bob\'s home cannot be written (no startup file planted), nor read', async () => {
    const planted = join(p.dataDir, 'homes', 'bob', '.ipython', 'profile_default', 'startup', '00-pwn.py');
    assert.deepEqual(await py(`[try_write(${JSON.stringify(planted)}), try_write("/home/bob/.bashrc"), "bob" in try_listdir("/home"), "alice" in try_listdir("/home")]`),
      ['ENOENT', 'ENOENT', false, true]);
    assert.equal(existsSync(planted), false);
  });

  test('other users\' processes are out of sight and reach: /proc, environ, kill, ptrace', async () => {
    const seen = await py<Array<[number, number]>>('processes()');
    // bwrap's reaper (root) is pid 1; everything else is Alice's.
    assert.deepEqual([...new Set(seen.map(([, uid]) => uid))].sort(), [0, aliceUid].sort());
    assert.deepEqual(seen.filter(([pid, uid]) => uid === 0 && pid !== 1), []);
    const proxyPid = p.proxyPid();
    for (const pid of [process.pid, proxyPid, bob.pid, bobCluster.pid]) {
      if (seen.some(([q]) => q === pid)) continue; // the same number inside the namespace is another process
      assert.equal(await py(`try_read("/proc/${pid}/environ")`), 'ENOENT', `pid ${pid}`);
      assert.equal(await py(`call("kill", ${pid}, 0)`), 'ESRCH', `kill ${pid}`);
    }
    const env = await py<string>('environ_of_visible()');
    for (const secret of [bob.secret, readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim()]) assert.ok(!env.includes(secret));
    assert.deepEqual(await py('[call("kill", 1, 9), call("ptrace", 16, 1, 0, 0)]'), ['EPERM', 'EPERM']);
    assert.deepEqual(await py(`[syscall(${NR!.keyctl}, 0, 0, 0, 0, 0), syscall(${NR!.bpf}, 0, 0, 0)]`), ['EPERM', 'EPERM']);
  });

  test('Bob\'s server cannot be used directly: its port refuses without a credential of Bob\'s (Alice\'s server token included), and his server token is nowhere to read', async () => {
    const own = await py<string>('os.environ.get("JUPYTERHUB_API_TOKEN", "")');
    assert.ok(own.length >= 32, 'Alice reads her own server token');
    const url = `http://127.0.0.1:${bob.port}/user/bob/api/kernels`;
    assert.equal((await py<[number, string]>(`http(${JSON.stringify(url)})`))[0], 403);
    assert.equal((await py<[number, string]>(`http(${JSON.stringify(url)}, {"Authorization": "token ${own}"})`))[0], 403);
    // Control: with Bob's own token the port answers (the server asks the hub), so the 403s above are the check.
    assert.equal((await http('GET', url, { headers: { authorization: `token ${bobToken}` } })).status, 200);
  });

  test('Bob\'s Dask cluster: no TLS pair to steal, the scheduler refuses a client without one, the API hides it', async () => {
    const noCert = await py<string>(`tls_without_cert(${bobCluster.tls})`);
    assert.ok(['SSLError', 'SSLEOFError', 'ConnectionResetError', 'closed'].includes(noCert), noCert);
    const daskPort = p.hub!.clusters!.service.proxyAddress.split(':').pop();
    const viaSni = await py<string>(`tls_without_cert(${daskPort}, "daskgateway-${bobCluster.name}")`);
    assert.ok(['SSLError', 'SSLEOFError', 'ConnectionResetError', 'closed'].includes(viaSni), viaSni);
    const api = await py<[number, string]>(`http(os.environ["DASK_GATEWAY__ADDRESS"] + "/api/v1/clusters/${bobCluster.name}", {"Authorization": "jupyterhub " + os.environ["JUPYTERHUB_API_TOKEN"]})`);
    // As the isolation matrix has it for another user's cluster (names are 128 random bits).
    assert.equal(api[0], 403);
  });

  test('the route API: no token to steal, refused without one; a re-pointed route is put back; routes carry no credential', async () => {
    const apiUrl = `http://127.0.0.1:${p.port + 1}/api/routes`;
    assert.equal((await py<[number, string]>(`http(${JSON.stringify(apiUrl)})`))[0], 403);
    // A thief outside the platform holding the token re-points Bob's route; the reconciler (every 2 s here) puts it back.
    const token = readFileSync(join(p.dataDir, 'secrets', 'proxy-token'), 'utf8').trim();
    const proxyAuth = { authorization: `token ${token}` };
    const original = `http://127.0.0.1:${bob.port}`;
    const stolen = await http('POST', `${apiUrl}/user/bob`, { headers: proxyAuth, body: { target: 'http://127.0.0.1:9', user: 'bob', server_name: '' } });
    assert.equal(stolen.status, 201);
    const routes = await waitFor('the route to be corrected', async () => {
      const r = (await http('GET', apiUrl, { headers: proxyAuth })).json();
      return r['/user/bob']?.target === original ? r : null;
    }, 15_000);
    // jupyterhub-singleuser checks users' credentials with the hub: its route has no upstream token at all.
    assert.deepEqual(Object.keys(routes['/user/bob']).sort(), ['last_activity', 'server_name', 'target', 'user']);
    assert.ok(!JSON.stringify(routes).includes(bob.secret), 'no credential in the route table');
    assert.equal(JSON.stringify(routes).includes('"upstream_token"'), false);
  });

  test('cgroups: no new hierarchy (release_agent), only its own cgroups, read-only; limits hold', async () => {
    assert.equal(await py('call("mount", "cgroup", "/tmp", "cgroup", 0, "rdma")'), 'EPERM');
    assert.deepEqual(await py('try_listdir("/sys/fs/cgroup")'), ['cpu', 'memory', 'pids']);
    assert.deepEqual(await py('[try_write("/sys/fs/cgroup/memory/cgroup.procs", str(os.getpid())), try_write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "-1"), try_write("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1"), try_read("/sys/fs/cgroup/memory/release_agent")]'),
      ['EROFS', 'EROFS', 'EROFS', 'ENOENT']);
    // The server's memory: its memory cgroup (whole pages, down), and its scratch space (/tmp: a tmpfs of that size, pages up).
    const memory = parseMemory((await p.hub!.hub.store.getServer('alice', ''))!.userOptions.memory);
    assert.equal(await py('try_read("/sys/fs/cgroup/memory/memory.limit_in_bytes")'), `read:${Math.floor(memory / 4096) * 4096}\n`);
    assert.equal(await py('try_read("/sys/fs/cgroup/pids/pids.max")'), `read:${PIDS_LIMIT}\n`);
    // A thread bomb stops at the pod's limit (the notebook server's own threads count too).
    const n = await py<number>(`threads(${PIDS_LIMIT * 2})`);
    assert.ok(n > 10 && n < PIDS_LIMIT, String(n));
    assert.equal(await py('1 + 1'), 2, 'the kernel survives');
    assert.equal(await py('os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize'), Math.ceil(memory / 4096) * 4096);
    assert.equal(await py('try_write("/etc/highrate-red-team")'), 'EROFS');
  });

  test('Alice\'s own Dask scheduler and worker pods are confined the same way', async () => {
    const code = [
      'import highrate_dask as hd',
      'name = hd.new_cluster(workers=1)',
      'client = hd.connect(name)',
      'client.wait_for_workers(1, timeout=60)',
      `probe = lambda: pod_probe(${JSON.stringify(p.dataDir)})`,
      'pods = {"scheduler": client.run_on_scheduler(probe), "workers": list(client.run(probe).values())}',
      'client.close()',
      'hd.stop(name)',
      'print(json.dumps(pods))',
    ].join('\n');
    const pods = JSON.parse((await execute(ws, code, 180_000)).trim().split('\n').pop()!);
    for (const seen of [pods.scheduler, ...pods.workers]) {
      assert.deepEqual(seen, {
        uid: aliceUid, CapEff: '0000000000000000', CapBnd: '0000000000000000', NoNewPrivs: '1', Seccomp: '2',
        data_dir: [], root_writable: 'EROFS', unshare: 'EPERM', processes_not_own: [], pid1_uid: 0,
      });
    }
    assert.equal(pods.workers.length, 1);
  });
});
