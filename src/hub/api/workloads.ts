import type { WorkloadContainer, WorkloadModel } from '../../contracts/resources.js';
import type { Target } from '../../auth/scopes.js';
import { tokenFromAuthorization } from '../../auth/tokens.js';
import { fail, HighrateError } from '../../errors/catalogue.js';
import type { ContainerStatus, Pod, PodStatus } from '../../executors/types.js';
import { sendEmpty, sendJson } from '../../http/respond.js';
import type { ClusterStatus } from '../../store/types.js';
import type { Identity } from '../../auth/identity.js';
import type { Router } from '../../http/router.js';
import type { RequestContext } from '../request.js';
import { parseAddress } from '../servers/remote-address.js';

/**
 * `POST /hub/api/workloads/{pod uid}/address` with `{host, port}`: a workload started on a node
 * the hub could not predict (a batch job) says where it listens. Authenticated by the workload's
 * own callback token (`Authorization: token ...`), which no user holds; 204 when recorded.
 */
async function reportAddress(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const token = tokenFromAuthorization(ctx.req.headers.authorization);
  if (!token) throw fail('UNAUTHENTICATED', 'A workload token is required.');
  const uid = params.uid ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(uid)) throw fail('FORBIDDEN', 'Invalid workload token.');
  const addr = parseAddress(await ctx.jsonObject());
  await ctx.hub.servers.reportAddress(uid, token, addr);
  sendEmpty(ctx.res, 204);
}

export function registerWorkloadRoutes(r: Router<RequestContext>): void {
  r.add('POST', '/hub/api/workloads/:uid/address', reportAddress);
  r.add('GET', '/hub/api/workloads', listWorkloads);
  r.add('GET', '/hub/api/workloads/:uid/logs', workloadLogs);
}

// ---- What runs where: the pods the hub tracks, and their logs ----

interface Tracked {
  model: WorkloadModel;
  pod: Pod;
  /** What a caller needs to read its logs. */
  access: { scope: string; target: Target };
}

/** A status call not answered after this long leaves the containers empty (the list still answers). */
const STATUS_TIMEOUT_MS = 5000;
const ACTIVE_CLUSTERS: ClusterStatus[] = ['PENDING', 'RUNNING', 'STOPPING'];

function isPod(v: unknown): v is Pod {
  const p = v as Pod | undefined;
  return !!p && typeof p === 'object' && typeof p.metadata?.uid === 'string' && Array.isArray(p.spec?.containers);
}

/** The pods the caller may read: their servers (read:servers) and their clusters' pods (read:clusters). */
async function tracked(ctx: RequestContext, who: Identity): Promise<Tracked[]> {
  const { store, executors } = ctx.hub;
  const groups = new Map<string, Promise<readonly string[]>>();
  const groupsOf = (user: string) => {
    let g = groups.get(user);
    if (!g) groups.set(user, (g = store.getUser(user).then((u) => u?.groups ?? [])));
    return g;
  };
  const out: Tracked[] = [];
  const kindOf = (ex: string) => executors.get(ex)?.kind ?? null;
  for (const row of await store.listActiveServers()) {
    const pod = row.spawnState?.pod;
    if (!row.executor || !isPod(pod)) continue;
    const target = { user: row.user, server: row.name, groups: await groupsOf(row.user) };
    if (!who.can('read:servers', target)) continue;
    out.push({
      model: { uid: pod.metadata.uid, owner: row.user, role: 'server', name: row.name, executor: row.executor, kind: kindOf(row.executor), state: row.state, started: row.started, containers: [] },
      pod,
      access: { scope: 'access:servers', target },
    });
  }
  if (typeof store.listClusters === 'function') {
    for (const c of await store.listClusters({ statuses: ACTIVE_CLUSTERS })) {
      const target = { user: c.user, groups: await groupsOf(c.user) };
      if (!who.can('read:clusters', target)) continue;
      // The cluster service's checkpoint: read structurally, so its other fields may change freely.
      const state = (c.state ?? {}) as { scheduler?: { executor?: unknown; pod?: unknown } | null; workers?: { executor?: unknown; pod?: unknown; created?: unknown }[] };
      const parts: { role: 'scheduler' | 'worker'; executor: unknown; pod: unknown; started: unknown }[] = [
        ...(state.scheduler ? [{ role: 'scheduler' as const, executor: state.scheduler.executor, pod: state.scheduler.pod, started: c.created }] : []),
        ...(Array.isArray(state.workers) ? state.workers.map((w) => ({ role: 'worker' as const, executor: w?.executor, pod: w?.pod, started: w?.created })) : []),
      ];
      for (const p of parts) {
        if (typeof p.executor !== 'string' || !isPod(p.pod)) continue;
        out.push({
          model: { uid: p.pod.metadata.uid, owner: c.user, role: p.role, name: c.name, executor: p.executor, kind: kindOf(p.executor), state: c.status, started: typeof p.started === 'string' ? p.started : null, containers: [] },
          pod: p.pod,
          access: { scope: 'access:clusters', target },
        });
      }
    }
  }
  return out;
}

function summarise(st: PodStatus): WorkloadContainer[] {
  const one = (c: ContainerStatus, init: boolean): WorkloadContainer => {
    const s = c.state ?? {};
    if (s.terminated) return { name: c.name, init, state: 'terminated', exitCode: s.terminated.exitCode, ...(s.terminated.reason ? { reason: s.terminated.reason } : {}), ...(s.terminated.message ? { message: s.terminated.message } : {}) };
    if (s.running) return { name: c.name, init, state: 'running' };
    if (s.waiting) return { name: c.name, init, state: 'waiting', ...(s.waiting.reason ? { reason: s.waiting.reason } : {}), ...(s.waiting.message ? { message: s.waiting.message } : {}) };
    return { name: c.name, init, state: 'unknown' };
  };
  return [...st.initContainers.map((c) => one(c, true)), ...st.containers.map((c) => one(c, false))];
}

/** Fills in live container states: one status call per executor, bounded in time. */
async function withStatuses(ctx: RequestContext, items: Tracked[]): Promise<void> {
  const byExecutor = new Map<string, Tracked[]>();
  for (const t of items) byExecutor.set(t.model.executor, [...(byExecutor.get(t.model.executor) ?? []), t]);
  await Promise.all([...byExecutor].map(async ([name, list]) => {
    const ex = ctx.hub.executors.get(name);
    if (!ex) {
      for (const t of list) t.model.statusError = `The executor "${name}" is not configured.`;
      return;
    }
    try {
      const statuses = await Promise.race([
        ex.status(list.map((t) => t.pod)),
        new Promise<never>((_, reject) => setTimeout(() => reject(fail('EXECUTOR_FAILED', `The executor "${name}" did not answer within ${STATUS_TIMEOUT_MS / 1000} s.`)), STATUS_TIMEOUT_MS).unref()),
      ]);
      const byUid = new Map(statuses.map((s) => [s.UID, s]));
      for (const t of list) {
        const st = byUid.get(t.model.uid);
        if (st) t.model.containers = summarise(st);
        else t.model.statusError = 'The executor does not know this pod (it ended or was removed).';
      }
    } catch (err) {
      const message = err instanceof HighrateError ? err.message : 'The executor failed to report statuses.';
      for (const t of list) t.model.statusError = message;
    }
  }));
}

/**
 * `GET /hub/api/workloads`: the pods the hub tracks, with owner, role, executor, state and live
 * container states. Admins see all; others see what their scopes let them read (their own).
 */
async function listWorkloads(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  const items = await tracked(ctx, who);
  await withStatuses(ctx, items);
  const models = items.map((t) => t.model).sort((a, b) => (a.owner + a.name + a.role).localeCompare(b.owner + b.name + b.role) || a.uid.localeCompare(b.uid));
  sendJson(ctx.res, 200, { workloads: models });
}

/**
 * `GET /hub/api/workloads/{uid}/logs?container=&tail=N&follow=1`: a container's log as text,
 * streamed (and kept open while following). Logs can hold secrets (a notebook prints its URL
 * with its token), so reading them needs access to the workload: `access:servers` for a server,
 * `access:clusters` for a cluster's pods. Pods the caller may not even read answer 404, so their
 * existence does not leak.
 */
async function workloadLogs(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const who = await ctx.caller();
  const uid = params.uid ?? '';
  const item = (await tracked(ctx, who)).find((t) => t.model.uid === uid);
  if (!item) throw fail('WORKLOAD_NOT_FOUND', `No workload ${JSON.stringify(uid.slice(0, 64))}.`);
  await ctx.require(item.access.scope, item.access.target);
  const ex = ctx.hub.executors.get(item.model.executor);
  if (!ex) throw fail('EXECUTOR_FAILED', `The executor "${item.model.executor}" is not configured.`);
  const names = [...(item.pod.spec.containers ?? []), ...(item.pod.spec.initContainers ?? [])].map((c) => c.name);
  const container = ctx.url.searchParams.get('container') || names[0]!;
  if (!names.includes(container)) throw fail('NOT_FOUND', `The workload has no container ${JSON.stringify(container.slice(0, 64))} (it has ${names.join(', ')}).`);
  const tail = ctx.intParam('tail', 0, 0, 1_000_000);
  const followRaw = ctx.url.searchParams.get('follow');
  if (followRaw !== null && !['', '0', '1', 'true', 'false'].includes(followRaw)) throw fail('BAD_REQUEST', 'follow must be 1 or 0.');
  const follow = followRaw === '1' || followRaw === 'true';
  const ac = new AbortController();
  ctx.res.on('close', () => ac.abort());
  const stream = await ex.logs({
    Namespace: item.pod.metadata.namespace ?? 'default', PodUID: uid, PodName: item.pod.metadata.name, ContainerName: container,
    Opts: { ...(tail ? { Tail: tail } : {}), ...(follow ? { Follow: true } : {}) },
  }, ac.signal);
  ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-accel-buffering': 'no' });
  if (follow) ctx.res.flushHeaders();
  try {
    for await (const chunk of stream) {
      if (ctx.res.destroyed) break;
      if (!ctx.res.write(chunk)) await new Promise<void>((resolve) => { ctx.res.once('drain', resolve); ctx.res.once('close', resolve); });
    }
  } finally {
    ac.abort();
  }
  ctx.res.end();
}
