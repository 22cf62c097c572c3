import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECCOMP_ARCHES, SECCOMP_DENIED, seccompProgram } from './seccomp.js';

const KILL = 0x80000000;
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;

/** Runs a classic-BPF seccomp program on one seccomp_data, as the kernel would; returns the action. */
function evaluate(prog: Buffer, arch: number, nr: number, args: number[] = []): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt(a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; pc++) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) acc = data.readUInt32LE(k);
    else if (code === 0x15) pc += acc === k ? jt : jf;
    else if (code === 0x45) pc += (acc & k) !== 0 ? jt : jf;
    else if (code === 0x06) return k;
    else throw new Error(`opcode ${code.toString(16)} at ${pc}`);
  }
  throw new Error('program fell off its end');
}

function headerNumbers(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(path, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('seccompProgram', () => {
  test('is whole sock_filter instructions, starts by loading arch, null for other arches', () => {
    for (const arch of ['x64', 'arm64']) {
      const prog = seccompProgram(arch)!;
      assert.equal(prog.length % 8, 0);
      assert.ok(prog.length / 8 < 4096);
      assert.deepEqual([prog.readUInt16LE(0), prog.readUInt32LE(4)], [0x20, 4]); // ld [4]: seccomp_data.arch
    }
    assert.equal(seccompProgram('ia32'), null);
    assert.equal(seccompProgram('toString'), null);
    assert.equal(SECCOMP_DENIED.length, 50);
  });

  const headers = {
    x64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
    arm64: '/usr/include/asm-generic/unistd.h',
  } as const;
  for (const [arch, path] of Object.entries(headers)) {
    test(`the ${arch} table matches ${path}`, (t) => {
      if (!existsSync(path)) return t.skip(`${path} is not installed`);
      const kernel = headerNumbers(path);
      const table: Record<string, number | undefined> = SECCOMP_ARCHES[arch]!.table;
      for (const name of [...SECCOMP_DENIED, 'clone', 'clone3', 'ioctl']) {
        assert.equal(table[name], kernel.get(name), `__NR_${name}`);
      }
      assert.deepEqual(Object.keys(table).filter((n) => !kernel.has(n)), []);
    });
  }

  for (const [arch, { audit, table }] of Object.entries(SECCOMP_ARCHES)) {
    test(`${arch}: the program's decisions`, () => {
      const prog = seccompProgram(arch)!;
      const run = (nr: number, args: number[] = []) => evaluate(prog, audit, nr, args);
      assert.equal(evaluate(prog, 0x40000003, 0), KILL); // i386 (int 0x80 on x86_64)
      assert.equal(evaluate(prog, arch === 'x64' ? 0xc00000b7 : 0xc000003e, 0), KILL);
      const denied = SECCOMP_DENIED.flatMap((n) => table[n as keyof typeof table] ?? []);
      assert.equal(denied.length, arch === 'x64' ? 50 : 43);
      for (const nr of denied) assert.equal(run(nr), EPERM, `nr ${nr}`);
      const special = new Set([...denied, table.clone, table.clone3, table.ioctl]);
      for (let nr = 0; nr < 460; nr++) if (!special.has(nr)) assert.equal(run(nr), ALLOW, `nr ${nr}`);
      if (arch === 'x64') assert.equal(run(0x40000000 | 0), EPERM); // x32 read
      else assert.equal(run(0x40000000 | 63), ALLOW);

      assert.equal(run(table.clone3), ENOSYS);
      const thread = 0x3d0f00; // what glibc's pthread_create passes
      assert.equal(run(table.clone, [thread]), ALLOW);
      assert.equal(run(table.clone, [17]), ALLOW); // fork: SIGCHLD
      for (const ns of [0x80, 0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000]) {
        assert.equal(run(table.clone, [ns | 17]), EPERM, `flag ${ns.toString(16)}`);
      }
      assert.equal(run(table.ioctl, [1, 0x5412]), EPERM);
      assert.equal(run(table.ioctl, [1, 0x541c]), EPERM);
      assert.equal(run(table.ioctl, [1, 0x5401]), ALLOW); // TCGETS
      assert.equal(run(table.ioctl, [0x5412, 0x5401]), ALLOW); // the fd is not the request
    });
  }
});

/**
 * Prints `{name: errno}` for the refused calls (0: it succeeded) and what still has to work. Each
 * call runs in a forked child, so one that succeeds (a new user namespace) cannot change the next.
 */
const PROBE = String.raw`
import ctypes, json, os, subprocess, sys, threading
nr = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def arg(a):
    return ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a)
def raw(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr[name]), *map(arg, args))
    if r == 0 and name == 'clone':
        os._exit(0)
    if r > 0 and name == 'clone':
        os.waitpid(r, 0)
    return ctypes.get_errno() if r == -1 else 0
def errno(name, *args):
    pid = os.fork()
    if pid == 0:
        os._exit(raw(name, *args))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
out = {
    'mount': errno('mount', b'none', b'/tmp', b'tmpfs', 0, 0),
    'umount2': errno('umount2', b'/proc', 2),
    'unshare_newuser': errno('unshare', 0x10000000),
    'unshare_newns': errno('unshare', 0x00020000),
    'setns': errno('setns', os.open('/proc/self/ns/pid', os.O_RDONLY), 0),
    'clone_newuser': errno('clone', 0x10000000 | 17, 0, 0, 0, 0),
    'clone3': errno('clone3', 0, 0),
    'keyctl': errno('keyctl', 0, -3, 0),
    'bpf': errno('bpf', 0, 0, 0),
    'io_uring_setup': errno('io_uring_setup', 1, 0),
    'perf_event_open': errno('perf_event_open', 0, 0, -1, -1, 0),
    'ioctl_tiocsti': errno('ioctl', 0, 0x5412, b'x'),
}
pid = os.fork()
if pid == 0:
    os._exit(7)
out['fork'] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
ran = []
th = threading.Thread(target=lambda: ran.append(1))
th.start(); th.join()
out['thread'] = ran
out['true'] = subprocess.run(['/bin/true']).returncode
out['uid'] = os.getuid()
out['seccomp'] = [l for l in open('/proc/self/status') if l.startswith('Seccomp:')][0]
print(json.dumps(out))
`;

const BWRAP = '/usr/bin/bwrap';
const PYTHON = '/usr/bin/python3';
const UNPRIVILEGED = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (bwrap is not setuid here, setpriv switches uid)';
  if (!existsSync(BWRAP)) return `${BWRAP} is missing`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  if (seccompProgram() === null) return `no seccomp table for ${process.arch}`;
  return undefined;
}

interface Outcome { code: number | null; stdout: string; stderr: string }

/** Runs argv in the pod sandbox as uid 65534, with the filter on fd 9 when `filtered`. */
function sandboxed(filtered: boolean, argv: string[]): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'hr-seccomp-'));
  let fd: number | undefined;
  try {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
    const seccomp: string[] = [];
    if (filtered) {
      const file = join(dir, 'filter.bpf');
      writeFileSync(file, seccompProgram()!);
      fd = openSync(file, 'r');
      stdio.push('ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd);
      seccomp.push('--seccomp', '9');
    }
    const child = spawn(BWRAP, [
      '--ro-bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp',
      ...seccomp, '--', ...UNPRIVILEGED, ...argv,
    ], { stdio, timeout: 30_000 });
    return new Promise(function collect(resolve, reject) {
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
      child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    // The child has its own copy of fd 9 once spawn() returns.
    if (fd !== undefined) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function probe(filtered: boolean): Promise<Record<string, unknown>> {
  const nr = SECCOMP_ARCHES[process.arch]!.table;
  const r = await sandboxed(filtered, [PYTHON, '-c', PROBE, JSON.stringify(nr)]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('the filter under bwrap, as uid 65534 without capabilities', () => {
  const allowed = { fork: 7, thread: [1], true: 0, uid: 65534 };

  test('refuses the denied calls, and fork, threads and subprocesses still work', async (t) => {
    const skip = skipReason();
    if (skip) return t.skip(skip);
    const got = await probe(true);
    assert.deepEqual(got, {
      mount: 1, umount2: 1, unshare_newuser: 1, unshare_newns: 1, setns: 1, clone_newuser: 1,
      clone3: 38, keyctl: 1, bpf: 1, io_uring_setup: 1, perf_event_open: 1, ioctl_tiocsti: 1,
      ...allowed, seccomp: 'Seccomp:\t2\n',
    });
  });

  test('without the filter the same probe gets other answers', async (t) => {
    const skip = skipReason();
    if (skip) return t.skip(skip);
    const got = await probe(false);
    assert.deepEqual(
      {
        unshare_newuser: got.unshare_newuser, clone_newuser: got.clone_newuser, clone3: got.clone3,
        setns: got.setns, keyctl: got.keyctl, ioctl_tiocsti: got.ioctl_tiocsti, fork: got.fork, thread: got.thread, true: got.true, uid: got.uid, seccomp: got.seccomp,
      },
      // EINVAL: a NULL clone_args of size 0; setns needs a capability anyway; keyctl needs none;
      // ENOTTY: stdin is /dev/null.
      { unshare_newuser: 0, clone_newuser: 0, clone3: 22, setns: 1, keyctl: 0, ioctl_tiocsti: 25, ...allowed, seccomp: 'Seccomp:\t0\n' },
    );
  });

  test('`unshare -Urm` fails under the filter and works without it', async (t) => {
    const skip = skipReason();
    if (skip) return t.skip(skip);
    const [filtered, plain] = await Promise.all([sandboxed(true, ['unshare', '-Urm', 'true']), sandboxed(false, ['unshare', '-Urm', 'true'])]);
    assert.equal(filtered.code, 1);
    assert.match(filtered.stderr, /unshare failed: Operation not permitted/);
    assert.equal(plain.code, 0, plain.stderr);
  });
});
