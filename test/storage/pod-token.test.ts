/**
 * A pod of the local executor (bubblewrap, the user's own uid, the hub's data directory hidden)
 * gets its user's token directory as the hub builds it (StorageService.podAccess): XRootD's own
 * client in the pod finds the token by BEARER_TOKEN_FILE and the storage's CA by X509_CERT_DIR,
 * reads the public area and writes the user's area over root://, and cannot change the file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { conformancePod, readAll, shContainer, waitForStatus } from '../../src/executors/conformance/index.js';
import { terminated } from '../../src/executors/conformance/pods.js';
import { LocalExecutor } from '../../src/executors/local/index.js';
import { restrictedSecurity } from '../../src/executors/security.js';
import type { Pod } from '../../src/executors/types.js';
import { StorageService } from '../../src/storage/index.js';
import { freePort, stopXrootd } from './helpers.js';

const root = process.getuid?.() === 0;
const ready = root && fs.existsSync('/usr/bin/bwrap') && fs.existsSync('/usr/bin/xrootd') && fs.existsSync('/usr/bin/xrdcp');


describe('storage token in a pod', { skip: !ready && 'needs root, bubblewrap and XRootD' }, () => {
  // Not under /tmp: /tmp is a private tmpfs in every pod, which would hide the data dir for free.
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  let tmp: string;
  let dataDir: string;
  let service: StorageService;
  let ex: LocalExecutor;
  let pid = 0;
  let port: number;
  const pods: Pod[] = [];
  const who = { uid: 200_988, gid: 200_988 };

  before(async () => {
    fs.mkdirSync(path.join(repo, '.tmp'), { recursive: true });
    tmp = fs.mkdtempSync(path.join(repo, '.tmp', 'storage-pod-'));
    dataDir = path.join(tmp, 'data');
    port = await freePort();
    const config = validateConfig({ storage: { embedded: true, port } }, 'test');
    service = await StorageService.create({ config, dataDir, publicUrl: 'http://127.0.0.1:18002', embedded: true });
    await service.start();
    pid = service.endpoints!.pid;
    fs.writeFileSync(path.join(dataDir, 'storage', 'public', 'f.txt'), 'public bytes\n', { mode: 0o644 });
    ex = new LocalExecutor({ name: 'local-storage-test', stateDir: path.join(dataDir, 'executors', 'local'), sandbox: 'bwrap', cgroups: 'off', hiddenPaths: [dataDir], killGraceMs: 1000 });
  });

  after(async () => {
    await Promise.all(pods.map((p) => ex.delete(p).catch(() => undefined)));
    await ex?.close?.();
    await service?.close();
    await stopXrootd(pid);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('xrdcp in the pod reads and writes with BEARER_TOKEN_FILE; the file is read-only there', async () => {
    const access = await service.podAccess('alice', [], who, true);
    const sec = restrictedSecurity(who);
    const script = [
      'set -e',
      'id -u',
      'xrdcp -f -s root://127.0.0.1:PORT//public/f.txt /tmp/got',
      'echo "read: $(cat /tmp/got)"',
      'echo "from the pod" > /tmp/up',
      'xrdcp -f -s /tmp/up root://127.0.0.1:PORT//user/alice/from-pod.txt && echo wrote',
      'if (echo x > "$BEARER_TOKEN_FILE") 2>/dev/null; then echo TOKEN-FILE-WRITABLE; else echo token-file-read-only; fi',
      'if xrdcp -f -s /tmp/up root://127.0.0.1:PORT//user/bob/x.txt 2>/dev/null; then echo WROTE-BOB; else echo bob-refused; fi',
    ].join('\n').replace(/PORT/g, String(port));
    const d = conformancePod('storage', {
      securityContext: sec.pod,
      volumes: [{ name: 'wlcg-token', hostPath: { path: access.hostDir, type: 'Directory' } }],
      containers: [shContainer('main', 'none', script, {
        securityContext: sec.container,
        env: access.env,
        volumeMounts: [{ name: 'wlcg-token', mountPath: access.mountPath, readOnly: true }],
      })],
    });
    delete (d.pod.spec.containers[0] as { image?: string }).image;
    pods.push(d.pod);
    await ex.create(d);
    const st = await waitForStatus(ex, d.pod, 'the pod to finish', terminated('main'), 60_000);
    const out = await readAll(await ex.logs({ Namespace: d.pod.metadata.namespace!, PodUID: d.pod.metadata.uid, PodName: d.pod.metadata.name, ContainerName: 'main', Opts: {} }));
    assert.equal(st.containers[0]!.state.terminated!.exitCode, 0, out);
    assert.deepEqual(out.trim().split('\n'), [String(who.uid), 'read: public bytes', 'wrote', 'token-file-read-only', 'bob-refused']);
    assert.equal(fs.readFileSync(path.join(dataDir, 'storage', 'user', 'alice', 'from-pod.txt'), 'utf8'), 'from the pod\n');
  });
});
