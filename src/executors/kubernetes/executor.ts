import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, KubeConfig, Log, type V1Pod } from '@kubernetes/client-node';
import { fail, HighrateError } from '../../errors/catalogue.js';
import { log } from '../../log.js';
import { checkUid } from '../podscript/names.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from '../quantity.js';
import type { CreateStruct, Executor, ExecutorCapabilities, LogStruct, PingResponse, Pod, PodStatus, RetrievedPodData } from '../types.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClient, withDeadline } from './deadline.js';
import { buildManifests, LABEL_EXECUTOR, LABEL_UID, podName, type ManifestOptions } from './manifests.js';
import { podStatusOf, uidOf } from './status.js';

export interface KubernetesExecutorOptions extends Omit<ManifestOptions, 'executor'> {
  name: string;
  /** Where the API server is and how to authenticate (kubeconfig, in-cluster, or built in a test). */
  kubeConfig: KubeConfig;
  /** One pod list per this long at most, shared by all callers, ms (default 2000). */
  pollIntervalMs?: number;
  /** Grace period of deleted pods, seconds (default 5). */
  deleteGraceSeconds?: number;
  /**
   * Deadline of every API server call, ms (default 30000; a followed log only until it starts):
   * past it the call fails with 504 EXECUTOR_TIMEOUT instead of hanging.
   */
  requestTimeoutMs?: number;
}

/** The notes annotation: what the executor changed in the pod (status messages; survives restarts). */
const ANNOTATION_NOTES = 'highrate.io/notes';
/** How often a followed log is retried while its container has not started. */
const FOLLOW_RETRY_MS = 1000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Our own errors (the deadline's EXECUTOR_TIMEOUT) pass through the mapping of API errors. */
function ours(err: unknown): err is HighrateError {
  return err instanceof HighrateError;
}

/** An API error's HTTP status, or undefined for anything else. */
function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's message of an error (a v1.Status body), for errors users see. */
function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: unknown } | string | undefined;
    if (body && typeof body === 'object' && typeof body.message === 'string') return body.message;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch { /* text */ }
      return body.slice(0, 300);
    }
    return `HTTP ${err.code}`;
  }
  return String((err as Error)?.message ?? err);
}

/**
 * Pods in one namespace of a Kubernetes cluster, through the API server (CoreV1Api). The API
 * server is the state: every pod carries its highrate UID as a label, so a new executor process
 * finds the pods of the old one with the same list call that answers status (one
 * `listNamespacedPod` with a label selector for all pods, cached for `pollIntervalMs`).
 */
export class KubernetesExecutor implements Executor {
  readonly name: string;
  readonly kind = 'kubernetes';
  readonly capabilities: ExecutorCapabilities = { images: true, cpuLimits: true, memoryLimits: true, remoteAddress: true, mountPaths: true };
  readonly namespace: string;
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #opts: KubernetesExecutorOptions;
  readonly #ttl: number;
  readonly #timeoutMs: number;
  #listed: { at: number; pods: Map<string, V1Pod> } | null = null;
  #listing: Promise<Map<string, V1Pod>> | null = null;
  #creating = new Map<string, Promise<CreateStruct>>();
  /** Pods deleted by this process: gone for status even while Kubernetes still terminates them. */
  #deleted = new Set<string>();

  constructor(opts: KubernetesExecutorOptions) {
    this.name = opts.name;
    this.namespace = opts.namespace;
    this.#opts = opts;
    this.#kc = opts.kubeConfig;
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#core = makeApiClient(this.#kc, CoreV1Api, this.#timeoutMs);
    this.#ttl = opts.pollIntervalMs ?? 2000;
  }

  /** This executor's pods by highrate UID: one list call, shared and cached. */
  async #pods(fresh = false): Promise<Map<string, V1Pod>> {
    if (!fresh && this.#listed && Date.now() - this.#listed.at < this.#ttl) return this.#listed.pods;
    if (this.#listing) return this.#listing;
    const at = Date.now();
    this.#listing = this.#core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${LABEL_EXECUTOR}=${this.name}` })
      .then((list) => {
        const pods = new Map<string, V1Pod>();
        for (const p of list.items ?? []) {
          const uid = uidOf(p);
          if (uid) pods.set(uid, p);
        }
        this.#listed = { at, pods };
        return pods;
      }, (err: unknown) => {
        if (ours(err)) throw err;
        throw fail('EXECUTOR_FAILED', `The Kubernetes API server did not list the pods: ${messageOf(err)}`, { detail: String(err) });
      })
      .finally(() => { this.#listing = null; });
    return this.#listing;
  }

  async create(req: RetrievedPodData): Promise<CreateStruct> {
    const uid = checkUid(req?.pod?.metadata?.uid).toLowerCase();
    const pending = this.#creating.get(uid);
    if (pending) return pending;
    const p = this.#create(uid, req).finally(() => this.#creating.delete(uid));
    this.#creating.set(uid, p);
    return p;
  }

  async #create(uid: string, req: RetrievedPodData): Promise<CreateStruct> {
    const m = buildManifests(req, { ...this.#opts, executor: this.name });
    const existing = (await this.#pods(true)).get(uid);
    if (existing) return { PodUID: req.pod.metadata.uid, PodJID: existing.metadata!.name! };
    if (m.notes.length) m.pod.metadata!.annotations![ANNOTATION_NOTES] = m.notes.join('; ');
    const ns = this.namespace;
    try {
      // Objects first: the pod's volumes and env refer to them.
      for (const body of m.secrets) await this.#createIgnoringExisting(() => this.#core.createNamespacedSecret({ namespace: ns, body }));
      for (const body of m.configMaps) await this.#createIgnoringExisting(() => this.#core.createNamespacedConfigMap({ namespace: ns, body }));
      await this.#createIgnoringExisting(() => this.#core.createNamespacedPod({ namespace: ns, body: m.pod }));
    } catch (err) {
      if (err instanceof HighrateError) throw err;
      const code = statusOf(err);
      // 422 Invalid, 400 BadRequest: the pod itself is wrong; 403 Forbidden (quota, policy) is the user's to see too.
      if (code === 422 || code === 400) throw fail('BAD_REQUEST', `The Kubernetes API server refused the pod: ${messageOf(err)}`);
      if (code === 403) throw fail('EXECUTOR_FAILED', `The Kubernetes API server refused the pod: ${messageOf(err)}`);
      throw fail('EXECUTOR_FAILED', `The Kubernetes API server could not create the pod: ${messageOf(err)}`, { detail: String(err) });
    }
    this.#deleted.delete(uid);
    this.#listed = null;
    log.debug('kubernetes executor: pod created', { executor: this.name, uid, pod: m.pod.metadata!.name });
    return { PodUID: req.pod.metadata.uid, PodJID: m.pod.metadata!.name! };
  }

  /** A create that finds its object already there (a retried create) is fine. */
  async #createIgnoringExisting(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
  }

  async status(pods: Pod[]): Promise<PodStatus[]> {
    if (!pods?.length) return [];
    const all = await this.#pods();
    const out: PodStatus[] = [];
    for (const p of pods) {
      const uid = String(p?.metadata?.uid ?? '').toLowerCase();
      const k = all.get(uid);
      if (!k || this.#deleted.has(uid)) continue;
      const notes = k.metadata?.annotations?.[ANNOTATION_NOTES];
      out.push(podStatusOf(k, p.metadata.uid, notes ? [notes] : []));
    }
    return out;
  }

  async logs(req: LogStruct, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const uid = String(req?.PodUID ?? '').toLowerCase();
    let pod = (await this.#pods()).get(uid);
    if (!pod) pod = (await this.#pods(true)).get(uid);
    if (!pod || this.#deleted.has(uid)) throw fail('WORKLOAD_NOT_FOUND', `No pod ${JSON.stringify(req?.PodUID)} on executor ${this.name}.`);
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
    if (!names.includes(req.ContainerName)) throw fail('NOT_FOUND', `Pod ${req.PodUID} has no container ${JSON.stringify(req.ContainerName)}.`);
    const o = req.Opts ?? {};
    const sinceSeconds = o.SinceSeconds || (o.SinceTime ? Math.max(1, Math.ceil((Date.now() - Date.parse(o.SinceTime)) / 1000)) : undefined);
    const name = pod.metadata!.name!;
    if (!o.Follow) {
      let text: string;
      try {
        text = await this.#core.readNamespacedPodLog({
          name, namespace: this.namespace, container: req.ContainerName,
          ...(o.Tail ? { tailLines: o.Tail } : {}), ...(o.Bytes ? { limitBytes: o.Bytes } : {}),
          ...(sinceSeconds ? { sinceSeconds } : {}), ...(o.Timestamps ? { timestamps: true } : {}), ...(o.Previous ? { previous: true } : {}),
        });
      } catch (err) {
        // 400 while the container waits to start: no log yet.
        if (statusOf(err) === 400 && /waiting to start|ContainerCreating|PodInitializing/i.test(messageOf(err))) text = '';
        else throw this.#logError(err);
      }
      return (async function* oneChunk() {
        if (text) yield Buffer.from(text, 'utf8');
      })();
    }
    return this.#follow(name, req.ContainerName, { tailLines: o.Tail, limitBytes: o.Bytes, sinceSeconds, timestamps: o.Timestamps, previous: o.Previous }, signal);
  }

  /** A followed log: the streaming log endpoint, retried while the container has not started. */
  async *#follow(name: string, container: string, o: { tailLines?: number; limitBytes?: number; sinceSeconds?: number; timestamps?: boolean; previous?: boolean }, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const logApi = new Log(this.#kc);
    for (;;) {
      if (signal?.aborted) return;
      const out = new PassThrough();
      let ctrl: AbortController;
      try {
        ctrl = await withDeadline(logApi.log(this.namespace, name, container, out, {
          follow: true,
          ...(o.tailLines ? { tailLines: o.tailLines } : {}), ...(o.limitBytes ? { limitBytes: o.limitBytes } : {}),
          ...(o.sinceSeconds ? { sinceSeconds: o.sinceSeconds } : {}), ...(o.timestamps ? { timestamps: true } : {}), ...(o.previous ? { previous: true } : {}),
        }), 'follow the log', this.#timeoutMs, (late) => late.abort());
      } catch (err) {
        if (statusOf(err) === 400) {
          await sleep(FOLLOW_RETRY_MS, signal);
          continue;
        }
        throw this.#logError(err);
      }
      const stop = () => {
        ctrl.abort();
        out.end();
      };
      signal?.addEventListener('abort', stop, { once: true });
      try {
        for await (const chunk of out) {
          if (signal?.aborted) return;
          yield chunk as Buffer;
        }
      } catch (err) {
        if (signal?.aborted) return;
        throw fail('EXECUTOR_FAILED', 'The log stream from the Kubernetes API server broke off.', { detail: String(err) });
      } finally {
        signal?.removeEventListener('abort', stop);
        ctrl.abort();
      }
      return;
    }
  }

  #logError(err: unknown): HighrateError {
    if (ours(err)) return err;
    const code = statusOf(err);
    if (code === 404) return fail('WORKLOAD_NOT_FOUND', `The pod's log is gone: ${messageOf(err)}`);
    if (code === 400) return fail('BAD_REQUEST', messageOf(err));
    return fail('EXECUTOR_FAILED', `The Kubernetes API server did not return the log: ${messageOf(err)}`, { detail: String(err) });
  }

  async delete(pod: Pod): Promise<void> {
    const uid = String(pod?.metadata?.uid ?? '').toLowerCase();
    if (!uid) return;
    await this.#creating.get(uid)?.catch(() => undefined);
    const known = (await this.#pods(true)).get(uid);
    const name = known?.metadata?.name ?? podName(pod.metadata.name, uid);
    const ns = this.namespace;
    const selector = `${LABEL_EXECUTOR}=${this.name},${LABEL_UID}=${uid}`;
    try {
      await this.#core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: this.#opts.deleteGraceSeconds ?? 5 }).catch((err: unknown) => {
        if (statusOf(err) !== 404) throw err;
      });
      await this.#core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: selector });
      await this.#core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: selector });
    } catch (err) {
      if (ours(err)) throw err;
      throw fail('EXECUTOR_FAILED', `The Kubernetes API server could not delete the pod: ${messageOf(err)}`, { detail: String(err) });
    }
    this.#deleted.add(uid);
    this.#listed = null;
  }

  /** Capacity: the allocatable resources of Ready, schedulable nodes (needs permission to list nodes). */
  async ping(): Promise<PingResponse> {
    let nodes;
    try {
      nodes = await this.#core.listNode();
    } catch (err) {
      if (ours(err)) throw err;
      if (statusOf(err) !== 403) throw fail('EXECUTOR_FAILED', `The Kubernetes API server did not answer: ${messageOf(err)}`, { detail: String(err) });
      // A namespace-scoped service account may not list nodes: reachable, capacity unknown.
      await this.#pods(true);
      return { status: 'capacity unknown: no permission to list nodes' };
    }
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    for (const n of nodes.items ?? []) {
      const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (!ready || n.spec?.unschedulable) continue;
      const a = n.status?.allocatable ?? {};
      try {
        cpu += a.cpu ? parseCpu(a.cpu) : 0;
        memory += a.memory ? parseMemory(a.memory) : 0;
        pods += a.pods ? Number(a.pods) || 0 : 0;
      } catch { /* a node with junk quantities does not count */ }
    }
    if (cpu <= 0) throw fail('EXECUTOR_FAILED', 'The Kubernetes cluster has no Ready, schedulable node.');
    return { resources: { cpu: formatCpu(cpu), memory: formatMemory(memory), pods: String(pods || 110) } };
  }

  async close(): Promise<void> {}
}
