import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformancePod, readAll, shContainer, waitForStatus } from '../../src/executors/conformance/index.js';
import { InterlinkExecutor } from '../../src/executors/interlink/index.js';
import { LocalExecutor } from '../../src/executors/local/index.js';
import type { Pod, RetrievedPodData } from '../../src/executors/types.js';
import { startPluginProcess, wire, type PluginProcess } from './plugin-http.helpers.js';

/**
 * A pod's securityContext on the wire: interlink executor → HTTP → a real `highrate plugin serve
 * --api` process → local executor (bubblewrap), as the virtual kubelet talks to interLink
 * (target api: PodCreateRequests) and as interLink talks to a plugin (target plugin:
 * RetrievedPodData). Every field arrives as sent (the pod the executor stored is compared) and is
 * enforced (the container prints who it is); a context the executor cannot enforce is a 400
 * POD_SECURITY_UNENFORCEABLE on the wire, naming every reason, and the same error out of the
 * interlink executor (not a generic EXECUTOR_FAILED).
 */

const root = mkdtempSync(join(tmpdir(), 'highrate-plugin-security-'));
const dataDir = join(root, 'data');
let plugin: PluginProcess | undefined;
after(async () => {
  await plugin?.stop();
  rmSync(root, { recursive: true, force: true });
});

const bwrap = new LocalExecutor({ name: 'probe', stateDir: join(root, 'probe'), sandbox: 'auto', cgroups: 'off' }).sandboxKind === 'bwrap';
const why = process.getuid?.() !== 0 ? 'needs root (the executor switches to each container\'s runAsUser)'
  : !bwrap ? 'needs bubblewrap (the host sandbox refuses readOnlyRootFilesystem and seccomp)' : false;

const STATUS_LINES = 'while IFS= read -r l; do case $l in CapEff:*|CapBnd:*|NoNewPrivs:*|Seccomp:*) set -- $l; echo "$1 $2";; esac; done < /proc/self/status';

/** Every field of Kubernetes' PodSecurityContext and SecurityContext that highrate carries. */
function fullySecured(): RetrievedPodData {
  return conformancePod('secured', {
    securityContext: {
      runAsUser: 200100, runAsGroup: 200101, runAsNonRoot: true, fsGroup: 200300, supplementalGroups: [200400, 200401],
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      shContainer('main', 'busybox:1.36', `echo "$(id -u) $(id -g) $(id -G)"; ${STATUS_LINES}; (: > /probe) 2>/dev/null && echo root-writable || echo root-refused`, {
        securityContext: {
          runAsUser: 200200, runAsGroup: 200250, runAsNonRoot: true, allowPrivilegeEscalation: false, privileged: false,
          capabilities: { add: [], drop: ['ALL'] }, readOnlyRootFilesystem: true, seccompProfile: { type: 'RuntimeDefault' },
        },
      }),
      // The pod's user and groups where the container sets none.
      shContainer('pod-defaults', 'busybox:1.36', 'echo "$(id -u) $(id -g) $(id -G)"'),
    ],
  });
}

/** What the bubblewrap sandbox cannot run: three reasons at once. */
function unenforceable(): RetrievedPodData {
  return conformancePod('unenforceable', {
    containers: [shContainer('main', 'busybox:1.36', 'echo must not run', {
      securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] }, seccompProfile: { type: 'Unconfined' } },
    })],
  });
}
const REFUSAL = 'Executor "local" (bubblewrap) cannot run container "main" as its securityContext asks: privileged containers are not allowed; '
  + 'seccompProfile Unconfined: every container runs with the RuntimeDefault filter here; capabilities.add NET_ADMIN: no capability may be added.';

describe('securityContext over the wire: interlink executor → plugin serve --api → local (bubblewrap)', { skip: why }, () => {
  before(async () => {
    plugin = await startPluginProcess(['--executor', 'local', '--listen', '127.0.0.1:0', '--api', '--data-dir', dataDir]);
  });

  for (const target of ['api', 'plugin'] as const) {
    test(`target ${target}: every field arrives as sent and is enforced`, async () => {
      const ex = new InterlinkExecutor({ name: `wire-${target}`, url: plugin!.url, target });
      const data = fullySecured();
      try {
        await ex.create(data);
        const stored = JSON.parse(readFileSync(join(dataDir, 'executors', 'local', 'pods', data.pod.metadata.uid, 'pod.json'), 'utf8')) as Pod;
        assert.deepEqual(stored.spec, data.pod.spec, 'the executor got the spec as sent');
        assert.deepEqual(stored.metadata, data.pod.metadata);
        await waitForStatus(ex, data.pod, 'both containers to terminate', (s) => s.containers.every((c) => c.state.terminated), 20_000);
        const log = async (c: string) => readAll(await ex.logs({ Namespace: data.pod.metadata.namespace!, PodUID: data.pod.metadata.uid, PodName: data.pod.metadata.name, ContainerName: c, Opts: {} }));
        assert.equal(await log('main'), [
          '200200 200250 200250 200300 200400 200401',
          'CapEff: 0000000000000000', 'CapBnd: 0000000000000000', 'NoNewPrivs: 1', 'Seccomp: 2',
          'root-refused', '',
        ].join('\n'));
        assert.equal(await log('pod-defaults'), '200100 200101 200101 200300 200400 200401\n');
      } finally {
        await ex.delete(data.pod);
        await ex.close();
      }
    });

    test(`target ${target}: an unenforceable context is POD_SECURITY_UNENFORCEABLE naming every reason; nothing is left`, async () => {
      const ex = new InterlinkExecutor({ name: `wire-${target}`, url: plugin!.url, target });
      const data = unenforceable();
      try {
        await assert.rejects(ex.create(data), (err: Error & { code?: string; status?: number }) => {
          assert.deepEqual([err.code, err.status, err.message], ['POD_SECURITY_UNENFORCEABLE', 400, REFUSAL]);
          return true;
        });
        assert.deepEqual(await ex.status([data.pod]), []);
        assert.equal(existsSync(join(dataDir, 'executors', 'local', 'pods', data.pod.metadata.uid)), false, 'no pod directory');
        // Junk in a securityContext stays a bad request, not a failure of the far end.
        const junk = conformancePod('junk', { containers: [shContainer('main', 'busybox:1.36', 'true', { securityContext: { runAsUser: -1 } })] });
        await assert.rejects(ex.create(junk), { code: 'BAD_REQUEST', message: 'Invalid runAsUser of container "main" -1: must be an integer between 0 and 4294967294.' });
      } finally {
        await ex.close();
      }
    });
  }

  test('on the wire: 400 with highrate\'s {status, message, code}, for RetrievedPodData and PodCreateRequests alike', async () => {
    const data = unenforceable();
    const asPlugin = await wire(plugin!.url, 'POST', '/create', { body: data });
    const asApi = await wire(plugin!.url, 'POST', '/create', { body: { pod: data.pod, configmaps: null, secrets: null, projectedvolumesmaps: null, jobscriptURL: '' } });
    for (const r of [asPlugin, asApi]) {
      assert.equal(r.status, 400, r.text);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.deepEqual(r.json(), { status: 400, message: REFUSAL, code: 'POD_SECURITY_UNENFORCEABLE' });
    }
  });
});
