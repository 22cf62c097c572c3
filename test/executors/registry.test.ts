import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ExecutorSchema } from '../../src/config/schema.js';
import { buildExecutors } from '../../src/executors/registry.js';

/** The Kubernetes executor is loaded only when configured; configured, it is built as before. */
describe('executor registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'highrate-registry-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a kubernetes executor is built from its kubeconfig; a kubeconfig without a cluster is CONFIG_INVALID', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: test',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: test, context: {cluster: c, user: u, namespace: hra}}]', '',
    ].join('\n'));
    const built = await buildExecutors([ExecutorSchema.parse({ name: 'k8s', kind: 'kubernetes', kubernetes: { kubeconfig, namespace: 'hra' } })], { dataDir: dir });
    assert.deepEqual([...built.keys()], ['k8s']);
    assert.equal(built.get('k8s')!.constructor.name, 'KubernetesExecutor');

    const empty = join(dir, 'empty');
    writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    await assert.rejects(buildExecutors([ExecutorSchema.parse({ name: 'k8s', kind: 'kubernetes', kubernetes: { kubeconfig: empty } })], { dataDir: dir }),
      { code: 'CONFIG_INVALID', message: 'The Kubernetes configuration names no cluster (set kubeconfig, context or inCluster).' });
  });
});
