import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Limits } from '../podscript/limits.js';

/**
 * Per-pod cgroups for the local executor, on cgroup v2 (unified) or v1 (one hierarchy per
 * controller; also the "hybrid" layout where cpu and memory are v1 and the unified tree has no
 * controllers).
 *
 * Where: below the executor process's own cgroup in each hierarchy (`<own>/highrate-<name>/<uid>`),
 * so pods stay accounted to whoever runs the hub (a systemd unit, a batch allocation), or below
 * `parent` when configured (a path relative to each hierarchy's root, e.g. "/highrate").
 *
 * What: the pod's effective limits (see podscript/limits.ts): cpu as a CFS quota over a 100 ms
 * period, memory as a hard limit with swap capped to the same (v1 memsw) or none (v2), and the
 * executor's process limit (pids.max: a fork bomb stays inside its pod). The
 * supervisor joins by writing its own pid to each `cgroup.procs` before it starts anything, so
 * every container process is born inside. A cgroup is made only for a resource with a limit.
 *
 * cgroup v2's "no internal processes" rule means the parent must have the controllers enabled
 * for its children; below a cgroup that itself holds processes (the hub's own) that fails, and v2
 * is then reported unavailable unless `parent` names a delegated cgroup.
 */

export interface PodCgroup {
  version: 1 | 2;
  /** cgroup directory holding the cpu limit (v2: the same directory as memory). */
  cpu?: string;
  memory?: string;
  pids?: string;
  /** Each directory with the mount point of its hierarchy: where the sandbox shows it, read-only. */
  view?: Array<[dir: string, mountPoint: string]>;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Controllers this driver can limit. */
  readonly cpu: boolean;
  readonly memory: boolean;
  readonly pids: boolean;
  /** Creates the pod's cgroup(s) with its limits and a process limit. Throws when the kernel refuses. */
  create(uid: string, limits: Limits, pidsMax?: number): PodCgroup;
}

export interface MountEntry { mountPoint: string; fsType: string; superOptions: string[] }

/** /proc/self/mountinfo: `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const right = line.slice(dash + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    // Mount points escape space, tab, newline and backslash as octal (\040).
    const mountPoint = left[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ mountPoint, fsType: right[0]!, superOptions: right[2]!.split(',') });
  }
  return out;
}

/** /proc/self/cgroup: `hierarchy:controllers:path`; v2 is the line `0::path`. */
export function parseProcCgroup(text: string): { v1: Map<string, string>; v2?: string } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
    else for (const c of m[2]!.split(',')) v1.set(c, m[3]!);
  }
  return { v1, v2 };
}

export interface DetectOptions {
  /** The executor's name: pods go into `highrate-<name>/<uid>`. */
  name: string;
  /** A cgroup path (relative to each hierarchy root) to put pods under instead of the own cgroup. */
  parent?: string;
  /** For tests: the texts of /proc/self/mountinfo and /proc/self/cgroup, and a prefix for mount points. */
  mountinfo?: string;
  selfCgroup?: string;
  fsRoot?: string;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The deepest existing directory at or above `dir`, which must be writable to create `dir`. */
function creatable(dir: string): boolean {
  let d = dir;
  while (!existsSync(d)) {
    const up = d.slice(0, d.lastIndexOf('/')) || '/';
    if (up === d) return false;
    d = up;
  }
  return writable(d);
}

/** Makes sure `dir`'s children may use `controllers` (v2 subtree_control). */
function enableControllers(dir: string, controllers: string[]): boolean {
  try {
    const have = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
    const missing = controllers.filter((c) => !have.includes(c));
    if (missing.length) writeFileSync(join(dir, 'cgroup.subtree_control'), missing.map((c) => '+' + c).join(' '));
    return true;
  } catch {
    return false;
  }
}

const PERIOD_US = 100_000;

/** The cgroup driver this machine allows, or null (no writable cpu or memory controller). */
export function detectCgroups(opts: DetectOptions): CgroupDriver | null {
  const root = opts.fsRoot ?? '';
  let mountinfo: string;
  let self: string;
  try {
    mountinfo = opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
    self = opts.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return null;
  }
  const mounts = parseMountinfo(mountinfo);
  const own = parseProcCgroup(self);
  const leaf = `highrate-${opts.name}`;

  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  if (unified) {
    const top = root + unified.mountPoint;
    let controllers: string[] = [];
    try {
      controllers = readFileSync(join(top, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    } catch { /* no controllers file: not usable */ }
    const wanted = CONTROLLERS.filter((c) => controllers.includes(c));
    if (wanted.length) {
      const parentDir = join(top, opts.parent ?? own.v2 ?? '/');
      const base = join(parentDir, leaf);
      if (existsSync(parentDir) && writable(parentDir) && enableControllers(parentDir, wanted)) {
        return v2Driver(base, unified.mountPoint, new Set(wanted));
      }
    }
  }

  const bases: V1Bases = {};
  for (const ctl of CONTROLLERS) {
    const m = mounts.find((x) => x.fsType === 'cgroup' && x.superOptions.includes(ctl));
    if (!m) continue;
    const base = join(root + m.mountPoint, opts.parent ?? own.v1.get(ctl) ?? '/', leaf);
    if (creatable(base)) bases[ctl] = { base, mountPoint: m.mountPoint };
  }
  if (!bases.cpu && !bases.memory && !bases.pids) return null;
  return v1Driver(bases);
}

const CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];
type V1Bases = Partial<Record<Controller, { base: string; mountPoint: string }>>;

function v1Driver(bases: V1Bases): CgroupDriver {
  return {
    version: 1,
    cpu: !!bases.cpu,
    memory: !!bases.memory,
    pids: !!bases.pids,
    create(uid, limits, pidsMax) {
      const cg: PodCgroup = { version: 1, view: [] };
      const make = (ctl: Controller): string => {
        const dir = join(bases[ctl]!.base, uid);
        mkdirSync(dir, { recursive: true });
        cg[ctl] = dir;
        cg.view!.push([dir, bases[ctl]!.mountPoint]);
        return dir;
      };
      try {
        if (bases.cpu && limits.cpuCores) {
          const dir = make('cpu');
          writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
          writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpuCores * PERIOD_US))));
        }
        if (bases.memory && limits.memoryBytes) {
          const dir = make('memory');
          writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
          // memory+swap capped at the same value: the limit cannot be dodged by swapping.
          if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) {
            try { writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)); } catch { /* swap accounting off */ }
          }
        }
        if (bases.pids && pidsMax) writeFileSync(join(make('pids'), 'pids.max'), String(pidsMax));
      } catch (err) {
        removePodCgroup(cg);
        throw err;
      }
      return cg;
    },
  };
}

function v2Driver(base: string, mountPoint: string, have: Set<Controller>): CgroupDriver {
  return {
    version: 2,
    cpu: have.has('cpu'),
    memory: have.has('memory'),
    pids: have.has('pids'),
    create(uid, limits, pidsMax) {
      const wantCpu = have.has('cpu') && !!limits.cpuCores;
      const wantMem = have.has('memory') && !!limits.memoryBytes;
      const wantPids = have.has('pids') && !!pidsMax;
      const cg: PodCgroup = { version: 2 };
      if (!wantCpu && !wantMem && !wantPids) return cg;
      mkdirSync(base, { recursive: true });
      if (!enableControllers(base, [...have])) {
        throw new Error(`cannot enable the ${[...have].join('/')} controllers in ${base}`);
      }
      const dir = join(base, uid);
      mkdirSync(dir, { recursive: true });
      cg.view = [[dir, mountPoint]];
      try {
        if (wantCpu) {
          cg.cpu = dir;
          writeFileSync(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpuCores! * PERIOD_US))} ${PERIOD_US}`);
        }
        if (wantMem) {
          cg.memory = dir;
          writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
          if (existsSync(join(dir, 'memory.swap.max'))) {
            try { writeFileSync(join(dir, 'memory.swap.max'), '0'); } catch { /* no swap controller */ }
          }
        }
        if (wantPids) {
          cg.pids = dir;
          writeFileSync(join(dir, 'pids.max'), String(pidsMax));
        }
      } catch (err) {
        cg.cpu = cg.memory = cg.pids = dir;
        removePodCgroup(cg);
        throw err;
      }
      return cg;
    },
  };
}

/** The distinct directories of a pod cgroup. */
export function cgroupDirs(cg: PodCgroup | null | undefined): string[] {
  return cg ? [...new Set([cg.cpu, cg.memory, cg.pids].filter((d): d is string => !!d))] : [];
}

/** The files the supervisor writes its pid to, to join the pod's cgroup(s). */
export function cgroupProcsFiles(cg: PodCgroup | null | undefined): string[] {
  return cgroupDirs(cg).map((d) => join(d, 'cgroup.procs'));
}

/** Pids inside the pod's cgroup(s). */
export function cgroupPids(cg: PodCgroup | null | undefined): number[] {
  const out = new Set<number>();
  for (const d of cgroupDirs(cg)) {
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.add(Number(l));
    } catch { /* gone */ }
  }
  return [...out];
}

/** How many processes the kernel's OOM killer killed in the pod's memory cgroup. */
export function cgroupOomKills(cg: PodCgroup | null | undefined): number {
  if (!cg?.memory) return 0;
  try {
    const file = cg.version === 2 ? 'memory.events' : 'memory.oom_control';
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(cg.memory, file), 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The limits as the kernel holds them (for tests and conformance probes). */
export function readCgroupLimits(cg: PodCgroup | null | undefined): Limits & { pids?: number } {
  const out: Limits & { pids?: number } = {};
  if (!cg) return out;
  const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8').trim();
  try {
    if (cg.cpu) {
      const [quota, period] = cg.version === 2
        ? read(cg.cpu, 'cpu.max').split(' ')
        : [read(cg.cpu, 'cpu.cfs_quota_us'), read(cg.cpu, 'cpu.cfs_period_us')];
      if (quota !== 'max' && Number(quota) > 0) out.cpuCores = Number(quota) / Number(period);
    }
    if (cg.memory) {
      const v = read(cg.memory, cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes');
      if (v !== 'max') out.memoryBytes = Number(v);
    }
    if (cg.pids) {
      const v = read(cg.pids, 'pids.max');
      if (v !== 'max') out.pids = Number(v);
    }
  } catch { /* removed */ }
  return out;
}

/** Removes the pod's cgroup directories and, when empty, the executor's directory above them. */
export function removePodCgroup(cg: PodCgroup | null | undefined): boolean {
  let ok = true;
  for (const d of cgroupDirs(cg)) {
    try {
      rmdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
      continue;
    }
    try { rmdirSync(d.slice(0, d.lastIndexOf('/'))); } catch { /* other pods still there */ }
  }
  return ok;
}
