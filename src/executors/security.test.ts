import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveSecurity, requireEnforceable, restrictedSecurity, unenforceable, type SecuritySupport } from './security.js';
import type { Container, Pod } from './types.js';

const pod = (podCtx: unknown, containerCtx: unknown): { pod: Pod; c: Container } => {
  const c = { name: 'main', command: ['true'], securityContext: containerCtx } as Container;
  return { pod: { metadata: { name: 'p', uid: 'u' }, spec: { securityContext: podCtx as Pod['spec']['securityContext'], containers: [c] } }, c };
};

const ROOT_BWRAP: SecuritySupport = { where: 'the test sandbox', users: 'any', defaultUser: { uid: 65534, gid: 65534 }, readOnlyRoot: 'always', seccomp: 'always', dropsAllCapabilities: true };
const HOST_AS_1000: SecuritySupport = { where: 'the host sandbox', users: 1000, defaultUser: { uid: 1000, gid: 1000 }, groups: [1000, 27], readOnlyRoot: 'never', seccomp: 'never', dropsAllCapabilities: true };

test('the container\'s fields win over the pod\'s, Kubernetes\' defaults fill the rest', () => {
  const { pod: p, c } = pod({ runAsUser: 1, runAsGroup: 2, fsGroup: 3, supplementalGroups: [4], runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    { runAsUser: 5, capabilities: { drop: ['all'], add: ['CAP_NET_BIND_SERVICE'] } });
  assert.deepEqual(effectiveSecurity(p, c), {
    runAsUser: 5, runAsGroup: 2, runAsNonRoot: true, fsGroup: 3, supplementalGroups: [4],
    allowPrivilegeEscalation: true, privileged: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
    readOnlyRootFilesystem: false, seccomp: { type: 'RuntimeDefault' },
  });
});

test('junk is BAD_REQUEST naming the field', () => {
  for (const [podCtx, ctx, field] of [
    [{ runAsUser: -1 }, {}, 'runAsUser of the pod'],
    [{}, { runAsGroup: 1.5 }, 'runAsGroup of container "main"'],
    [{ supplementalGroups: 'x' }, {}, 'supplementalGroups'],
    [{}, { capabilities: { add: ['rm -rf'] } }, 'capability'],
    [{}, { seccompProfile: { type: 'Localhost' } }, 'localhostProfile'],
    [{}, { privileged: true, allowPrivilegeEscalation: false }, 'privileged'],
    [[], {}, 'securityContext'],
  ] as const) {
    const { pod: p, c } = pod(podCtx, ctx);
    assert.throws(() => effectiveSecurity(p, c), (e: any) => e.code === 'BAD_REQUEST' && e.message.includes(field), field);
  }
});

test('the restricted profile runs on a root sandbox; root, privileged and added capabilities are refused', () => {
  const r = restrictedSecurity({ uid: 200001, gid: 200001 });
  const { pod: p, c } = pod(r.pod, r.container);
  assert.deepEqual(unenforceable(effectiveSecurity(p, c), ROOT_BWRAP), []);
  const asRoot = pod({ runAsUser: 0 }, {});
  assert.deepEqual(unenforceable(effectiveSecurity(asRoot.pod, asRoot.c), ROOT_BWRAP), ['containers may not run as root (uid 0) here']);
  const bad = pod({ runAsNonRoot: true, runAsUser: 0 }, { privileged: true, capabilities: { add: ['SYS_ADMIN'] }, seccompProfile: { type: 'Unconfined' } });
  assert.deepEqual(unenforceable(effectiveSecurity(bad.pod, bad.c), { ...ROOT_BWRAP, allowRoot: true }), [
    'privileged containers are not allowed',
    'runAsNonRoot is set but the container would run as uid 0',
    'seccompProfile Unconfined: every container runs with the RuntimeDefault filter here',
    'capabilities.add SYS_ADMIN: no capability may be added',
  ]);
});

test('a sandbox that is not root keeps its own uid and groups, and says what it cannot do', () => {
  const r = restrictedSecurity({ uid: 200001, gid: 200001 });
  const { pod: p, c } = pod(r.pod, r.container);
  assert.throws(() => requireEnforceable('main', effectiveSecurity(p, c), HOST_AS_1000), (e: any) => e.code === 'POD_SECURITY_UNENFORCEABLE'
    && e.message === 'The host sandbox cannot run container "main" as its securityContext asks: '
      + 'runAsUser 200001: it runs as uid 1000 and cannot switch users (run highrate as root to run each user\'s pods as their own uid); '
      + 'group 200001: it cannot switch groups; readOnlyRootFilesystem: the root file system cannot be made read-only; '
      + 'seccompProfile RuntimeDefault: no seccomp filter can be applied.');
  const own = pod({ runAsUser: 1000, fsGroup: 27 }, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  assert.deepEqual(unenforceable(effectiveSecurity(own.pod, own.c), HOST_AS_1000), []);
});
