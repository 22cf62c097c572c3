import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, RetrievedPodData } from '../types.js';
import { expandReferences, resolveEnv } from './env.js';
import { podLimits } from './limits.js';
import { indexObjects } from './objects.js';
import { planPod } from './plan.js';
import { hostSandbox } from './sandbox.js';
import { bwrapSandbox } from './bwrap.js';

function pod(spec: Partial<Pod['spec']> & { containers: Container[] }, uid = 'uid-1'): Pod {
  return { metadata: { name: 'p', namespace: 'ns', uid, labels: { app: 'x' } }, spec };
}
function data(p: Pod, extra: Partial<RetrievedPodData['container'] extends (infer T)[] | null ? T : never> = {}): RetrievedPodData {
  return { pod: p, container: [{ name: p.spec.containers[0]?.name ?? 'app', configMaps: null, secrets: null, projectedvolumemaps: null, emptyDirs: null, ...extra }] };
}
const sh = (script: string): Partial<Container> => ({ command: ['/bin/sh', '-c', script] });

describe('expandReferences (Kubernetes $(VAR) rules)', () => {
  const vars = new Map([['A', 'alpha'], ['B', 'b$(A)']]);
  const x = (s: string) => expandReferences(s, (n) => vars.get(n));
  test('defined references expand, undefined stay, $$ escapes', () => {
    assert.equal(x('$(A)'), 'alpha');
    assert.equal(x('pre-$(A)-post'), 'pre-alpha-post');
    assert.equal(x('$(NOPE)'), '$(NOPE)');
    assert.equal(x('$$(A)'), '$(A)');
    assert.equal(x('$$'), '$');
    assert.equal(x('$$$(A)'), '$alpha');
    assert.equal(x('$A ${A} $'), '$A ${A} $');
    assert.equal(x('$(A'), '$(A');
    assert.equal(x('$(B)'), 'b$(A)'); // values are not expanded twice
    assert.equal(x(''), '');
  });
});

describe('resolveEnv', () => {
  const objs = indexObjects({
    pod: pod({ containers: [] }),
    container: [
      { name: 'a', configMaps: [{ metadata: { name: 'cm' }, data: { KEY: 'from-cm', 'bad key': 'skipped', 'dotted.key': 'ok' }, binaryData: { BIN: 'AAE=' } }], secrets: null, projectedvolumemaps: null, emptyDirs: null },
      { name: 'b', configMaps: null, secrets: [{ metadata: { name: 's' }, data: { TOKEN: Buffer.from('t0k3n').toString('base64') }, stringData: { PLAIN: 'p' } }], projectedvolumemaps: null, emptyDirs: null },
    ],
  });
  const p = pod({ containers: [] });

  test('HOSTNAME, then envFrom in order with prefixes, then env overriding, references expanded', () => {
    const env = resolveEnv({
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' } }, { secretRef: { name: 's' }, prefix: 'S_' }],
      env: [
        { name: 'KEY', value: 'overridden $(TOKEN) $(S_TOKEN)' },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'TOKEN' } } },
        { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'KEY' } } },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'missing', key: 'x', optional: true } } },
        { name: 'EMPTY' },
      ],
    }, p, objs, { podIP: '127.0.0.1' });
    assert.deepEqual([...env], [
      ['HOSTNAME', 'p'],
      ['KEY', 'overridden $(TOKEN) t0k3n'],
      ['dotted.key', 'ok'],
      ['S_TOKEN', 't0k3n'],
      ['S_PLAIN', 'p'],
      ['FROM_SECRET', 't0k3n'],
      ['FROM_CM', 'from-cm'],
      ['POD', 'p'],
      ['LABEL', 'x'],
      ['IP', '127.0.0.1'],
      ['EMPTY', ''],
    ]);
  });

  test('missing required objects and keys are BAD_REQUEST; optional ones are skipped', () => {
    const r = (c: Partial<Container>) => resolveEnv({ name: 'c', ...c }, p, objs, { podIP: '127.0.0.1' });
    assert.throws(() => r({ envFrom: [{ configMapRef: { name: 'nope' } }] }), { code: 'BAD_REQUEST', message: 'ConfigMap "nope" (envFrom of container "c") was not provided with the pod.' });
    assert.throws(() => r({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'NOPE' } } }] }), { code: 'BAD_REQUEST', message: 'Secret "s" has no key "NOPE" (env X of container "c").' });
    assert.throws(() => r({ env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }), { code: 'BAD_REQUEST' });
    assert.throws(() => r({ env: [{ name: 'A=B', value: '' }] }), { code: 'BAD_REQUEST' });
    assert.deepEqual([...r({ envFrom: [{ secretRef: { name: 'nope', optional: true } }] })], [['HOSTNAME', 'p']]);
  });
});

describe('podLimits (pod-level effective limits)', () => {
  const c = (name: string, cpu?: string, memory?: string): Container => ({ name, resources: { limits: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } } });
  test('sum of containers, or the largest init container if larger', () => {
    assert.deepEqual(podLimits(pod({ containers: [c('a', '500m', '1Gi'), c('b', '1', '512Mi')] })), { cpuCores: 1.5, memoryBytes: 1536 * 2 ** 20 });
    assert.deepEqual(podLimits(pod({ initContainers: [c('i', '4', '100Mi')], containers: [c('a', '1', '1Gi')] })), { cpuCores: 4, memoryBytes: 2 ** 30 });
  });
  test('one unlimited container leaves the pod unlimited for that resource', () => {
    assert.deepEqual(podLimits(pod({ containers: [c('a', '1', '1Gi'), c('b', undefined, '1Gi')] })), { memoryBytes: 2 * 2 ** 30 });
    assert.deepEqual(podLimits(pod({ initContainers: [c('i')], containers: [c('a', '1', '1Gi')] })), {});
    assert.deepEqual(podLimits(pod({ containers: [c('a', '0', '0')] })), {});
  });
});

describe('planPod', () => {
  const host = { podDir: '/state/pods/uid-1', sandbox: hostSandbox() };

  test('plans volumes, mounts (sorted, read-only where Kubernetes makes them so), files and limits', () => {
    const p = pod({
      volumes: [
        { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'a', path: 'dir/a.conf', mode: 0o600 }] } },
        { name: 'sec', secret: { secretName: 's', defaultMode: 0o400 } },
        { name: 'work', emptyDir: {} },
        { name: 'home', hostPath: { path: '/home/alice', type: 'DirectoryOrCreate' } },
      ],
      containers: [{
        name: 'app', ...sh('true'), image: 'python:3',
        volumeMounts: [
          { name: 'work', mountPath: '/work/' }, { name: 'cfg', mountPath: '/etc/app' }, { name: 'sec', mountPath: '/etc/app/secret' },
          { name: 'work', mountPath: '/scratch', subPath: 'tmp', readOnly: true }, { name: 'home', mountPath: '/home/alice' },
        ],
        resources: { limits: { cpu: '250m', memory: '64Mi' } },
      }],
    });
    const plan = planPod(data(p, {
      configMaps: [{ metadata: { name: 'cm' }, data: { a: 'A', b: 'B' } }],
      secrets: [{ metadata: { name: 's' }, data: { token: Buffer.from('T').toString('base64') } }],
    }), host);
    assert.deepEqual(plan.files.map((f) => [f.path, f.data.toString(), f.mode.toString(8)]), [
      ['volumes/cfg/dir/a.conf', 'A', '600'],
      ['volumes/sec/token', 'T', '400'],
    ]);
    assert.deepEqual(plan.containers[0]!.mounts.map((m) => [m.target, m.source.in, m.source.path, m.readOnly]), [
      ['/etc/app', 'pod', 'volumes/cfg', true],
      ['/etc/app/secret', 'pod', 'volumes/sec', true],
      ['/home/alice', 'host', '/home/alice', false],
      ['/scratch', 'pod', 'volumes/work/tmp', true],
      ['/work', 'pod', 'volumes/work', false],
    ]);
    assert.deepEqual(plan.limits, { cpuCores: 0.25, memoryBytes: 64 * 2 ** 20 });
    assert.equal(plan.containers[0]!.image, 'python:3');
    // Without a mount namespace the status message says where the volumes really are (not the
    // hostPath mounted at its own path).
    assert.deepEqual(plan.containers[0]!.notes, [
      'no sandbox: volumes are not mounted at their mountPath (/etc/app is at <pod dir>/volumes/cfg, /etc/app/secret is at <pod dir>/volumes/sec, /scratch is at <pod dir>/volumes/work/tmp, /work is at <pod dir>/volumes/work)',
    ]);
    assert.match(plan.script, /^mkdir -p "\$hr_pod"\/'volumes\/cfg' "\$hr_pod"\/'volumes\/sec' "\$hr_pod"\/'volumes\/work' "\$hr_pod"\/'volumes\/cfg\/dir' "\$hr_pod"\/'volumes\/work\/tmp' \|\| exit 1$/m);
    assert.match(plan.script, /^mkdir -p '\/home\/alice' \|\| exit 1$/m);
    const withBwrap = planPod(data(p, {
      configMaps: [{ metadata: { name: 'cm' }, data: { a: 'A' } }],
      secrets: [{ metadata: { name: 's' }, data: {} }],
    }), { podDir: '/state/pods/uid-1', sandbox: bwrapSandbox({ bwrap: '/usr/bin/bwrap', hide: ['/state'], seccomp: null }) });
    assert.deepEqual(withBwrap.containers[0]!.notes, []);
  });

  test('projected volumes come as a map named after the volume (interLink) or from their sources', () => {
    const p = pod({
      volumes: [{ name: 'kube-api', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }, { name: 'mixed', projected: { sources: [{ configMap: { name: 'cm' } }, { secret: { name: 's', items: [{ key: 'k', path: 'sub/k' }] } }] } }],
      containers: [{ name: 'app', ...sh('true'), volumeMounts: [{ name: 'kube-api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }, { name: 'mixed', mountPath: '/m' }] }],
    });
    const plan = planPod(data(p, {
      projectedvolumemaps: [{ metadata: { name: 'kube-api' }, data: { token: 'jwt', 'ca.crt': 'CA\n' } }],
      configMaps: [{ metadata: { name: 'cm' }, data: { c: 'C' } }],
      secrets: [{ metadata: { name: 's' }, stringData: { k: 'K' } }],
    }), host);
    assert.deepEqual(plan.files.map((f) => [f.path, f.data.toString()]), [
      ['volumes/kube-api/token', 'jwt'], ['volumes/kube-api/ca.crt', 'CA\n'], ['volumes/mixed/c', 'C'], ['volumes/mixed/sub/k', 'K'],
    ]);
    assert.ok(plan.containers[0]!.mounts.every((m) => m.readOnly));
  });

  test('bad pods are BAD_REQUEST with a message saying what is wrong', () => {
    const bad = (p: Pod, extra = {}) => () => planPod(data(p, extra), host);
    const c = (extra: Partial<Container> = {}): Container => ({ name: 'app', ...sh('true'), ...extra });
    const cases: [() => unknown, RegExp][] = [
      [bad(pod({ containers: [c({ volumeMounts: [{ name: 'nope', mountPath: '/x' }] })] })), /mounts volume "nope", which the pod does not declare/],
      [bad(pod({ volumes: [{ name: 'v', configMap: { name: 'cm' } }], containers: [c()] })), /ConfigMap "cm" \(volume "v"\) was not provided/],
      [bad(pod({ volumes: [{ name: 'v', secret: { secretName: 's', items: [{ key: 'x', path: 'x' }] } }], containers: [c()] }), { secrets: [{ metadata: { name: 's' }, data: {} }] }), /lists key "x", which its source does not have/],
      [bad(pod({ volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'k', path: '../../etc/passwd' }] } }], containers: [c()] }), { configMaps: [{ metadata: { name: 'cm' }, data: { k: 'x' } }] }), /must stay inside the volume/],
      [bad(pod({ volumes: [{ name: 'v', emptyDir: {} }], containers: [c({ volumeMounts: [{ name: 'v', mountPath: '/x', subPath: '../..' }] })] })), /must stay inside the volume/],
      [bad(pod({ volumes: [{ name: 'v', emptyDir: {} }], containers: [c({ volumeMounts: [{ name: 'v', mountPath: '/' }] })] })), /cannot mount a volume at "\/"/],
      [bad(pod({ volumes: [{ name: 'v', emptyDir: {} }], containers: [c({ volumeMounts: [{ name: 'v', mountPath: 'rel' }] })] })), /must be an absolute path/],
      [bad(pod({ volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }], containers: [c()] })), /Volume "v" is declared twice/],
      [bad(pod({ volumes: [{ name: 'pvc' } as never], containers: [c()] })), /type this executor does not support/],
      [bad(pod({ containers: [c({ name: 'Bad_Name' })] })), /Invalid container name "Bad_Name"/],
      [bad(pod({ containers: [c({ name: '../x' })] })), /Invalid container name/],
      [bad(pod({ initContainers: [c()], containers: [c()] })), /Two containers are named "app"/],
      [bad(pod({ containers: [c()] }, '../../etc')), /Invalid pod UID/],
      [bad(pod({ containers: [] })), /at least one container/],
      [bad(pod({ containers: [c({ resources: { limits: { memory: '4 gigs' } } })] })), /Invalid limits\.memory of container "app" quantity "4 gigs"/],
      [bad(pod({ containers: [{ name: 'app', image: 'busybox' }] })), /Container "app" has no command/],
      [bad(pod({ containers: [c({ command: ['/bin/echo', 'a\0b'] })] })), /must not contain NUL/],
    ];
    for (const [fn, msg] of cases) assert.throws(fn, (e: unknown) => (e as { code?: string }).code === 'BAD_REQUEST' && msg.test((e as Error).message), msg.source);
  });
});
