import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Container, Pod, RetrievedPodData } from '../types.js';
import { planPod } from './plan.js';
import { hostSandbox, type Sandbox } from './sandbox.js';
import { bwrapSandbox } from './bwrap.js';
import { seccompProgram } from './seccomp.js';

/**
 * The generated supervisor, run for real with /bin/sh (dash here) in temporary directories: what
 * a detached supervisor or a Slurm job does with it.
 */

const root = mkdtempSync(join(tmpdir(), 'highrate-podscript-'));
// Without a sandbox, containers (nobody here) reach their volumes through the pod directory.
chmodSync(root, 0o711);
after(() => rmSync(root, { recursive: true, force: true }));
const BWRAP = '/usr/bin/bwrap';
const noBwrap = existsSync(BWRAP) ? false : 'bubblewrap is not installed';

type Objs = Partial<NonNullable<RetrievedPodData['container']>[number]>;
let n = 0;

function run(spec: (dir: string) => Pod['spec'], objs: Objs = {}, sandbox: (dir: string) => Sandbox = () => hostSandbox()) {
  const dir = join(root, `pod-${++n}`);
  mkdirSync(dir);
  const s = spec(dir);
  const data: RetrievedPodData = {
    pod: { metadata: { name: 'demo', namespace: 'ns', uid: `uid-${n}` }, spec: s },
    container: [{ name: s.containers[0]!.name, configMaps: null, secrets: null, projectedvolumemaps: null, emptyDirs: null, ...objs }],
  };
  const plan = planPod(data, { podDir: dir, sandbox: sandbox(dir) });
  writeFileSync(join(dir, 'pod.sh'), plan.script);
  const r = spawnSync('/bin/sh', [join(dir, 'pod.sh')], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 20_000 });
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : null);
  return { dir, plan, code: r.status, stderr: r.stderr, read };
}
const sh = (name: string, script: string, extra: Partial<Container> = {}): Container => ({ name, command: ['/bin/sh', '-c', script], ...extra });
const bwrap = () => bwrapSandbox({ bwrap: BWRAP, hide: [root], seccomp: seccompProgram() });

describe('pod.sh with host processes', () => {
  test('init containers in order, then all containers at once; the exit code is the highest', () => {
    const r = run((dir) => {
      // Without a mount namespace the volume is only at its pod-directory path.
      const env = [{ name: 'W', value: join(dir, 'volumes/work') }];
      return {
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [sh('first', 'echo one >> "$W/trace"', { env }), sh('second', 'echo two >> "$W/trace"; echo init-out; echo init-err >&2', { env })],
        containers: [sh('a', 'sleep 0.3; cat "$W/trace"; exit 3', { env }), sh('b', 'echo b >> "$W/trace"; exit 5', { env }), sh('c', 'echo ok', { env })],
      };
    });
    assert.equal(r.stderr, '');
    assert.equal(r.code, 5);
    assert.equal(r.read('pod.exit'), '5\n');
    assert.equal(r.read('init-first.status'), '0\n');
    assert.equal(r.read('init-second.status'), '0\n');
    assert.equal(r.read('init-second.log'), 'init-out\ninit-err\n');
    // "b" ran while "a" slept: the containers run together, after both init containers.
    assert.equal(r.read('run-a.log'), 'one\ntwo\nb\n');
    assert.deepEqual(['a', 'b', 'c'].map((c) => r.read(`run-${c}.status`)), ['3\n', '5\n', '0\n']);
    assert.equal(r.read('run-c.log'), 'ok\n');
    for (const f of ['init-first', 'init-second', 'run-a', 'run-b', 'run-c']) assert.equal(r.read(`${f}.started`), '');
    // the .started file is written before the container runs, the .status after it ends
    assert.ok(statSync(join(r.dir, 'run-a.started')).mtimeMs <= statSync(join(r.dir, 'run-a.status')).mtimeMs);
    assert.ok(statSync(join(r.dir, 'init-second.status')).mtimeMs <= statSync(join(r.dir, 'run-a.started')).mtimeMs);
  });

  test('a failing init container ends the pod with its code: later init and app containers never start', () => {
    const r = run(() => ({
      initContainers: [sh('ok', 'true'), sh('bad', 'echo broken; exit 4'), sh('never', 'true')],
      containers: [sh('app', 'echo should not run')],
    }));
    assert.equal(r.code, 4);
    assert.equal(r.read('pod.exit'), '4\n');
    assert.equal(r.read('init-bad.status'), '4\n');
    assert.equal(r.read('init-bad.log'), 'broken\n');
    for (const f of ['init-never.started', 'init-never.log', 'run-app.started', 'run-app.log', 'run-app.status']) assert.equal(r.read(f), null, f);
  });

  test('env values and arguments reach the process byte for byte, with no shell expansion', () => {
    const tricky = ['it\'s "quoted"', 'two  spaces ', '$HOME $(id) `id` ${PATH}', 'line1\nline2\n', 'back\\slash \\n', '*', '', '-n', 'ünïcødé ✓'];
    const r = run(() => ({
      containers: [{
        name: 'app',
        command: ['/bin/sh', '-c', 'for v in "$V0" "$V1" "$V2" "$V3" "$V4" "$V5" "$V6" "$V7" "$V8"; do printf "%s\\0" "$v"; done; printf "%s\\0" "$@"; printf "%s" "$HOSTNAME"', 'argv0'],
        args: tricky,
        env: tricky.map((value, i) => ({ name: `V${i}`, value })),
      }],
    }));
    assert.equal(r.code, 0, r.read('run-app.log') ?? '');
    assert.equal(r.read('run-app.log'), [...tricky, ...tricky].map((v) => v + '\0').join('') + 'demo');
  });

  test('variables whose names a shell cannot export still arrive (through env(1))', () => {
    // Not through sh -c: dash drops such names from the environment it passes on.
    const r = run(() => ({ containers: [{ name: 'app', command: ['/usr/bin/env'], env: [{ name: 'my.var', value: 'x y' }] }] }));
    assert.match(r.read('run-app.log')!, /^my\.var=x y$/m);
  });

  test('the environment holds only PATH and the like from the supervisor, then the pod\'s variables', () => {
    const r = run(() => ({ containers: [sh('app', 'env | sort', { env: [{ name: 'A', value: '1' }] })] }));
    assert.equal(r.read('run-app.log'), 'A=1\nHOSTNAME=demo\nPATH=/usr/bin:/bin\nPWD=/\n');
  });

  test('volume files are decoded by the script itself, binary-safe, with their modes', () => {
    const bin = randomBytes(300);
    bin[0] = 0; // a NUL byte, which no here-document could carry as text
    const r = run(() => ({
      volumes: [
        { name: 'cfg', configMap: { name: 'cm' } },
        { name: 'sec', secret: { secretName: 's', defaultMode: 0o400, items: [{ key: 'token', path: 'nested/dir/token' }] } },
        { name: 'proj', projected: { sources: [] } },
        { name: 'scratch', emptyDir: {} },
      ],
      containers: [sh('app', 'true')],
    }), {
      configMaps: [{ metadata: { name: 'cm' }, data: { 'app.conf': "a = 'b'\n$x\nHR_B64\n" }, binaryData: { 'blob.bin': bin.toString('base64') } }],
      secrets: [{ metadata: { name: 's' }, data: { token: Buffer.from('s3cr3t').toString('base64'), other: 'eA==' } }],
      projectedvolumemaps: [{ metadata: { name: 'proj' }, data: { 'ca.crt': 'line1\nline2\n' } }],
    });
    assert.equal(r.code, 0, r.stderr);
    const v = (p: string) => join(r.dir, 'volumes', p);
    assert.equal(readFileSync(v('cfg/app.conf'), 'utf8'), "a = 'b'\n$x\nHR_B64\n");
    assert.deepEqual(readFileSync(v('cfg/blob.bin')), bin);
    assert.equal(readFileSync(v('sec/nested/dir/token'), 'utf8'), 's3cr3t');
    assert.equal(existsSync(v('sec/other')), false); // items select keys
    assert.equal(readFileSync(v('proj/ca.crt'), 'utf8'), 'line1\nline2\n');
    assert.equal(statSync(v('cfg/app.conf')).mode & 0o777, 0o644);
    assert.equal(statSync(v('sec/nested/dir/token')).mode & 0o777, 0o400);
    assert.ok(statSync(v('scratch')).isDirectory());
  });

  test('HR_POD_DIR overrides the baked-in directory, so the script can be copied elsewhere (as sbatch does)', () => {
    const r = run(() => ({ containers: [sh('app', 'echo moved')] }));
    const other = join(root, 'elsewhere');
    mkdirSync(other);
    copyFileSync(join(r.dir, 'pod.sh'), join(root, 'copy.sh'));
    const res = spawnSync('/bin/sh', [join(root, 'copy.sh')], { env: { PATH: '/usr/bin:/bin', HR_POD_DIR: other }, encoding: 'utf8' });
    assert.equal(res.status, 0);
    assert.equal(readFileSync(join(other, 'run-app.log'), 'utf8'), 'moved\n');
    assert.equal(readFileSync(join(other, 'pod.exit'), 'utf8'), '0\n');
  });

  test('a working directory that does not exist fails the container with 126 and says why', () => {
    const r = run(() => ({ containers: [sh('app', 'true', { workingDir: '/nonexistent/highrate' })] }));
    assert.equal(r.read('run-app.status'), '126\n');
    assert.match(r.read('run-app.log')!, /can't cd to \/nonexistent\/highrate/);
  });
});

describe('pod.sh with bubblewrap', { skip: noBwrap }, () => {
  test('volumes at their mountPath (read-only honoured), own PID namespace, state and /tmp hidden', () => {
    const r = run(() => ({
      volumes: [{ name: 'cfg', configMap: { name: 'cm' } }, { name: 'work', emptyDir: {} }],
      initContainers: [sh('prep', 'echo from-init > /data/shared', { volumeMounts: [{ name: 'work', mountPath: '/data' }] })],
      containers: [
        sh('app', [
          'cat /etc/highrate-test/cfg/key',
          'cat /work/shared',
          'touch /etc/highrate-test/cfg/new 2>/dev/null && echo cfg-writable || echo cfg-readonly',
          'touch /ro/x 2>/dev/null && echo ro-writable || echo ro-readonly',
          `ls -A ${root} 2>/dev/null | wc -l`,
          'ls -A /tmp | wc -l',
          'echo pid=$$$$', // "$$" is Kubernetes' escaped "$"
          'pwd',
        ].join('; '), {
          workingDir: '/work',
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/highrate-test/cfg' },
            { name: 'work', mountPath: '/work' },
            { name: 'work', mountPath: '/ro', readOnly: true },
          ],
        }),
      ],
    }), { configMaps: [{ metadata: { name: 'cm' }, data: { key: 'value' } }] }, bwrap);
    assert.equal(r.code, 0, `${r.stderr}${r.read('run-app.log')}`);
    assert.equal(r.read('run-app.log'), 'valuefrom-init\ncfg-readonly\nro-readonly\n0\n0\npid=2\n/work\n');
    // mount points that did not exist were made inside the sandbox only
    assert.equal(existsSync('/etc/highrate-test'), false);
    assert.equal(existsSync('/data'), false);
    assert.equal(existsSync('/ro'), false);
  });

  test('mount points missing on the host, at the top level or deeper, leave the host untouched', () => {
    const tag = `highrate-test-${randomBytes(4).toString('hex')}`;
    const r = run(() => ({
      volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', emptyDir: {} }, { name: 'c', emptyDir: {} }, { name: 'd', emptyDir: {} }],
      containers: [sh('app', `touch /${tag}/x/a/f /var/${tag}/deep/b/f /tmp/${tag}/c/f /var/run/${tag}/d/f && cat /etc/os-release | head -1 && ls /var/${tag}/deep`, {
        volumeMounts: [
          { name: 'a', mountPath: `/${tag}/x/a` },
          { name: 'b', mountPath: `/var/${tag}/deep/b` },
          { name: 'c', mountPath: `/tmp/${tag}/c` },
          // through a symlink (Debian: /var/run -> /run), which bwrap cannot mount through
          { name: 'd', mountPath: `/var/run/${tag}/d` },
        ],
      })],
    }), {}, bwrap);
    assert.equal(r.code, 0, `${r.stderr}${r.read('run-app.log')}`);
    assert.match(r.read('run-app.log')!, /^PRETTY_NAME=.*\nb\n$/);
    for (const p of [`/${tag}`, `/var/${tag}`, `/tmp/${tag}`, `/run/${tag}`]) assert.equal(existsSync(p), false, p);
    for (const v of ['a', 'b', 'c', 'd']) assert.ok(existsSync(join(r.dir, 'volumes', v, 'f')), v);
  });

  test('env, odd variable names and arguments byte for byte inside the sandbox', () => {
    const r = run(() => ({
      containers: [
        { name: 'app', command: ['/bin/sh', '-c', 'printf "%s|" "$A" "$@"; echo "$PWD$OLDPWD"'], args: ['argv0', "x 'y'", '$HOME'], env: [{ name: 'A', value: 'a\n"b"' }] },
        { name: 'odd', command: ['/usr/bin/env'], env: [{ name: 'odd.name', value: 'v w' }] },
      ],
    }), {}, bwrap);
    assert.equal(r.read('run-app.log'), 'a\n"b"|x \'y\'|$HOME|/\n');
    assert.match(r.read('run-odd.log')!, /^odd\.name=v w$/m);
    // bwrap sets PWD to the working directory; nothing names the supervisor's
    assert.match(r.read('run-odd.log')!, /^PWD=\/$/m);
    assert.doesNotMatch(r.read('run-odd.log')!, /OLDPWD/);
  });

  test('readOnlyRoot: the host is read-only, volumes, /tmp and missing mount points still work', () => {
    const tag = `highrate-test-${randomBytes(4).toString('hex')}`;
    const r = run(() => ({
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [sh('app', `(echo x > /etc/${tag}) 2>/dev/null && echo root-writable || echo root-read-only; echo ok > /tmp/f && cat /tmp/f; echo v > /${tag}/data/f && cat /${tag}/data/f`, {
        volumeMounts: [{ name: 'data', mountPath: `/${tag}/data` }],
      })],
    }), {}, () => bwrapSandbox({ bwrap: BWRAP, hide: [root], seccomp: seccompProgram() }));
    assert.equal(r.read('run-app.log'), 'root-read-only\nok\nv\n');
    assert.equal(existsSync(`/${tag}`), false);
    assert.equal(existsSync(`/etc/${tag}`), false);
  });

  test('a container killed by a signal records 128+signal', () => {
    const r = run(() => ({ containers: [sh('app', 'kill -9 $$$$')] }), {}, bwrap);
    assert.equal(r.read('run-app.status'), '137\n');
    assert.equal(r.code, 137);
  });
});
