import { accessSync, constants, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fail, HighrateError } from '../../errors/catalogue.js';
import { log } from '../../log.js';
import { hostSandbox, planPod, type PodPlan, type Sandbox } from '../podscript/index.js';
import { logFile, statusFile } from '../podscript/layout.js';
import type { Limits } from '../podscript/limits.js';
import { checkUid } from '../podscript/names.js';
import type { CreateStruct, Executor, ExecutorCapabilities, LogStruct, PingResponse, Pod, PodStatus, RetrievedPodData } from '../types.js';
import { Accounts } from './accounts.js';
import { CommandRunner, CommandTimeout, firstErrorLine } from './commands.js';
import { JOB_OUTPUT, JOB_SCRIPT, prepareJobDir, withUserGuard } from './job-dir.js';
import { chooseJobUser, type JobUser, type RunJobsAs } from './job-user.js';
import { readJobLog } from './job-log.js';
import type { JobRunner } from './node-sandbox.js';
import { StatusPoller } from './poller.js';
import { JobRecords, type ContainerRecord, type JobRecord } from './records.js';
import { batchPodStatus, readJobFiles, type JobFiles } from './status.js';
import { TERMINAL, type BatchJobState, type BatchSystem } from './types.js';

/** sbatch's and condor_submit's words for "the controller (slurmctld, the schedd) did not answer". */
const CONTROLLER_UNREACHABLE = /Unable to contact slurm controller|slurm_persist_conn_open|Failed to connect to (local )?(queue manager|schedd)|Can't find address of (local )?schedd/i;

export interface BatchExecutorOptions {
  /** The configured name. */
  name: string;
  /** Job records and local copies of job scripts: `<stateDir>/pods/<uid>/`. Created 0700. */
  stateDir: string;
  system: BatchSystem;
  /**
   * Where jobs run: job `<uid>` works in `<jobRoot>/<uid>/`, which the hub makes (0700, owned by the
   * job's user) where it sees jobRoot, and writes its batch output to `job.out` in it (where the hub
   * does not see jobRoot: `<jobRoot>/<uid>.out`). Must exist on the nodes; default
   * `<stateDir>/jobs` (this machine or a shared file system, where the hub also reads logs and exit
   * codes from it).
   */
  jobRoot?: string;
  /**
   * Whether the job directories are readable from the hub (this machine, a shared file system).
   * Default: true when jobRoot exists here. When false, states and exit codes come from the batch
   * system only and logs are empty.
   */
  jobFilesVisible?: boolean;
  /** How each container is started inside a job of highrate's own account (default: host processes). */
  sandbox?: Sandbox;
  /** The same for a job submitted for a user: it runs as that user and cannot switch (default: host processes). */
  userSandbox?: (who: JobRunner) => Sandbox;
  /** The configuration's fix for a POD_SECURITY_UNENFORCEABLE refusal, appended to it when there is one. */
  securityHint?: (message: string) => string | undefined;
  /** Who jobs run as (job-user.ts): default auto. */
  runJobsAs?: RunJobsAs;
  /** Whether highrate runs as root (default: its uid is 0); only root can submit for other users. */
  runningAsRoot?: boolean;
  /** Account lookups by uid (default: NSS through getent). */
  accounts?: Accounts;
  /** True when the sandbox runs images (a container runtime). */
  runsImages?: boolean;
  /** How long one status poll's answer is reused, ms (default 2000). */
  pollIntervalMs?: number;
  /** A batch command not done after this long counts as a controller failure, ms (default 30000). */
  commandTimeoutMs?: number;
  /**
   * The controller probe before each submit (BatchSystem.probeCommand) counts as "not reachable"
   * after this long, ms (default 3000): a start then answers 503 within it instead of after the
   * submit command's own retries.
   */
  probeTimeoutMs?: number;
  /** How long delete waits for a cancelled job to end before removing its files, ms (default 15000). */
  deleteWaitMs?: number;
  /** Capacity announced by ping (default 1000). */
  maxPods?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The pod's requested cpu and memory: its effective limits, else its largest container limits (the Slurm plugin's rule). */
function requestedLimits(plan: PodPlan): Limits {
  const all = [...plan.initContainers, ...plan.containers];
  const largest = (k: keyof Limits) => Math.max(0, ...all.map((c) => c.limits[k] ?? 0)) || undefined;
  return { cpuCores: plan.limits.cpuCores ?? largest('cpuCores'), memoryBytes: plan.limits.memoryBytes ?? largest('memoryBytes') };
}

/**
 * The shared base of batch executors: one pod is one batch job running the podscript supervisor.
 * The module (`BatchSystem`) builds commands and parses their output; this class owns the rest:
 * - create: plans the pod, writes the script to the state directory, submits it (stdin or file),
 *   records the job id in `<stateDir>/pods/<uid>/job.json` so a restarted hub finds its jobs;
 * - status: ONE status command per poll for all tracked jobs, its answer shared for
 *   `pollIntervalMs`; exit codes from the job's `.status` files where they are readable;
 * - a controller error never marks a pod dead: the last known state is reported and a warning
 *   logged; jobs the controller forgot are resolved once (`describe`), then from their files;
 * - delete: cancel, wait (bounded) for the job to end, remove its files; logs: the job's
 *   per-container log files;
 * - who a job runs as (`runJobsAs`, job-user.ts): as root, each pod's job may be submitted for
 *   the pod's user; its directory is then the user's, and the hub reads it without following
 *   what the user could have put there (job-log.ts).
 *
 * Files on a remote node without a shared file system: what is proven here is the single-machine
 * (and so shared-file-system) case. Without one, the hub cannot read the job directory: states
 * and exit codes then come from the batch system only, and logs are empty (see status.ts).
 */
export class BatchExecutor implements Executor {
  readonly name: string;
  readonly kind: string;
  readonly capabilities: ExecutorCapabilities;
  /** Commands run so far, per program (tests and benchmarks count squeue calls). */
  readonly commands: CommandRunner;

  readonly #system: BatchSystem;
  readonly #records: JobRecords;
  readonly #jobRoot: string;
  readonly #filesVisible: boolean;
  readonly #sandbox: Sandbox;
  readonly #userSandbox: (who: JobRunner) => Sandbox;
  readonly #securityHint: (message: string) => string | undefined;
  readonly #runJobsAs: RunJobsAs;
  readonly #accounts: Accounts;
  /** Why some jobs run as highrate's account, logged once each. */
  readonly #told = new Set<string>();
  readonly #runsImages: boolean;
  readonly #deleteWaitMs: number;
  readonly #maxPods: number;
  readonly #pollIntervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #poller: StatusPoller;
  /** The controller probe in flight, shared by concurrent submits. */
  #probing: Promise<string | null> | null = null;
  #jobs = new Map<string, JobRecord>();
  /** Final statuses: the job ended and its files were read; nothing changes any more. */
  #settled = new Map<string, PodStatus>();
  /** What `describe` (or the files) said about jobs the status command no longer lists. */
  #described = new Map<string, { at: number; state: BatchJobState }>();
  #creating = new Map<string, Promise<CreateStruct>>();
  #deleting = new Map<string, Promise<void>>();
  #loaded = false;

  constructor(opts: BatchExecutorOptions) {
    this.name = opts.name;
    this.kind = opts.system.kind;
    this.#system = opts.system;
    const stateDir = resolve(opts.stateDir);
    this.#records = new JobRecords(stateDir);
    this.#jobRoot = opts.jobRoot ?? join(stateDir, 'jobs');
    if (!isAbsolute(this.#jobRoot)) throw fail('CONFIG_INVALID', `Executor "${opts.name}": jobRoot must be an absolute path.`);
    // Only a job root on this machine can be created here; elsewhere it must exist on the nodes.
    if (!opts.jobRoot) mkdirSync(this.#jobRoot, { recursive: true, mode: 0o700 });
    this.#filesVisible = opts.jobFilesVisible ?? existsSync(this.#jobRoot);
    this.#sandbox = opts.sandbox ?? hostSandbox();
    this.#userSandbox = opts.userSandbox ?? ((who) => hostSandbox({ runnerUid: who.uid, runnerGid: who.gid, runnerGroups: who.groups }));
    this.#securityHint = opts.securityHint ?? (() => undefined);
    this.#accounts = opts.accounts ?? new Accounts();
    this.#runJobsAs = this.#jobsAs(opts);
    this.#runsImages = opts.runsImages ?? false;
    this.#deleteWaitMs = opts.deleteWaitMs ?? 15_000;
    this.#maxPods = opts.maxPods ?? 1000;
    this.#pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.#probeTimeoutMs = opts.probeTimeoutMs ?? Math.min(3000, opts.commandTimeoutMs ?? 30_000);
    this.commands = new CommandRunner(opts.commandTimeoutMs ?? 30_000);
    this.capabilities = { images: this.#runsImages, cpuLimits: true, memoryLimits: true, remoteAddress: true, mountPaths: this.#sandbox.kind !== 'host' };
    this.#poller = new StatusPoller((ids) => this.#query(ids), () => this.#activeJobIds(), this.#pollIntervalMs, `${this.kind} executor ${this.name}`);
  }

  /** Finds the jobs of earlier hub processes (once, on first use). */
  async #load(): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    const { records, orphans } = this.#records.load();
    for (const rec of records) if (!this.#jobs.has(rec.uid)) this.#jobs.set(rec.uid, rec);
    for (const uid of orphans) {
      if (this.#jobs.has(uid) || this.#creating.has(uid)) continue;
      // A hub that died between submitting and recording: the job (named after the pod UID)
      // may exist without anyone to watch it.
      log.warn(`${this.kind} executor: a pod directory without a job record; cancelling any job named after it`, { executor: this.name, uid });
      if (this.#system.cancelByNameCommand) await this.commands.run(this.#system.cancelByNameCommand(uid)).catch(() => undefined);
      this.#records.remove(uid);
    }
  }

  #activeJobIds(): string[] {
    const ids: string[] = [];
    for (const rec of this.#jobs.values()) if (!this.#settled.has(rec.uid)) ids.push(rec.jobId);
    return ids;
  }

  async #query(ids: string[]): Promise<Map<string, BatchJobState>> {
    const r = await this.commands.run(this.#system.statusCommand(ids));
    const states = this.#system.parseStates(r);
    if (!states) throw new Error(`${this.#system.statusCommand(ids).argv[0]} failed: ${firstErrorLine(r)}`);
    return states;
  }

  async create(req: RetrievedPodData): Promise<CreateStruct> {
    await this.#load();
    const uid = checkUid(req?.pod?.metadata?.uid);
    const known = this.#jobs.get(uid);
    if (known) return { PodUID: uid, PodJID: known.jobId };
    const pending = this.#creating.get(uid);
    if (pending) return pending;
    const p = this.#create(uid, req).finally(() => this.#creating.delete(uid));
    this.#creating.set(uid, p);
    return p;
  }

  /**
   * Who jobs may run as, settled once: per-user submission needs root, a batch system that can
   * submit for users, and job directories the hub makes for them; `user` without these is a
   * configuration error, `auto` becomes `executor`.
   */
  #jobsAs(opts: BatchExecutorOptions): RunJobsAs {
    const wanted = opts.runJobsAs ?? 'auto';
    if (wanted === 'executor') return wanted;
    const root = opts.runningAsRoot ?? process.getuid?.() === 0;
    const why = !root ? 'highrate does not run as root, and only root may submit jobs for other users'
      : !this.#system.submitsAsUser ? `${this.kind} jobs cannot be submitted for other users`
        : !this.#filesVisible ? `the hub does not see jobRoot ${this.#jobRoot}, so it cannot make the job directories for their users (jobFilesVisible false)`
          : null;
    if (!why) return wanted;
    if (wanted === 'user') throw fail('CONFIG_INVALID', `Executor "${this.name}": runJobsAs user runs each job as its pod's user, but ${why}. Set ${this.kind}.runJobsAs: executor.`);
    if (root) log.info(`${this.kind} executor: jobs run as highrate's own account`, { executor: this.name, reason: why });
    return 'executor';
  }

  /** The user this pod's job is submitted for, or null for highrate's own account. */
  async #jobUser(req: RetrievedPodData): Promise<JobUser | null> {
    if (this.#runJobsAs === 'executor') return null;
    const choice = await chooseJobUser({
      mode: this.#runJobsAs, option: `${this.kind}.runJobsAs`, executor: `Executor "${this.name}"`,
      pod: req.pod, accounts: this.#accounts, jobRoot: this.#jobRoot, primaryGroupOnly: this.#system.submitsAsUser === 'primary-group',
    });
    if ('user' in choice) return choice.user;
    if (choice.executor && !this.#told.has(choice.executor) && this.#told.size < 1000) {
      this.#told.add(choice.executor);
      log.warn(`${this.kind} executor: a job runs as highrate's own account, not as its pod's user (the sandbox still runs its containers as that user)`, { executor: this.name, reason: choice.executor });
    }
    return null;
  }

  /** planPod, with the configuration's fix added to a refusal of the pod's securityContext. */
  #plan(req: RetrievedPodData, podDir: string, sandbox: Sandbox): PodPlan {
    try {
      return planPod(req, { podDir, sandbox });
    } catch (err) {
      const hint = err instanceof HighrateError && err.code === 'POD_SECURITY_UNENFORCEABLE' ? this.#securityHint(err.message) : undefined;
      if (hint) throw fail('POD_SECURITY_UNENFORCEABLE', `${(err as HighrateError).message} ${hint}`, { cause: err });
      throw err;
    }
  }

  async #create(uid: string, req: RetrievedPodData): Promise<CreateStruct> {
    const jobDir = `${this.#jobRoot}/${uid}`;
    const user = await this.#jobUser(req);
    const runner = user ? { uid: user.uid, gid: user.gid, groups: user.groups } : null;
    const plan = this.#plan(req, jobDir, runner ? this.#userSandbox(runner) : this.#sandbox);
    const dir = this.#records.prepare(uid);
    const outputFile = this.#filesVisible ? `${jobDir}/${JOB_OUTPUT}` : `${this.#jobRoot}/${uid}.out`;
    const runAs = user ? { name: user.name, uid: user.uid, gid: user.gid } : undefined;
    try {
      const podScript = user ? withUserGuard(plan.script, user.uid) : plan.script;
      // The supervisor as a file first, for modules that submit a file (an HTCondor executable);
      // what goes to the submit command's stdin is kept beside it, for debugging. A job of a user
      // reads its executable from its own directory: the state directory is the hub's alone.
      writeFileSync(join(dir, 'job.sh'), podScript, { mode: 0o700 });
      if (this.#filesVisible) prepareJobDir(jobDir, user, user ? [{ name: JOB_SCRIPT, data: podScript }] : []);
      const scriptPath = user ? join(jobDir, JOB_SCRIPT) : join(dir, 'job.sh');
      const cmd = this.#system.buildSubmit({
        uid, name: plan.name, namespace: plan.namespace, jobDir, outputFile, jobRoot: this.#jobRoot,
        podScript, scriptPath, stateDir: dir, limits: requestedLimits(plan), ...(runAs ? { runAs } : {}),
      });
      if (cmd.stdin !== undefined) writeFileSync(join(dir, 'submit.stdin'), cmd.stdin, { mode: 0o600 });
      // A controller that is away makes the submit command retry for ≈ 9 s (sbatch) before it
      // fails: ask it first, and say so now.
      const outage = await this.#controllerAway();
      if (outage !== null) {
        throw fail('UPSTREAM_UNAVAILABLE', `The ${this.kind} controller is not reachable (${outage}); nothing was started. Try again in a minute.`, { extra: { retryAfter: 30 } });
      }
      let r;
      try {
        r = await this.commands.run(cmd);
      } catch (err) {
        throw fail('EXECUTOR_FAILED', `The ${this.kind} controller did not accept the job: ${(err as Error).message}`, { cause: err });
      }
      if (r.exitCode !== 0) {
        // The controller being away (a restart, a failover) is not the job's fault: 503, retry later.
        if (CONTROLLER_UNREACHABLE.test(r.stderr)) {
          throw fail('UPSTREAM_UNAVAILABLE', `The ${this.kind} controller is not reachable (${firstErrorLine(r)}); nothing was started. Try again in a minute.`, { detail: r.stderr, extra: { retryAfter: 30 } });
        }
        throw fail('EXECUTOR_FAILED', `${cmd.argv[0]} refused the job: ${firstErrorLine(r)}`, { detail: r.stderr });
      }
      const jobId = this.#system.parseSubmit(r.stdout);
      const containers: ContainerRecord[] = [...plan.initContainers, ...plan.containers].map((c) => ({
        kind: c.kind, name: c.name, image: c.image ?? '',
        notes: [...(c.image && !this.#runsImages ? [`image "${c.image}" not honoured: runs as a host process on the batch node`] : []), ...c.notes],
      }));
      const rec: JobRecord = {
        version: 1, uid, name: plan.name, namespace: plan.namespace, jobId, jobDir, outputFile,
        ...(runAs ? { runAs } : {}), submittedAt: new Date().toISOString(), containers,
      };
      this.#records.save(rec);
      this.#jobs.set(uid, rec);
      log.debug(`${this.kind} executor: job submitted`, { executor: this.name, uid, jobId, runAs: runAs?.name ?? null });
      return { PodUID: uid, PodJID: jobId };
    } catch (err) {
      this.#records.remove(uid);
      if (this.#filesVisible) rmSync(jobDir, { recursive: true, force: true });
      if (err instanceof HighrateError) throw err;
      throw fail('EXECUTOR_FAILED', `The ${this.kind} executor could not submit the pod.`, { detail: String(err), cause: err });
    }
  }

  /**
   * Null when the controller answers, else why not: the probe's answer (one probe at a time,
   * shared by concurrent submits), or without a probe what the last status poll saw. A probe that
   * cannot be run at all does not stop the submit, which then says what is wrong itself.
   */
  #controllerAway(): Promise<string | null> {
    const { probeCommand, parseProbe } = this.#system;
    if (!probeCommand || !parseProbe) return Promise.resolve(this.#poller.outage);
    this.#probing ??= this.commands.run(probeCommand(), this.#probeTimeoutMs).then(
      function probeAnswer(r) {
        if (parseProbe(r)) return null;
        return (`${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).find(Boolean) ?? `exit code ${r.exitCode}`).slice(0, 300);
      },
      function probeFailed(err: unknown) {
        return err instanceof CommandTimeout ? err.message : null;
      },
    ).finally(() => { this.#probing = null; });
    return this.#probing;
  }

  async status(pods: Pod[]): Promise<PodStatus[]> {
    await this.#load();
    const wanted: JobRecord[] = [];
    for (const pod of pods ?? []) {
      const rec = this.#jobs.get(pod?.metadata?.uid);
      if (rec) wanted.push(rec);
    }
    const open = wanted.filter((r) => !this.#settled.has(r.uid));
    const poll = open.length ? await this.#poller.poll(open.map((r) => r.jobId)) : null;
    const out: PodStatus[] = [];
    for (const rec of wanted) {
      const done = this.#settled.get(rec.uid);
      if (done) {
        out.push(done);
        continue;
      }
      let job = poll?.states.get(rec.jobId) ?? this.#poller.known(rec.jobId);
      if (poll && poll.asked.has(rec.jobId) && !poll.states.has(rec.jobId)) job = await this.#missing(rec);
      const { status, settled } = batchPodStatus(rec, job, this.#files(rec));
      if (settled) this.#settled.set(rec.uid, status);
      out.push(status);
    }
    return out;
  }

  /**
   * A job the status command no longer lists: the controller forgot it, long after it ended. It
   * is asked about with `describe` (at most once per poll interval, and never again once that
   * says it ended), else its files say how it ended. A job `describe` still sees alive stays so.
   */
  async #missing(rec: JobRecord): Promise<BatchJobState> {
    const { jobId } = rec;
    const known = this.#poller.known(jobId);
    if (known && TERMINAL.has(known.phase)) return known;
    const seen = this.#described.get(jobId);
    if (seen && (TERMINAL.has(seen.state.phase) || Date.now() - seen.at < this.#pollIntervalMs)) return seen.state;
    if (this.#system.describeCommand && this.#system.parseDescribe) {
      try {
        const r = await this.commands.run(this.#system.describeCommand(jobId));
        const s = r.exitCode === 0 ? this.#system.parseDescribe(r.stdout) : null;
        if (s) {
          this.#described.set(jobId, { at: Date.now(), state: s });
          return s;
        }
      } catch (err) {
        log.warn(`${this.kind} executor: describing a forgotten job failed`, { executor: this.name, jobId, error: String(err) });
      }
    }
    const code = this.#files(rec)?.podExit;
    const gone: BatchJobState = {
      id: jobId,
      phase: code === undefined ? 'failed' : code === 0 ? 'completed' : 'failed',
      state: 'GONE',
      reason: 'no longer known to the batch system',
      ...(code !== undefined ? { exitCode: code } : {}),
    };
    this.#described.set(jobId, { at: Date.now(), state: gone });
    return gone;
  }

  /**
   * The job's files; with visible job directories, one not created yet (the job has not started,
   * or has just started) reads as "nothing recorded yet" rather than "unknown".
   */
  #files(rec: JobRecord): JobFiles | null {
    if (!this.#filesVisible) return null;
    return readJobFiles(rec.jobDir, rec.containers) ?? { containers: new Map() };
  }

  async logs(req: LogStruct, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    await this.#load();
    const rec = this.#jobs.get(req?.PodUID);
    if (!rec) throw fail('WORKLOAD_NOT_FOUND', `No pod ${JSON.stringify(req?.PodUID)} on executor ${this.name}.`);
    const c = rec.containers.find((x) => x.name === req.ContainerName);
    if (!c) throw fail('NOT_FOUND', `Pod ${req.PodUID} has no container ${JSON.stringify(req.ContainerName)}.`);
    const opts = req.Opts ?? {};
    if (opts.Previous) throw fail('BAD_REQUEST', `previous terminated container "${c.name}" in pod "${rec.name}" not found`);
    const statusPath = join(rec.jobDir, statusFile(c.kind, c.name));
    const done = () => {
      if (!this.#jobs.has(rec.uid) || this.#settled.has(rec.uid) || existsSync(statusPath)) return true;
      // Following needs fresh job states even when nobody asks for statuses: a shared, cached poll.
      void this.#poller.poll([rec.jobId]);
      const s = this.#poller.known(rec.jobId);
      return !!s && TERMINAL.has(s.phase);
    };
    return readJobLog(join(rec.jobDir, logFile(c.kind, c.name)), opts, done, signal);
  }

  async delete(pod: Pod): Promise<void> {
    await this.#load();
    const uid = pod?.metadata?.uid;
    if (typeof uid !== 'string') return;
    await this.#creating.get(uid)?.catch(() => undefined);
    const rec = this.#jobs.get(uid);
    if (!rec) return;
    let d = this.#deleting.get(uid);
    if (!d) {
      d = this.#delete(rec).finally(() => this.#deleting.delete(uid));
      this.#deleting.set(uid, d);
    }
    return d;
  }

  async #delete(rec: JobRecord): Promise<void> {
    if (!this.#settled.has(rec.uid)) {
      const r = await this.commands.run(this.#system.cancelCommand([rec.jobId])).catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
      // A cancel that fails because the job has ended is fine; one the controller did not
      // answer is not: the pod is kept, so the hub's next stop or reconcile tries again.
      if (r.exitCode !== 0 && !/invalid job id|already completed|has already finished/i.test(r.stderr)) {
        throw fail('EXECUTOR_FAILED', `Could not cancel job ${rec.jobId}: ${firstErrorLine(r)}`);
      }
      const until = Date.now() + this.#deleteWaitMs;
      for (;;) {
        const poll = await this.#poller.poll([rec.jobId], true);
        const s = poll?.states.get(rec.jobId);
        if (poll && (!s || TERMINAL.has(s.phase))) break;
        if (Date.now() >= until) {
          log.warn(`${this.kind} executor: cancelled job still running; removing its record anyway`, { executor: this.name, jobId: rec.jobId });
          break;
        }
        await sleep(250);
      }
    }
    this.#jobs.delete(rec.uid);
    this.#settled.delete(rec.uid);
    this.#poller.forget(rec.jobId);
    this.#described.delete(rec.jobId);
    this.#records.remove(rec.uid);
    // The job's files, where they are reachable from here.
    rmSync(rec.jobDir, { recursive: true, force: true });
    rmSync(rec.outputFile, { force: true });
  }

  async ping(): Promise<PingResponse> {
    try {
      accessSync(this.#records.podsDir, constants.W_OK);
    } catch (err) {
      throw fail('EXECUTOR_FAILED', `The ${this.kind} executor's state directory is not writable.`, { detail: String(err) });
    }
    let r;
    try {
      r = await this.commands.run(this.#system.pingCommand());
    } catch (err) {
      throw fail('EXECUTOR_FAILED', `The ${this.kind} controller did not answer: ${(err as Error).message}`);
    }
    if (r.exitCode !== 0) throw fail('EXECUTOR_FAILED', `The ${this.kind} controller did not answer: ${firstErrorLine(r)}`);
    return { resources: { ...this.#system.parsePing(r.stdout), pods: String(this.#maxPods) } };
  }

  /** Nothing to release: jobs keep running and are found again by the next instance. */
  async close(): Promise<void> {}

  /** The job id of a tracked pod (tests, debugging). */
  jobIdOf(uid: string): string | undefined {
    return this.#jobs.get(uid)?.jobId;
  }
}
