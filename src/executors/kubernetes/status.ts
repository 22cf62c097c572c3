import type { V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ContainerStatus, PodStatus } from '../types.js';
import { ANNOTATION_NAME, ANNOTATION_NAMESPACE, LABEL_UID } from './manifests.js';

/**
 * A pod as the API server reports it → interLink's PodStatus, under the highrate identity the
 * pod was created with (name, namespace, UID from its annotations and label; JID is the
 * Kubernetes pod name). Container statuses are Kubernetes' own, so they map one to one; times
 * (Date objects once the client has parsed them) become RFC 3339 seconds. Containers without a
 * status yet wait: "Pending" with the scheduler's message while unscheduled (the hub shows it
 * as a queue wait), else "ContainerCreating"/"PodInitializing". A pod that failed as a whole
 * (evicted, deadline) terminates the containers that have no state of their own.
 */

type Time = Date | string | undefined;

function rfc3339(t: Time): string | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(ms) ? new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z') : undefined;
}

function state(s: V1ContainerState | undefined): ContainerStatus['state'] {
  if (s?.terminated) {
    const t = s.terminated;
    return {
      terminated: {
        exitCode: t.exitCode,
        ...(t.signal !== undefined ? { signal: t.signal } : {}),
        ...(t.reason ? { reason: t.reason } : {}),
        ...(t.message ? { message: t.message } : {}),
        ...(rfc3339(t.startedAt) ? { startedAt: rfc3339(t.startedAt) } : {}),
        ...(rfc3339(t.finishedAt) ? { finishedAt: rfc3339(t.finishedAt) } : {}),
      },
    };
  }
  if (s?.running) return { running: rfc3339(s.running.startedAt) ? { startedAt: rfc3339(s.running.startedAt) } : {} };
  if (s?.waiting) return { waiting: { ...(s.waiting.reason ? { reason: s.waiting.reason } : {}), ...(s.waiting.message ? { message: s.waiting.message } : {}) } };
  return { waiting: { reason: 'ContainerCreating' } };
}

function fromK8s(c: V1ContainerStatus): ContainerStatus {
  return {
    name: c.name,
    state: state(c.state),
    ...(c.lastState && (c.lastState.running || c.lastState.terminated || c.lastState.waiting) ? { lastState: state(c.lastState) } : {}),
    ready: !!c.ready,
    restartCount: c.restartCount ?? 0,
    image: c.image ?? '',
    imageID: c.imageID ?? '',
    ...(c.started !== undefined ? { started: c.started } : {}),
  };
}

/** The highrate UID of a pod this executor created (its label), or undefined. */
export function uidOf(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[LABEL_UID];
}

/** The PodStatus of one Kubernetes pod; `notes` are appended to waiting messages (what the executor changed). */
export function podStatusOf(pod: V1Pod, uid: string, notes: string[] = []): PodStatus {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  const unschedulable = scheduled?.status === 'False';
  const failed = status.phase === 'Failed';
  const initDone = (status.initContainerStatuses ?? []).every((c) => c.state?.terminated?.exitCode === 0);

  function build(names: string[], statuses: V1ContainerStatus[] | undefined, init: boolean): ContainerStatus[] {
    const byName = new Map((statuses ?? []).map((c) => [c.name, c]));
    const images = new Map([...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => [c.name, c.image ?? '']));
    return names.map((name) => {
      const k = byName.get(name);
      if (k) return fromK8s(k);
      const base = { name, image: images.get(name) ?? '', imageID: '', restartCount: 0, ready: false };
      if (failed) {
        return { ...base, state: { terminated: { exitCode: 1, reason: status.reason ?? 'Error', ...(status.message ? { message: status.message } : {}) } } };
      }
      const message = [
        ...(unschedulable && scheduled?.message ? [scheduled.message] : []),
        ...notes,
      ].join('; ');
      const reason = unschedulable ? 'Pending' : init || !initDone ? 'PodInitializing' : 'ContainerCreating';
      return { ...base, state: { waiting: { reason, ...(message ? { message } : {}) } } };
    });
  }

  return {
    name: pod.metadata?.annotations?.[ANNOTATION_NAME] ?? pod.metadata?.name ?? '',
    UID: uid,
    namespace: pod.metadata?.annotations?.[ANNOTATION_NAMESPACE] ?? pod.metadata?.namespace ?? '',
    JID: pod.metadata?.name ?? '',
    containers: build((spec?.containers ?? []).map((c) => c.name), status.containerStatuses, false),
    initContainers: build((spec?.initContainers ?? []).map((c) => c.name), status.initContainerStatuses, true),
  };
}
