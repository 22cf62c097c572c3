import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../clusters/options.js';
import { schedulerPod, workerPod } from '../clusters/workload.js';
import { validateConfig } from '../config/load.js';
import { notebookPod, PLAIN_NOTEBOOK_COMMAND } from '../hub/servers/workload.js';

const cfg = validateConfig({ profiles: [{ name: 'p', default: true }] });
const storage = { hostDir: '/data/tokens/alice', mountPath: '/run/wlcg-token', env: [{ name: 'BEARER_TOKEN_FILE', value: '/run/wlcg-token/bt' }] };

test('notebook, scheduler and worker pods mount the token directory read-only and name the file', () => {
  const nb = notebookPod({
    user: 'alice', server: '', options: { profile: 'p', cores: 1, memory: '1G' }, profile: cfg.profiles[0]!, port: 4242, upstreamToken: null,
    homeDir: '/data/homes/alice', identity: { uid: 200001, gid: 200001 }, mountPaths: true, publicUrl: 'http://hub.example:8000',
    defaultCommand: PLAIN_NOTEBOOK_COMMAND, hubCredentials: { apiToken: 'api', clientId: 'jupyterhub-user-alice' }, storage,
  }).pod;
  const input = {
    name: 'c0ffee', user: 'alice', identity: { uid: 200001, gid: 200001 }, spec: resolveOptions({}, cfg.clusters).spec, clusters: cfg.clusters,
    tlsCert: 'C', tlsKey: 'K', httpToken: 'h', storage,
  };
  const sched = schedulerPod(input, { tls: 1, dashboard: 2 }).pod;
  const worker = workerPod(input, { name: 'w', schedulerAddress: 'tls://127.0.0.1:1', viaGateway: false }).pod;
  for (const pod of [nb, sched, worker]) {
    const c = pod.spec.containers[0]!;
    assert.deepEqual(pod.spec.volumes!.find((v) => v.name === 'wlcg-token'), { name: 'wlcg-token', hostPath: { path: '/data/tokens/alice', type: 'Directory' } });
    assert.deepEqual(c.volumeMounts!.find((m) => m.name === 'wlcg-token'), { name: 'wlcg-token', mountPath: '/run/wlcg-token', readOnly: true });
    assert.equal(c.env!.find((e) => e.name === 'BEARER_TOKEN_FILE')?.value, '/run/wlcg-token/bt');
    // The token itself is never in a pod spec (the hub stores specs).
    assert.doesNotMatch(JSON.stringify(pod), /eyJ/);
  }
  // Without storage, nothing of it.
  const plain = workerPod({ ...input, storage: undefined }, { name: 'w', schedulerAddress: 'tls://127.0.0.1:1', viaGateway: false }).pod;
  assert.equal(JSON.stringify(plain).includes('wlcg-token'), false);
});
