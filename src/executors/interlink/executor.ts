import type { IncomingMessage } from 'node:http';
import { fail } from '../../errors/catalogue.js';
import { goLogStruct } from './wire.js';
import type {
  ConfigMap, ContainerStatus, CreateStruct, Executor, ExecutorCapabilities, LogStruct, PingResponse, Pod, PodCreateRequests, PodStatus, RetrievedPodData, Secret,
} from '../types.js';
import { InterlinkTransport, type TransportOptions } from './transport.js';

export interface InterlinkExecutorOptions extends TransportOptions {
  name: string;
  /**
   * api: the far end is interLink's API, called as the virtual kubelet calls it (PodCreateRequests
   * on /create, DELETE /delete, POST /pinglink). plugin: the far end is a plugin (sidecar),
   * called as interLink calls it (RetrievedPodData on /create, POST /delete, GET /status `[]`).
   */
  target?: 'api' | 'plugin';
  /** What the far end honours; it cannot be asked, so the operator says (default: all). */
  capabilities?: Partial<ExecutorCapabilities>;
}

/** What to ask interLink for, per method, with the VK's session names. */
const CALLS = {
  create: { path: '/create', session: 'CreatePod' },
  status: { path: '/status', session: 'GetStatus' },
  logs: { path: '/getLogs', session: 'GetLogs' },
  delete: { path: '/delete', session: 'DeletePod' },
  ping: { path: '/pinglink', session: 'PingInterLink' },
} as const;

/**
 * Pods on a remote site through interLink (or straight through one of its plugins): the
 * executor contract is interLink's plugin API, so this executor only moves it over HTTP.
 * Nothing is stored locally: after a restart, status of the same UIDs is asked again and the
 * far end answers from its own state.
 */
export class InterlinkExecutor implements Executor {
  readonly name: string;
  readonly kind = 'interlink';
  readonly capabilities: ExecutorCapabilities;
  readonly target: 'api' | 'plugin';
  readonly #http: InterlinkTransport;
  /** Creates of this process, so that a retried create never submits twice (plugins are not all idempotent). */
  readonly #created = new Map<string, Promise<CreateStruct>>();

  constructor(opts: InterlinkExecutorOptions) {
    this.name = opts.name;
    this.target = opts.target ?? 'api';
    this.#http = new InterlinkTransport(opts);
    this.capabilities = { images: true, cpuLimits: true, memoryLimits: true, remoteAddress: true, mountPaths: true, ...opts.capabilities };
  }

  async create(req: RetrievedPodData): Promise<CreateStruct> {
    const uid = req?.pod?.metadata?.uid;
    if (typeof uid !== 'string' || !uid) throw fail('BAD_REQUEST', 'The pod needs metadata.uid.');
    const known = this.#created.get(uid);
    if (known) return known;
    const p = this.#create(req).catch((err: unknown) => {
      this.#created.delete(uid);
      throw err;
    });
    this.#created.set(uid, p);
    return p;
  }

  async #create(req: RetrievedPodData): Promise<CreateStruct> {
    const body = this.target === 'api' ? toPodCreateRequests(req) : req;
    const answer = await this.#http.json<Partial<CreateStruct>>('POST', CALLS.create.path, { session: CALLS.create.session, body });
    if (typeof answer?.PodUID !== 'string' || typeof answer.PodJID !== 'string') {
      throw fail('EXECUTOR_FAILED', `interLink at ${this.#http.describe()} answered /create without PodUID and PodJID.`);
    }
    return { PodUID: answer.PodUID || req.pod.metadata.uid, PodJID: answer.PodJID };
  }

  async status(pods: Pod[]): Promise<PodStatus[]> {
    // An empty list would be a ping on the plugin side, and "the whole cache" on interLink's.
    if (!pods?.length) return [];
    const wanted = new Set(pods.map((p) => p.metadata.uid));
    const answer = await this.#http.json<unknown>('GET', CALLS.status.path, { session: CALLS.status.session, body: pods.map(wirePod) });
    if (answer === null) return [];
    if (!Array.isArray(answer)) throw fail('EXECUTOR_FAILED', `interLink at ${this.#http.describe()} answered /status with something other than a list.`);
    // interLink answers from its cache: only the pods asked for, each once.
    const out = new Map<string, PodStatus>();
    for (const s of answer as Partial<PodStatus>[]) {
      if (typeof s?.UID === 'string' && wanted.has(s.UID) && !out.has(s.UID)) out.set(s.UID, normaliseStatus(s));
    }
    return [...out.values()];
  }

  async logs(req: LogStruct, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const res = await this.#http.call('GET', CALLS.logs.path, { session: CALLS.logs.session, body: goLogStruct(req), signal, stream: !!req.Opts?.Follow });
    return streamBody(res, signal);
  }

  async delete(pod: Pod): Promise<void> {
    // The VK sends DELETE to interLink; interLink sends POST to its plugin.
    const method = this.target === 'api' ? 'DELETE' : 'POST';
    await this.#http.text(method, CALLS.delete.path, { session: CALLS.delete.session, body: wirePod(pod) });
    this.#created.delete(pod.metadata.uid);
  }

  async ping(): Promise<PingResponse> {
    const text = this.target === 'api'
      ? await this.#http.text('POST', CALLS.ping.path, { session: CALLS.ping.session })
      : await this.#http.text('GET', CALLS.status.path, { session: 'PingInterLink', body: [] });
    // Plugins before interLink 0.6.2 answer the ping with a status list or text: healthy, capacity unknown.
    try {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === 'object' && !Array.isArray(body)) return body as PingResponse;
    } catch { /* not JSON */ }
    return {};
  }

  async close(): Promise<void> {
    this.#http.close();
  }
}

/** A pod as the VK sends it: apiVersion and kind set, status phase kept. */
function wirePod(pod: Pod): Pod {
  return { apiVersion: 'v1', kind: 'Pod', ...pod };
}

/** What the VK sends interLink for a pod: every object of the pod once, in the PodCreateRequests lists. */
export function toPodCreateRequests(req: RetrievedPodData): PodCreateRequests {
  const cms = new Map<string, ConfigMap>();
  const secrets = new Map<string, Secret>();
  const projected = new Map<string, ConfigMap>();
  for (const c of req.container ?? []) {
    for (const o of c.configMaps ?? []) cms.set(o.metadata.name, o);
    for (const o of c.secrets ?? []) secrets.set(o.metadata.name, o);
    for (const o of c.projectedvolumemaps ?? []) projected.set(o.metadata.name, o);
  }
  // Go's encoding/json writes nil slices as null and an unset string as "".
  const list = <T>(m: Map<string, T>) => (m.size ? [...m.values()] : null);
  return { pod: wirePod(req.pod), configmaps: list(cms), secrets: list(secrets), projectedvolumesmaps: list(projected), jobscriptURL: '' };
}

/** Go's nil slices arrive as null; the contract has arrays. */
function normaliseStatus(s: Partial<PodStatus>): PodStatus {
  const fix = (l: ContainerStatus[] | null | undefined) => (l ?? []).map((c) => ({ ...c, state: c.state ?? {}, ready: !!c.ready, restartCount: c.restartCount ?? 0, image: c.image ?? '', imageID: c.imageID ?? '' }));
  return { name: s.name ?? '', UID: s.UID!, namespace: s.namespace ?? '', JID: s.JID ?? '', containers: fix(s.containers), initContainers: fix(s.initContainers) };
}

/** The response body as chunks; an abort ends it quietly. */
async function* streamBody(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of res) {
      if (signal?.aborted) return;
      yield chunk as Buffer;
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw fail('EXECUTOR_FAILED', 'The log stream from interLink broke off.', { detail: String(err) });
  } finally {
    res.destroy();
  }
}
