import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fail } from '../../errors/catalogue.js';
import { log } from '../../log.js';
import { bwrapSandbox, hostSandbox, planPod, type PlannedContainer, type PodPlan, type Sandbox } from '../podscript/index.js';
import { writePodFiles } from '../podscript/files.js';
import { CGROUP_VIEW, logFile, POD_SCRIPT } from '../podscript/layout.js';
import { seccompProgram } from '../podscript/seccomp.js';
import { checkUid } from '../podscript/names.js';
import { formatCpu, formatMemory } from '../quantity.js';
import type { CreateStruct, Executor, ExecutorCapabilities, LogStruct, PingResponse, Pod, PodStatus, RetrievedPodData } from '../types.js';
import { cgroupPids, cgroupProcsFiles, detectCgroups, readCgroupLimits, removePodCgroup, type CgroupDriver, type PodCgroup } from './cgroups.js';
import { readLog } from './logs.js';
import { descendants, groupMembers, isAlive, readProcStat, type ProcRef } from './procfs.js';
import { TrackedPod, type ContainerRecord, type PodRecord } from './tracked.js';

export interface LocalExecutorOptions {
  /** The configured name (pods' cgroups are `highrate-<name>`). */
  name: string;
  /** Where pods live: `<stateDir>/pods/<uid>/`. Created 0700. */
  stateDir: string;
  /** bubblewrap per pod (own mount and PID namespaces): auto = when it works here. */
  sandbox?: 'auto' | 'bwrap' | 'none';
  /** cpu and memory limits through cgroups: auto = when a writable controller exists. */
  cgroups?: 'auto' | 'off';
  /** More host paths containers must not see (the state directory and /tmp always are hidden). */
  hiddenPaths?: string[];
  /** SIGTERM → SIGKILL grace period on delete, ms (default 5000, as Kubernetes' 30 s is long for a laptop). */
  killGraceMs?: number;
  /** Capacity announced by ping (default 1000). */
  maxPods?: number;
  /** The bubblewrap binary (default /usr/bin/bwrap). */
  bwrapPath?: string;
  /** The answer of `probeBwrap(bwrapPath)` when the caller has it (else probed here, synchronously). */
  bwrapWorks?: boolean;
  /** Containers may run as uid 0 (default false: a pod asking for root is refused). */
  allowRoot?: boolean;
  /** Who a container without runAsUser runs as when highrate runs as root (default nobody, 65534:65534). */
  defaultUser?: { uid: number; gid: number };
  /** Processes (and threads) a pod may have at once, through the pids cgroup; 0: no limit (default 4096). */
  pidsLimit?: number;
  /** cgroup path below each hierarchy root for pods (default: below this process's own cgroup). */
  cgroupParent?: string;
}

/** What the local executor knows about one pod's processes (for tests, probes and debugging). */
export interface LocalPodInfo {
  dir: string;
  pid: number;
  alive: boolean;
  cgroup: PodCgroup | null;
  /** The limits the kernel holds for the pod's cgroup. */
  limits: { cpuCores?: number; memoryBytes?: number };
  /** Processes of the pod still running (its process group and cgroup). */
  processes: number[];
}

const DEFAULT_GRACE_MS = 5000;
const DEFAULT_BWRAP = '/usr/bin/bwrap';
/** A fork bomb stops here; Jupyter with a Dask LocalCluster and BLAS threads stays well below. */
const DEFAULT_PIDS_LIMIT = 4096;
/** Variables a supervisor inherits from the hub; nothing else (the hub's environment holds secrets). */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER', 'LOGNAME'];
/**
 * Starts the supervisor: first it joins the pod's cgroup(s) (so every container is born inside),
 * noting a failure for the status message, then it becomes pod.sh.
 */
const LAUNCHER = 'd=$1; shift; for f in "$@"; do echo $$ 2>/dev/null > "$f" || echo "$f" >> "$d/cgroup.failed"; done; exec /bin/sh "$d/pod.sh"';

const BWRAP_PROBE = ['--bind', '/', '/', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', '--', '/bin/true'];

function bwrapWorks(bwrap: string): boolean {
  if (!existsSync(bwrap)) return false;
  const r = spawnSync(bwrap, BWRAP_PROBE, { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/**
 * Whether bubblewrap can make namespaces here (user namespaces allowed, setuid or root), without
 * holding the event loop: the hub probes while it re-attaches to the proxy (issue 14), and passes
 * the answer to the executor as `bwrapWorks`.
 */
export function probeBwrap(bwrap = DEFAULT_BWRAP): Promise<boolean> {
  if (!existsSync(bwrap)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(bwrap, BWRAP_PROBE, { stdio: 'ignore', timeout: 5000 });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Pods as processes on this host. Each pod is a directory with a POSIX sh supervisor (pod.sh,
 * see podscript/) started detached in its own session, so pods outlive the hub; a new
 * LocalExecutor on the same stateDir finds them again from their state.json. With bubblewrap
 * every container has its own mount and PID namespaces; with cgroups the pod's limits are
 * enforced. Images are not: containers are host processes, and the status message says so.
 *
 * status() answers from an in-memory index plus, per unsettled pod, one /proc read and one
 * readdir; settled pods cost nothing (1,000 pods: a few ms, see bench/executor.bench.ts).
 */
export class LocalExecutor implements Executor {
  readonly name: string;
  readonly kind = 'local';
  readonly capabilities: ExecutorCapabilities;
  readonly sandboxKind: 'bwrap' | 'none';

  readonly #stateDir: string;
  readonly #podsDir: string;
  readonly #sandbox: Sandbox;
  readonly #cgroups: CgroupDriver | null;
  readonly #graceMs: number;
  readonly #maxPods: number;
  readonly #pidsLimit: number;
  #pods = new Map<string, TrackedPod>();
  #creating = new Map<string, Promise<CreateStruct>>();
  #deleting = new Map<string, Promise<void>>();
  #loaded = false;

  constructor(opts: LocalExecutorOptions) {
    this.name = opts.name;
    this.#stateDir = resolve(opts.stateDir);
    this.#podsDir = join(this.#stateDir, 'pods');
    this.#graceMs = opts.killGraceMs ?? DEFAULT_GRACE_MS;
    this.#maxPods = opts.maxPods ?? 1000;
    const bwrap = opts.bwrapPath ?? DEFAULT_BWRAP;
    const mode = opts.sandbox ?? 'auto';
    const useBwrap = mode !== 'none' && (opts.bwrapWorks ?? bwrapWorks(bwrap));
    if (mode === 'bwrap' && !useBwrap) {
      throw fail('CONFIG_INVALID', `Executor "${opts.name}": sandbox "bwrap" needs a working ${bwrap} (Debian package bubblewrap).`);
    }
    this.sandboxKind = useBwrap ? 'bwrap' : 'none';
    const who = { allowRoot: opts.allowRoot, defaultUser: opts.defaultUser, where: `executor "${opts.name}" (${useBwrap ? 'bubblewrap' : 'no sandbox'})` };
    this.#sandbox = useBwrap
      ? bwrapSandbox({ bwrap, hide: [this.#stateDir, ...(opts.hiddenPaths ?? []).map((p) => resolve(p))], seccomp: seccompProgram(), ...who })
      : hostSandbox(who);
    this.#pidsLimit = opts.pidsLimit ?? DEFAULT_PIDS_LIMIT;
    this.#cgroups = (opts.cgroups ?? 'auto') === 'off' ? null : detectCgroups({ name: opts.name, parent: opts.cgroupParent });
    this.capabilities = {
      images: false,
      cpuLimits: this.#cgroups?.cpu ?? false,
      memoryLimits: this.#cgroups?.memory ?? false,
      remoteAddress: false,
      mountPaths: useBwrap,
    };
    mkdirSync(this.#podsDir, { recursive: true, mode: 0o700 });
    // Pod directories hold Secrets (volume files, env values in pod.json and pod.sh).
    chmodSync(this.#podsDir, 0o700);
  }

  /** Finds the pods of earlier executor processes on this stateDir (once, on first use). */
  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const uid of readdirSync(this.#podsDir)) {
      if (this.#pods.has(uid)) continue;
      const dir = join(this.#podsDir, uid);
      try {
        const record = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as PodRecord;
        if (record.version !== 1 || record.uid !== uid) throw new Error('unexpected state.json');
        this.#pods.set(uid, new TrackedPod(record, dir));
      } catch (err) {
        // A directory without state: a create that died before the supervisor started.
        log.warn('local executor: ignoring a pod directory without usable state', { executor: this.name, uid, error: String(err) });
      }
    }
  }

  async create(req: RetrievedPodData): Promise<CreateStruct> {
    this.#load();
    const uid = checkUid(req?.pod?.metadata?.uid);
    const known = this.#pods.get(uid);
    if (known) return { PodUID: uid, PodJID: known.jid };
    const pending = this.#creating.get(uid);
    if (pending) return pending;
    const p = Promise.resolve().then(() => this.#create(uid, req)).finally(() => this.#creating.delete(uid));
    this.#creating.set(uid, p);
    return p;
  }

  #create(uid: string, req: RetrievedPodData): CreateStruct {
    const dir = join(this.#podsDir, uid);
    const plan = planPod(req, { podDir: dir, sandbox: this.#sandbox, filesWritten: true });
    // A leftover directory (a create that died half-way) is replaced.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    let cgroup: PodCgroup | null = null;
    let cgroupError: string | undefined;
    try {
      writeFileSync(join(dir, 'pod.json'), JSON.stringify(req.pod, null, 2), { mode: 0o600 });
      writePodFiles(plan, process.getuid?.() === 0);
      writeFileSync(join(dir, POD_SCRIPT), plan.script, { mode: 0o700 });
      if (this.#cgroups && (plan.limits.cpuCores || plan.limits.memoryBytes || this.#pidsLimit)) {
        try {
          cgroup = this.#cgroups.create(uid, plan.limits, this.#pidsLimit || undefined);
          // The sandbox shows the pod its own cgroups, read-only (podscript/bwrap.ts).
          if (cgroup.view?.length) {
            writeFileSync(join(dir, CGROUP_VIEW), cgroup.view.map(([d, m]) => `${d}\n${m}\n`).join(''), { mode: 0o600 });
          }
        } catch (err) {
          cgroupError = String((err as Error).message ?? err);
          log.warn('local executor: cgroup creation failed; limits not enforced', { executor: this.name, uid, error: cgroupError });
        }
      }
      const containers = [...plan.initContainers, ...plan.containers].map((c) => this.#containerRecord(c, plan, cgroup));
      const pid = this.#spawn(dir, cgroup);
      const record: PodRecord = {
        version: 1, uid, name: plan.name, namespace: plan.namespace, pid,
        startTime: readProcStat(pid)?.startTime ?? null,
        createdAt: new Date().toISOString(), cgroup, containers,
      };
      writeFileSync(join(dir, 'state.json'), JSON.stringify(record, null, 2), { mode: 0o600 });
      const tracked = new TrackedPod(record, dir);
      this.#pods.set(uid, tracked);
      log.debug('local executor: pod started', { executor: this.name, uid, pid, sandbox: this.sandboxKind, cgroup: !!cgroup });
      return { PodUID: uid, PodJID: tracked.jid };
    } catch (err) {
      removePodCgroup(cgroup);
      rmSync(dir, { recursive: true, force: true });
      if (err instanceof Error && err.name === 'HighrateError') throw err;
      throw fail('EXECUTOR_FAILED', 'The local executor could not start the pod.', { detail: String(err), cause: err });
    }
  }

  /** The container's status-message notes: what this executor does not honour for it. */
  #containerRecord(c: PlannedContainer, plan: PodPlan, cgroup: PodCgroup | null): ContainerRecord {
    const notes: string[] = [];
    if (c.image) notes.push(`image "${c.image}" not honoured: runs as a host process`);
    notes.push(...c.notes);
    const unenforced: string[] = [];
    if (c.limits.cpuCores && !cgroup?.cpu) unenforced.push('cpu');
    if (c.limits.memoryBytes && !cgroup?.memory) unenforced.push('memory');
    const pidsUnenforced = this.#pidsLimit > 0 && !cgroup?.pids;
    if (pidsUnenforced && !this.#cgroups) unenforced.push('process');
    if (unenforced.length) {
      const why = !this.#cgroups ? 'no usable cgroups on this host'
        : plan.limits[unenforced[0] === 'cpu' ? 'cpuCores' : 'memoryBytes'] === undefined ? 'another container of the pod has no limit'
          : 'the pod cgroup could not be created';
      const list = unenforced.length > 1 ? `${unenforced.slice(0, -1).join(', ')} and ${unenforced.at(-1)}` : unenforced[0];
      notes.push(`${list} limit${unenforced.length > 1 ? 's' : ''} not enforced: ${why}`);
    }
    if (pidsUnenforced && this.#cgroups) notes.push(`process limit (${this.#pidsLimit}) not enforced: ${this.#cgroups.pids ? 'the pod cgroup could not be created' : 'no pids cgroup controller on this host'}`);
    // An ephemeral-storage limit sizes the private tmpfs (/tmp, /var/tmp, /dev/shm); volumes on
    // the host's disk have no quota here, which the status says when a limit was asked for.
    const disk = c.mounts.filter((m) => !m.readOnly && (m.source.in === 'host' || plan.volumes.some((v) => v.name === m.volume && v.kind === 'emptyDir')));
    if (c.ephemeralBytes !== undefined && (this.sandboxKind !== 'bwrap' || disk.length)) {
      notes.push(`ephemeral-storage limit not enforced on ${this.sandboxKind === 'bwrap' ? disk.map((m) => m.target).join(', ') : 'the host\'s file system'} (no disk quotas here)`);
    }
    return { kind: c.kind, name: c.name, image: c.image ?? '', notes };
  }

  /** Starts the supervisor detached (own session and process group), returns its pid. */
  #spawn(dir: string, cgroup: PodCgroup | null): number {
    const env: NodeJS.ProcessEnv = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
    env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    const out = openSync(join(dir, 'supervisor.log'), 'a', 0o600);
    try {
      const child = spawn('/bin/sh', ['-c', LAUNCHER, 'highrate-pod', dir, ...cgroupProcsFiles(cgroup)], {
        cwd: dir, detached: true, stdio: ['ignore', out, out], env,
      });
      child.on('error', (err) => log.error('local executor: supervisor failed to start', { executor: this.name, dir, error: String(err) }));
      child.unref();
      if (!child.pid) throw new Error('spawn returned no pid');
      return child.pid;
    } finally {
      closeSync(out);
    }
  }

  async status(pods: Pod[]): Promise<PodStatus[]> {
    this.#load();
    const out: PodStatus[] = [];
    for (const pod of pods ?? []) {
      const p = this.#pods.get(pod?.metadata?.uid);
      if (p) out.push(p.status());
    }
    return out;
  }

  async logs(req: LogStruct, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    this.#load();
    const p = this.#pods.get(req?.PodUID);
    if (!p) throw fail('WORKLOAD_NOT_FOUND', `No pod ${JSON.stringify(req?.PodUID)} on executor ${this.name}.`);
    const c = p.container(req.ContainerName);
    if (!c) throw fail('NOT_FOUND', `Pod ${req.PodUID} has no container ${JSON.stringify(req.ContainerName)}.`);
    const opts = req.Opts ?? {};
    // No restarts here, so there is never a previous instance (the kubelet answers the same).
    if (opts.Previous) throw fail('BAD_REQUEST', `previous terminated container "${c.name}" in pod "${p.record.name}" not found`);
    const done = () => !this.#pods.has(p.record.uid) || p.containerDone(c.name);
    return readLog(join(p.dir, logFile(c.kind, c.name)), opts, done, signal);
  }

  async delete(pod: Pod): Promise<void> {
    this.#load();
    const uid = pod?.metadata?.uid;
    if (typeof uid !== 'string') return;
    await this.#creating.get(uid)?.catch(() => undefined);
    const p = this.#pods.get(uid);
    if (!p) return;
    let d = this.#deleting.get(uid);
    if (!d) {
      d = this.#stop(p).finally(() => this.#deleting.delete(uid));
      this.#deleting.set(uid, d);
    }
    return d;
  }

  /** SIGTERM to every process of the pod, SIGKILL after the grace period, then removal. */
  async #stop(p: TrackedPod): Promise<void> {
    const { pid, cgroup } = p.record;
    // The supervisor's pid is its process group id. While the group has members the kernel does
    // not hand that id out again, so if the supervisor lives now, kill(-pgid) is safe for as long
    // as we use it. Processes are known by pid and start time: "gone" means exited, including
    // zombies an init process has not reaped yet (some reap only every second or two).
    const leaderAlive = p.supervisorAlive();
    const known = podProcesses(p);
    const living = (): number[] => [
      ...known.filter((k) => isAlive(k.pid, k.startTime)).map((k) => k.pid),
      ...cgroupPids(cgroup).filter((c) => isAlive(c, null)),
    ];
    const signal = (sig: NodeJS.Signals) => {
      // The group catches children forked since `known` was read; single pids catch processes
      // that left the group (setsid) but stayed in the tree or the cgroup.
      const targets = new Set(living());
      if (leaderAlive && groupAlive(pid)) targets.add(-pid);
      for (const t of targets) {
        try { process.kill(t, sig); } catch { /* already gone */ }
      }
    };
    const waitGone = async (ms: number): Promise<boolean> => {
      const until = Date.now() + ms;
      for (;;) {
        if (living().length === 0) return true;
        if (Date.now() >= until) return false;
        await sleep(20);
      }
    };
    signal('SIGTERM');
    if (!(await waitGone(this.#graceMs))) {
      signal('SIGKILL');
      if (!(await waitGone(2000))) log.warn('local executor: pod processes survived SIGKILL', { executor: this.name, uid: p.record.uid });
    }
    // Anything forked during the shutdown that is still in the group.
    if (leaderAlive && groupAlive(pid)) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (let i = 0; i < 50 && !removePodCgroup(cgroup); i++) await sleep(20);
    this.#pods.delete(p.record.uid);
    rmSync(p.dir, { recursive: true, force: true });
  }

  async ping(): Promise<PingResponse> {
    try {
      accessSync(this.#podsDir, constants.W_OK);
    } catch (err) {
      throw fail('EXECUTOR_FAILED', `The local executor's state directory is not writable.`, { detail: String(err) });
    }
    return {
      resources: {
        cpu: formatCpu(availableParallelism()),
        memory: formatMemory(totalmem()),
        pods: String(this.#maxPods),
      },
    };
  }

  /** Nothing to release: pods keep running and are found again by the next instance. */
  async close(): Promise<void> {}

  /** The processes and cgroup of a pod, or undefined for an unknown pod. */
  inspect(uid: string): LocalPodInfo | undefined {
    this.#load();
    const p = this.#pods.get(uid);
    if (!p) return undefined;
    const { pid, cgroup } = p.record;
    const alive = p.supervisorAlive();
    const processes = [...new Set([...podProcesses(p).map((k) => k.pid), ...cgroupPids(cgroup).filter((c) => isAlive(c, null))])];
    return { dir: p.dir, pid, alive, cgroup, limits: readCgroupLimits(cgroup), processes };
  }
}

/** The pod's living processes: the supervisor's tree, or, once it is gone, its group's members. */
function podProcesses(p: TrackedPod): ProcRef[] {
  const { pid, startTime } = p.record;
  if (p.supervisorAlive()) {
    const self = startTime ?? readProcStat(pid)?.startTime;
    return [...(self ? [{ pid, startTime: self }] : []), ...descendants(pid)];
  }
  return groupMembers(pid, startTime);
}

/** Whether any process is in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
