import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PodCreateRequests } from '../types.js';
import { checkLogStruct, goLogStruct, looksLikePodCreateRequests, toRetrievedPodData } from './wire.js';

const UID = 'a1b2c3d4-0000-4000-8000-000000000001';

test('PodCreateRequests → RetrievedPodData: one entry per init container then container, each with the objects it mounts or refers to', () => {
  const req: PodCreateRequests = {
    pod: {
      metadata: { name: 'p', namespace: 'ns', uid: UID },
      spec: {
        volumes: [
          { name: 'cfg', configMap: { name: 'app' } },
          { name: 'pw', secret: { secretName: 'db' } },
          { name: 'sa', projected: { sources: [] } },
          { name: 'tmp', emptyDir: {} },
        ],
        initContainers: [{ name: 'init', volumeMounts: [{ name: 'cfg', mountPath: '/c' }] }],
        containers: [
          { name: 'main', volumeMounts: [{ name: 'pw', mountPath: '/p' }, { name: 'sa', mountPath: '/sa' }, { name: 'tmp', mountPath: '/t' }], envFrom: [{ configMapRef: { name: 'env' } }] },
          { name: 'side', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'tok', key: 'k' } } }, { name: 'missing', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k' } } }] },
        ],
      },
    },
    configmaps: [{ metadata: { name: 'app' }, data: { a: '1' } }, { metadata: { name: 'env' }, data: { E: '2' } }],
    secrets: [{ metadata: { name: 'db' }, data: { pw: 'eA==' } }, { metadata: { name: 'tok' }, data: { k: 'eQ==' } }],
    projectedvolumesmaps: [{ metadata: { name: 'sa' }, data: { token: 't' } }],
  };
  const names = (l: { metadata: { name: string } }[] | null) => l?.map((o) => o.metadata.name) ?? null;
  const out = toRetrievedPodData(req);
  assert.equal(out.pod, req.pod);
  assert.deepEqual(out.container!.map((c) => [c.name, names(c.configMaps), names(c.secrets), names(c.projectedvolumemaps), c.emptyDirs]), [
    ['init', ['app'], null, null, null],
    ['main', ['env'], ['db'], ['sa'], null],
    ['side', null, ['tok'], null, null],
  ]);
});

test('which /create bodies are PodCreateRequests', () => {
  assert.equal(looksLikePodCreateRequests({ pod: {}, configmaps: null, secrets: null, projectedvolumesmaps: null }), true);
  assert.equal(looksLikePodCreateRequests({ pod: {}, container: [] }), false);
  assert.equal(looksLikePodCreateRequests({ pod: {} }), false);
  assert.equal(looksLikePodCreateRequests([{ pod: {} }]), false);
});

test('LogStruct: Go zero values are "unset"; goLogStruct writes every field as Go does', () => {
  const parsed = checkLogStruct({
    Namespace: 'ns', PodUID: UID, PodName: 'p', ContainerName: 'main',
    Opts: { Tail: 0, Bytes: 0, Timestamps: false, Follow: true, Previous: false, SinceSeconds: 0, SinceTime: '0001-01-01T00:00:00Z' },
  });
  assert.deepEqual(parsed, { Namespace: 'ns', PodUID: UID, PodName: 'p', ContainerName: 'main', Opts: { Follow: true } });
  assert.deepEqual(goLogStruct(parsed), {
    Namespace: 'ns', PodUID: UID, PodName: 'p', ContainerName: 'main',
    Opts: { Tail: 0, Bytes: 0, Timestamps: false, Follow: true, Previous: false, SinceSeconds: 0, SinceTime: '0001-01-01T00:00:00Z' },
  });
  assert.deepEqual(checkLogStruct({ Namespace: 'ns', PodUID: UID, ContainerName: 'c', Opts: { Tail: 3, SinceTime: '2025-11-25T16:00:00Z' } }).Opts, { Tail: 3, SinceTime: '2025-11-25T16:00:00Z' });
  assert.throws(() => checkLogStruct({ Namespace: 'ns', PodUID: UID, ContainerName: 'c', Opts: { Tail: -1 } }), { code: 'BAD_REQUEST', message: /Opts\.Tail/ });
  assert.throws(() => checkLogStruct({ Namespace: 'ns', PodUID: UID, ContainerName: 'c', Opts: { Follow: 'yes' } }), { code: 'BAD_REQUEST', message: /Opts\.Follow must be true or false/ });
});
