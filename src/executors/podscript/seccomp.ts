/**
 * The seccomp filter of the bwrap sandbox, as the classic-BPF program `bwrap --seccomp FD` loads
 * (an array of `struct sock_filter`, 8 bytes each). We have no libseccomp, so this assembles it.
 *
 * A deny-list after Docker's default profile: the sandbox already runs as a non-root uid without
 * capabilities and with no_new_privs, so most of these fail anyway; the filter is the second wall
 * for when one of those slips (a setuid helper, a capability bug), and it shuts the calls that
 * need no privilege at all (user namespaces, io_uring, keyctl, TIOCSTI).
 */

/** Mount and namespace calls: reshaping the mount tree or entering a fresh user namespace is how a process regains capabilities and sees past the sandbox's file system. */
const NAMESPACES = [
  'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns',
  'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
] as const;
/** The kernel keyring is not namespaced: keys of the same uid on the host would be reachable. */
const KEYRING = ['keyctl', 'add_key', 'request_key'] as const;
/** Host-wide kernel state (modules, kexec, swap, accounting, quotas, the kernel log, eBPF): nothing a pod should change or read. */
const KERNEL = [
  'bpf', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'reboot', 'swapon', 'swapoff', 'acct', 'syslog', 'lookup_dcookie', 'quotactl', 'quotactl_fd', 'vhangup',
] as const;
/** The clock is not namespaced: setting it moves time for the whole host. */
const CLOCK = ['settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex'] as const;
/**
 * Exploit tooling rather than features: perf_event_open leaks kernel addresses, userfaultfd
 * widens kernel race windows, open_by_handle_at opens files outside the mount tree (the
 * "shocker" container escape), and io_uring is a large, CVE-rich surface whose ring operations
 * bypass seccomp altogether.
 */
const EXPLOIT_AIDS = [
  'perf_event_open', 'userfaultfd', 'open_by_handle_at', 'name_to_handle_at',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
] as const;
/** Obsolete or x86-only calls nothing current uses (port I/O, a.out libraries, sysctl(2), old module API); arm64 has only nfsservctl of them. */
const LEGACY = ['iopl', 'ioperm', 'uselib', '_sysctl', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl'] as const;

/**
 * What the filter always refuses with EPERM, where the architecture has the call. Refused too,
 * but conditionally: `clone` with a CLONE_NEW* flag (EPERM), `ioctl` TIOCSTI/TIOCLINUX (EPERM),
 * and `clone3` (ENOSYS, so that libc falls back to `clone`, whose flags a filter can see).
 */
export const SECCOMP_DENIED: readonly string[] = Object.freeze([...NAMESPACES, ...KEYRING, ...KERNEL, ...CLOCK, ...EXPLOIT_AIDS, ...LEGACY]);

type Denied = (typeof NAMESPACES | typeof KEYRING | typeof KERNEL | typeof CLOCK | typeof EXPLOIT_AIDS | typeof LEGACY)[number];
/** Syscall numbers of one architecture: the calls checked by argument must exist, a denied one may not. */
export type SyscallTable = Readonly<Record<'clone' | 'clone3' | 'ioctl', number> & Partial<Record<Denied, number>>>;

/** From arch/x86/entry/syscalls/syscall_64.tbl (the test checks them against the installed headers). */
const X86_64: SyscallTable = {
  ioctl: 16, clone: 56, syslog: 103, uselib: 134, vhangup: 153, pivot_root: 155, _sysctl: 156,
  adjtimex: 159, chroot: 161, acct: 163, settimeofday: 164, mount: 165, umount2: 166, swapon: 167,
  swapoff: 168, reboot: 169, iopl: 172, ioperm: 173, create_module: 174, init_module: 175,
  delete_module: 176, get_kernel_syms: 177, query_module: 178, quotactl: 179, nfsservctl: 180,
  lookup_dcookie: 212, clock_settime: 227, kexec_load: 246, add_key: 248, request_key: 249,
  keyctl: 250, unshare: 272, perf_event_open: 298, name_to_handle_at: 303, open_by_handle_at: 304,
  clock_adjtime: 305, setns: 308, finit_module: 313, kexec_file_load: 320, bpf: 321, userfaultfd: 323,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, open_tree: 428, move_mount: 429,
  fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, clone3: 435, mount_setattr: 442, quotactl_fd: 443,
};

/** From include/uapi/asm-generic/unistd.h, which arm64 uses as is. */
const AARCH64: SyscallTable = {
  lookup_dcookie: 18, ioctl: 29, umount2: 39, mount: 40, pivot_root: 41, nfsservctl: 42, chroot: 51,
  vhangup: 58, quotactl: 60, acct: 89, unshare: 97, kexec_load: 104, init_module: 105,
  delete_module: 106, clock_settime: 112, syslog: 116, reboot: 142, settimeofday: 170, adjtimex: 171,
  add_key: 217, request_key: 218, keyctl: 219, clone: 220, swapon: 224, swapoff: 225,
  perf_event_open: 241, name_to_handle_at: 264, open_by_handle_at: 265, clock_adjtime: 266,
  setns: 268, finit_module: 273, bpf: 280, userfaultfd: 282, kexec_file_load: 294,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, open_tree: 428, move_mount: 429,
  fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, clone3: 435, mount_setattr: 442, quotactl_fd: 443,
};

interface ArchSpec {
  /** AUDIT_ARCH_* as seccomp_data.arch reports it; anything else is killed. */
  audit: number;
  /** x86_64 kernels also accept x32 calls (nr | 0x40000000), a second table this filter does not cover. */
  x32: boolean;
  table: SyscallTable;
}

/** Keyed by `process.arch`. Both are little-endian, which the argument offsets below assume. */
export const SECCOMP_ARCHES: Readonly<Record<string, ArchSpec>> = Object.freeze({
  x64: { audit: 0xc000003e, x32: true, table: X86_64 },
  arm64: { audit: 0xc00000b7, x32: false, table: AARCH64 },
});

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;

const X32_SYSCALL_BIT = 0x40000000;
/** CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NEW_ANY = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
/** TIOCSTI pushes input into a terminal's queue, TIOCLINUX can too (on the console): both type commands into a shell outside the sandbox. */
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

/** Offsets in struct seccomp_data; an argument's low 32 bits on little-endian. */
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0 = 16;
const OFF_ARG1 = 24;

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;
/** BPF_MAXINSNS */
const MAX_INSNS = 4096;

/** A jump target: a label, or undefined for the next instruction. */
type Jump = string | undefined;
type Step = { code: number; k: number; jt?: Jump; jf?: Jump } | { label: string };

const load = (offset: number): Step => ({ code: BPF_LD_W_ABS, k: offset });
const ret = (k: number): Step => ({ code: BPF_RET_K, k });
const jeq = (k: number, jt: Jump, jf?: Jump): Step => ({ code: BPF_JMP_JEQ_K, k, jt, jf });
const jset = (k: number, jt: Jump, jf?: Jump): Step => ({ code: BPF_JMP_JSET_K, k, jt, jf });

/** Resolves labels to the 8-bit forward offsets classic BPF jumps take, refusing any that do not fit. */
function assemble(steps: Step[]): Buffer {
  const labels = new Map<string, number>();
  const insns: Exclude<Step, { label: string }>[] = [];
  for (const s of steps) {
    if ('label' in s) labels.set(s.label, insns.length);
    else insns.push(s);
  }
  if (insns.length > MAX_INSNS) throw new Error(`seccomp program has ${insns.length} instructions, the kernel takes ${MAX_INSNS}`);
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach(function encode(ins, i) {
    const offset = (to: Jump): number => {
      if (to === undefined) return 0;
      const at = labels.get(to);
      if (at === undefined) throw new Error(`seccomp program: no label "${to}"`);
      const off = at - i - 1;
      if (off < 0 || off > 255) throw new Error(`seccomp program: jump from ${i} to "${to}" is ${off}, outside 0..255`);
      return off;
    };
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(offset(ins.jt), i * 8 + 2);
    out.writeUInt8(offset(ins.jf), i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}

/**
 * The filter program for `bwrap --seccomp`, or null for an architecture without a table (the
 * caller then refuses pods that ask for seccomp rather than run them unfiltered).
 */
export function seccompProgram(arch: string = process.arch): Buffer | null {
  const spec = Object.hasOwn(SECCOMP_ARCHES, arch) ? SECCOMP_ARCHES[arch] : undefined;
  if (spec === undefined) return null;
  const { table } = spec;
  const denied = SECCOMP_DENIED.flatMap((name) => table[name as Denied] ?? []);
  return assemble([
    load(OFF_ARCH),
    jeq(spec.audit, undefined, 'kill'),
    load(OFF_NR),
    ...(spec.x32 ? [jset(X32_SYSCALL_BIT, 'eperm')] : []),
    ...denied.map((nr) => jeq(nr, 'eperm')),
    jeq(table.clone, 'clone'),
    jeq(table.clone3, 'enosys'),
    jeq(table.ioctl, 'ioctl'),
    ret(SECCOMP_RET_ALLOW),
    { label: 'clone' },
    load(OFF_ARG0),
    jset(CLONE_NEW_ANY, 'eperm', 'allow'),
    { label: 'ioctl' },
    load(OFF_ARG1),
    jeq(TIOCSTI, 'eperm'),
    jeq(TIOCLINUX, 'eperm', 'allow'),
    { label: 'allow' },
    ret(SECCOMP_RET_ALLOW),
    { label: 'eperm' },
    ret(SECCOMP_RET_ERRNO | EPERM),
    { label: 'enosys' },
    ret(SECCOMP_RET_ERRNO | ENOSYS),
    { label: 'kill' },
    ret(SECCOMP_RET_KILL_PROCESS),
  ]);
}
