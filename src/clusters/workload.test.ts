import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { validateConfig } from '../config/load.js';
import { resolveOptions } from './options.js';
import { CREDENTIALS_WRAPPER, schedulerPod, workerPod, type ClusterWorkloadInput } from './workload.js';

const clusters = validateConfig({}).clusters;
const input: ClusterWorkloadInput = {
  name: 'c0ffee', user: 'alice', identity: { uid: 200001, gid: 200001 }, spec: resolveOptions({ worker_cores: 2 }, clusters).spec, clusters,
  tlsCert: 'MARKCERT', tlsKey: 'MARKKEY', httpToken: 'http-secret',
};

test('no secret is in a pod spec (the hub stores specs); they travel as Secrets', () => {
  for (const data of [schedulerPod(input, { tls: 1111, dashboard: 2222 }), workerPod(input, { name: 'dask-worker-c0ffee-1', schedulerAddress: 'tls://127.0.0.1:1111', viaGateway: false })]) {
    const spec = JSON.stringify(data.pod);
    for (const secret of ['MARKCERT', 'MARKKEY', 'http-secret']) assert.ok(!spec.includes(secret), `${secret} not in ${data.pod.metadata.name}`);
    assert.ok(data.container![0]!.secrets![0]!.data!['tls-key']);
  }
  const worker = workerPod(input, { name: 'w', schedulerAddress: 'tls://h:1', viaGateway: true });
  assert.equal(worker.container![0]!.secrets![0]!.data!['http-token'], undefined, 'workers never get the HTTP token');
});

test('scheduler and worker commands', () => {
  const s = schedulerPod(input, { tls: 1111, dashboard: 2222 }).pod.spec.containers[0]!;
  assert.deepEqual(s.command!.slice(4), ['/usr/bin/python3', '-m', 'distributed.cli.dask_scheduler', '--protocol', 'tls', '--host', '127.0.0.1', '--port', '1111', '--dashboard-address', '127.0.0.1:2222', '--dashboard-prefix', '/clusters/c0ffee']);
  assert.deepEqual(s.resources!.limits, { cpu: '1', memory: '2G' });
  const direct = workerPod(input, { name: 'dask-worker-c0ffee-1', schedulerAddress: 'tls://127.0.0.1:1111', viaGateway: false }).pod.spec.containers[0]!;
  assert.deepEqual(direct.command!.slice(4), ['/usr/bin/python3', '-m', 'distributed.cli.dask_worker', 'tls://127.0.0.1:1111', '--name', 'dask-worker-c0ffee-1', '--nthreads', '2', '--memory-limit', '1000000000', '--no-nanny', '--death-timeout', '60', '--host', '127.0.0.1', '--dashboard-address', '127.0.0.1:0']);
  assert.deepEqual(direct.resources!.limits, { cpu: '2', memory: '1G' });
  const remote = workerPod(input, { name: 'dask-worker-c0ffee-2', schedulerAddress: 'tls://gw.example.org:8786', viaGateway: true }).pod.spec.containers[0]!;
  assert.deepEqual(remote.command!.slice(-2), ['--scheduler-sni', 'daskgateway-c0ffee']);
});

function runWrapper(script: string, env: Record<string, string>) {
  return spawnSync('/bin/sh', ['-c', CREDENTIALS_WRAPPER, 'highrate-dask', '/bin/sh', '-c', script], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
}

test('the wrapper writes the pair privately, points Dask at it, hides the variables, cleans up', () => {
  const r = runWrapper('d=${DASK_DISTRIBUTED__COMM__TLS__CA_FILE%/*}; echo "$d"; stat -c %a "$d" "$d/dask.pem"; cat "$DASK_DISTRIBUTED__COMM__TLS__WORKER__KEY"; cat "$HIGHRATE_DASK_HTTP_TOKEN_FILE"; echo; echo "$DASK_DISTRIBUTED__SCHEDULER__PRELOAD"; env | grep -c "^HIGHRATE_DASK_\\(TLS\\|HTTP_TOKEN=\\|PRELOAD\\)" ; exit 7', {
    HIGHRATE_DASK_TLS_CERT: input.tlsCert, HIGHRATE_DASK_TLS_KEY: input.tlsKey, HIGHRATE_DASK_HTTP_TOKEN: 'tok', HIGHRATE_DASK_PRELOAD: 'print(1)',
  });
  assert.equal(r.status, 7, r.stderr);
  const [dir, modes, pemMode, keyAndToken, preload, count] = r.stdout.split('\n');
  assert.match(dir!, /^\/tmp\/highrate-dask\.[A-Za-z0-9]{8}$/);
  assert.equal(modes, '700');
  assert.equal(pemMode, '600');
  assert.equal(keyAndToken, 'MARKKEYtok');
  assert.equal(preload, `["${dir}/highrate_scheduler_guard.py"]`);
  assert.equal(count, '0', 'the secret variables are gone');
  assert.equal(existsSync(dir!), false, 'the directory is removed when Dask ends');
});

test('workers run without Dask\'s profiler unless the admin asks for it; the admin\'s env wins', () => {
  const env = (i: ClusterWorkloadInput) => Object.fromEntries(workerPod(i, { name: 'w', schedulerAddress: 'tls://h:1', viaGateway: false }).pod.spec.containers[0]!.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
  assert.equal(env(input).DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED, 'False');
  assert.equal(env({ ...input, clusters: { ...clusters, workerProfiling: true } }).DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED, undefined);
  assert.equal(env({ ...input, clusters: { ...clusters, env: { DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED: 'True' } } }).DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED, 'True');
});

test('schedulers and workers tick every 200 ms (diagnostics only), unless the admin says otherwise', () => {
  const envOf = (c: { env?: Array<{ name: string; value?: string }> }) => Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
  const pods = (i: ClusterWorkloadInput) => [schedulerPod(i, { tls: 1, dashboard: 2 }), workerPod(i, { name: 'w', schedulerAddress: 'tls://h:1', viaGateway: false })].map((p) => envOf(p.pod.spec.containers[0]!));
  for (const env of pods(input)) assert.equal(env.DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL, '200ms');
  for (const env of pods({ ...input, clusters: { ...clusters, env: { DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL: '20ms' } } })) assert.equal(env.DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL, '20ms');
});

test('a SIGTERM to the pod reaches Dask and the directory still goes', async () => {
  const child = spawn('/bin/sh', ['-c', CREDENTIALS_WRAPPER, 'highrate-dask', '/bin/sh', '-c', 'trap "exit 0" TERM; echo "${DASK_DISTRIBUTED__COMM__TLS__CA_FILE%/*}"; while :; do sleep 0.05; done'], {
    env: { PATH: '/usr/bin:/bin', HIGHRATE_DASK_TLS_CERT: 'c', HIGHRATE_DASK_TLS_KEY: 'k' }, detached: true, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  assert.ok(existsSync(dir));
  process.kill(-child.pid!, 'SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.equal(existsSync(dir), false);
});

test('a Dask killed outright ends the pod with its status, without waiting forever', async () => {
  const child = spawn('/bin/sh', ['-c', CREDENTIALS_WRAPPER, 'highrate-dask', '/bin/sh', '-c', 'echo $$; while :; do sleep 0.05; done'], {
    env: { PATH: '/usr/bin:/bin', HIGHRATE_DASK_TLS_CERT: 'c', HIGHRATE_DASK_TLS_KEY: 'k' }, detached: true, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const inner = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  process.kill(inner, 'SIGKILL');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 137);
  try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
});
