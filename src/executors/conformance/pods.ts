import { randomUUID } from 'node:crypto';
import type { ConfigMap, Container, Executor, Pod, PodSpec, PodStatus, RetrievedPodData, Secret } from '../types.js';

/** The namespace of every conformance pod. */
export const NAMESPACE = 'highrate-conformance';

/** Objects a conformance pod carries. */
export interface PodObjectsInput { configMaps?: ConfigMap[]; secrets?: Secret[] }

/**
 * A pod as interLink hands it to a plugin: fresh lowercase UUID (interLink's /getLogs insists),
 * every ConfigMap/Secret listed for every container (interLink lists per container what it uses).
 */
export function conformancePod(prefix: string, spec: PodSpec, objs: PodObjectsInput = {}): RetrievedPodData {
  const uid = randomUUID();
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${prefix}-${uid.slice(0, 8)}`, namespace: NAMESPACE, uid, labels: { 'app.kubernetes.io/part-of': 'highrate-conformance' } },
    spec: { restartPolicy: 'Never', ...spec },
  };
  const entries = [...(spec.initContainers ?? []), ...spec.containers].map((c) => ({
    name: c.name,
    configMaps: objs.configMaps ?? null,
    secrets: objs.secrets ?? null,
    projectedvolumemaps: null,
    emptyDirs: null,
  }));
  return { pod, container: entries };
}

/** A container running a POSIX sh script (busybox and every HPC node have /bin/sh). */
export function shContainer(name: string, image: string, script: string, extra: Partial<Container> = {}): Container {
  return { name, image, command: ['/bin/sh', '-c', script], ...extra };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls status until `pred` holds; on timeout the error shows the last status seen. */
export async function waitForStatus(ex: Executor, pod: Pod, what: string, pred: (st: PodStatus) => boolean, timeoutMs: number): Promise<PodStatus> {
  const until = Date.now() + timeoutMs;
  let last: PodStatus | undefined;
  for (;;) {
    [last] = await ex.status([pod]);
    if (last && pred(last)) return last;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last status: ${JSON.stringify(last ?? null)}`);
    await sleep(100);
  }
}

/** The named container's status (app or init). */
export function containerOf(st: PodStatus, name: string) {
  return [...st.containers, ...st.initContainers].find((c) => c.name === name);
}

/** Status predicate: the named container has terminated. */
export const terminated = (name: string) => (st: PodStatus) => !!containerOf(st, name)?.state.terminated;
/** Status predicate: the named container runs. */
export const running = (name: string) => (st: PodStatus) => !!containerOf(st, name)?.state.running;

/** All of a log stream as text. */
export async function readAll(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** RFC 3339 as Kubernetes writes it (seconds, optional fraction, Z or offset). */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
