import type { Config } from '../config/schema.js';
import { HighrateError } from '../errors/catalogue.js';
import type { UnixIdentity } from '../executors/security.js';
import type { Executor, Pod, PodStatus, RetrievedPodData } from '../executors/types.js';
import type { ProgressBoard } from '../hub/servers/progress.js';
import { log } from '../log.js';
import type { ClusterRow } from '../store/types.js';
import { specOf } from './options.js';
import { workerName, type ClusterState } from './state.js';
import { workerPod, type ClusterWorkloadInput } from './workload.js';

/** How a pod looks right now; UNKNOWN when its executor could not answer (never treated as dead). */
export const UNKNOWN = Symbol('unknown');
export type Observed = PodStatus | null | typeof UNKNOWN;

/** Lines of a failed pod's log quoted in its cluster's failure reason. */
const LOG_TAIL_LINES = 15;

/** A cluster's pods on the executors: watched, started, deleted, their logs read. */
export class ClusterPods {
  constructor(private readonly deps: {
    config: Config;
    executors: ReadonlyMap<string, Executor>;
    /** `host:port` of the Dask port, where workers on another executor than the scheduler's connect. */
    proxyAddress: string;
    progress: ProgressBoard;
    users: { of(user: string): Promise<UnixIdentity> };
    /** The owner's storage token directory for a pod on an executor (src/storage), when storage is on. */
    storageAccess?: (user: string, identity: UnixIdentity, mountPaths: boolean) => Promise<NonNullable<ClusterWorkloadInput['storage']>>;
  }) {}

  /** Pod statuses, one batch call per executor. */
  async observe(pods: Array<{ executor: string; pod: Pod }>): Promise<Map<string, Observed>> {
    const out = new Map<string, Observed>();
    const byExecutor = new Map<string, Pod[]>();
    for (const p of pods) {
      const list = byExecutor.get(p.executor) ?? [];
      list.push(p.pod);
      byExecutor.set(p.executor, list);
    }
    for (const [name, list] of byExecutor) {
      const ex = this.deps.executors.get(name);
      for (const pod of list) out.set(pod.metadata.uid, ex ? null : UNKNOWN);
      if (!ex) continue;
      try {
        for (const st of await ex.status(list)) out.set(st.UID, st);
      } catch (err) {
        for (const pod of list) out.set(pod.metadata.uid, UNKNOWN);
        log.warn('cluster: executor status failed', { executor: name, error: String(err) });
      }
    }
    return out;
  }

  /** What the pod builders need of a cluster. */
  async workloadInput(row: ClusterRow, executor?: string): Promise<ClusterWorkloadInput> {
    const identity = await this.deps.users.of(row.user);
    const ex = executor === undefined ? undefined : this.deps.executors.get(executor);
    const storage = ex && this.deps.storageAccess ? await this.deps.storageAccess(row.user, identity, ex.capabilities.mountPaths) : undefined;
    return {
      name: row.name, user: row.user, identity, spec: specOf(row.config),
      clusters: this.deps.config.clusters, tlsCert: row.tlsCert, tlsKey: row.tlsKey, httpToken: row.httpToken,
      ...(storage ? { storage } : {}),
    };
  }

  /** Submits `n` workers and records them in `state`; refusals count as start failures. */
  async startWorkers(row: ClusterRow, state: ClusterState, n: number): Promise<void> {
    const spec = specOf(row.config);
    const sched = state.scheduler!;
    const ex = this.deps.executors.get(spec.workerExecutor);
    if (!ex) {
      state.failures = this.deps.config.clusters.workerStartFailureLimit;
      state.lastFailure = `No executor named ${spec.workerExecutor} is configured any more.`;
      return;
    }
    // On the scheduler's executor workers connect directly; elsewhere through the Dask port by SNI.
    const viaGateway = spec.workerExecutor !== sched.executor;
    const schedulerAddress = viaGateway ? `tls://${this.deps.proxyAddress}` : `tls://127.0.0.1:${sched.ports.tls}`;
    const input = await this.workloadInput(row, spec.workerExecutor);
    const pods: RetrievedPodData[] = [];
    for (let i = 0; i < n; i++) {
      state.seq++;
      pods.push(workerPod(input, { name: workerName(row.name, state.seq), schedulerAddress, viaGateway }));
    }
    const created = new Date().toISOString();
    const results = await Promise.allSettled(pods.map((p) => ex.create(p)));
    results.forEach((r, i) => {
      const p = pods[i]!;
      if (r.status === 'fulfilled') {
        state.workers.push({ name: p.pod.metadata.name, executor: ex.name, pod: p.pod, created, connected: null, address: null });
      } else {
        state.failures++;
        state.lastFailure = `The ${ex.name} executor refused worker ${p.pod.metadata.name}: ${r.reason instanceof HighrateError ? r.reason.message : String(r.reason)}`;
        log.warn('cluster: worker submission failed', { cluster: row.name, error: String(r.reason) });
      }
    });
    if (n > 0) this.deps.progress.push(row.name, { progress: 100, message: `Starting ${n} worker${n === 1 ? '' : 's'} on the ${ex.name} executor` });
  }

  /** Deletes a pod; failures are logged (the executor's own reconcile finishes the job). */
  async delete(executor: string, pod: Pod): Promise<void> {
    const ex = this.deps.executors.get(executor);
    if (!ex) return;
    await ex.delete(pod).catch((err: unknown) => log.warn('cluster: pod delete failed', { executor, pod: pod.metadata.name, error: String(err) }));
  }

  /** The last lines of a pod's log ('' when there are none or the executor cannot say). */
  async logTail(executor: string, pod: Pod): Promise<string> {
    const ex = this.deps.executors.get(executor);
    if (!ex) return '';
    try {
      const stream = await ex.logs({ Namespace: pod.metadata.namespace ?? '', PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: pod.spec.containers[0]!.name, Opts: { Tail: LOG_TAIL_LINES } });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      return Buffer.concat(chunks).toString('utf8').trimEnd();
    } catch {
      return '';
    }
  }
}
