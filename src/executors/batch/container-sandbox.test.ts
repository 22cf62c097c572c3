import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxContainer } from '../podscript/sandbox.js';
import { containerSandbox } from './container-sandbox.js';

const c = (over: Partial<SandboxContainer & { image?: string }> = {}): SandboxContainer => ({
  kind: 'run', name: 'main', argv: ['/bin/sh', '-c', 'echo "$GREETING"'], env: new Map([['GREETING', "it's here"]]),
  workingDir: '/work',
  mounts: [
    { volume: 'cfg', source: { in: 'pod', path: 'volumes/cfg' }, target: '/etc/app', readOnly: true },
    { volume: 'data', source: { in: 'host', path: '/data' }, target: '/data', readOnly: false },
  ],
  security: { runAsNonRoot: false, supplementalGroups: [], allowPrivilegeEscalation: true, privileged: false, capabilities: { add: [], drop: [] }, readOnlyRootFilesystem: false },
  podName: 'demo',
  image: 'busybox:1.36', ...over,
} as SandboxContainer);

describe('containerSandbox', () => {
  test('apptainer: exec with env through APPTAINERENV_, binds, pwd, docker:// reference', () => {
    assert.deepEqual(containerSandbox('apptainer').containerBody(c()), [
      'unset OLDPWD',
      `export APPTAINERENV_GREETING='it'\\''s here'`,
      `exec 'apptainer' exec --containall --no-eval --bind "$hr_pod"/'volumes/cfg'':/etc/app:ro' --bind '/data'':/data' --pwd '/work' 'docker://busybox:1.36' '/bin/sh' '-c' 'echo "$GREETING"'`,
    ]);
  });

  test('singularity without a command runs the image; absolute and scheme images are kept', () => {
    const body = containerSandbox('singularity').containerBody(c({ argv: [], mounts: [], workingDir: undefined, image: '/cvmfs/unpacked.cern.ch/img' }));
    assert.deepEqual(body, ['unset OLDPWD', `export SINGULARITYENV_GREETING='it'\\''s here'`, `exec 'singularity' run --containall --no-eval '/cvmfs/unpacked.cern.ch/img'`]);
  });

  test('podman: hardened, --env NAME copies values from its environment; the command replaces the entrypoint; the user is the pod\'s', () => {
    assert.deepEqual(containerSandbox('podman').containerBody(c({ mounts: [], identity: { uid: 200001, gid: 200001, groups: [5000] } })), [
      'unset OLDPWD',
      `export GREETING='it'\\''s here'`,
      `exec 'podman' run --rm --network=host --read-only --cap-drop=all --security-opt=no-new-privileges --env GREETING --user=200001:200001 --group-add=5000 -w '/work' --entrypoint='/bin/sh' 'busybox:1.36' '-c' 'echo "$GREETING"'`,
    ]);
  });

  test('what a runtime cannot enforce: apptainer has no seccomp filter and cannot switch users as root', () => {
    const apptainer = containerSandbox('apptainer', { runner: { runnerUid: 0 } }).support;
    assert.equal(apptainer.seccomp, 'never');
    assert.equal(apptainer.users, 0);
    const podman = containerSandbox('podman', { runner: { runnerUid: 0 } }).support;
    assert.deepEqual([podman.seccomp, podman.readOnlyRoot, podman.users], ['always', 'always', 'any']);
  });

  test('a container without an image is a host process of the node', () => {
    const sb = containerSandbox('apptainer', { runner: { runnerUid: 0 } });
    const body = sb.containerBody(c({ image: undefined, mounts: [] }));
    // as its own user (nobody by default), with no capabilities and no_new_privs
    assert.equal(body.at(-1), `exec '/usr/bin/setpriv' '--reuid=65534' '--regid=65534' '--clear-groups' '--inh-caps=-all' '--bounding-set=-all' '--no-new-privs' '--' '/bin/sh' '-c' 'echo "$GREETING"'`);
    assert.ok(body.includes(`export GREETING='it'\\''s here'`));
  });

  test('refused: unbindable paths, names a runtime cannot pass', () => {
    const sb = containerSandbox('apptainer');
    assert.throws(() => sb.containerBody(c({ mounts: [{ volume: 'x', source: { in: 'host', path: '/a:b' }, target: '/x', readOnly: false }] })), { code: 'BAD_REQUEST' });
    assert.throws(() => sb.containerBody(c({ env: new Map([['a.b', '1']]) })), { code: 'BAD_REQUEST' });
  });
});
