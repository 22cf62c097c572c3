import { needsScope } from '../auth/scopes.js';
import { fail } from '../errors/catalogue.js';
import { sendEmpty, sendJson } from '../http/respond.js';
import type { Router } from '../http/router.js';
import type { Identity } from '../auth/identity.js';
import type { RequestContext } from '../hub/request.js';
import type { ProgressEvent } from '../hub/servers/progress.js';
import type { ClusterRow, ClusterStatus } from '../store/types.js';
import { capacityWarnings } from './capacity.js';
import { clusterModel, stopReason } from './model.js';
import { specOf } from './options.js';
import { optionFields } from './options.js';
import { enabledService, type ClusterService } from './service.js';

const READ = needsScope('read:clusters');
const MANAGE = needsScope('clusters');
const ACCESS = needsScope('access:clusters');
const STOP_WAIT_MS = 10_000;
const KEEPALIVE_MS = 8000;

/**
 * highrate's own cluster API for the portal and the CLI, beside the dask-gateway API: the same
 * operations with richer models (worker counts, failure reasons, adaptive bounds), live dashboard
 * data, and start progress as server-sent events. Authenticated like every hub API (token or
 * session cookie with XSRF).
 */
export function registerClusterRoutes(r: Router<RequestContext>, service: ClusterService | null): void {
  const svc = enabledService(service);
  r.add('GET', '/hub/api/clusters', (ctx) => list(ctx, svc()));
  r.add('POST', '/hub/api/clusters', (ctx) => create(ctx, svc()));
  r.add('GET', '/hub/api/clusters/options', (ctx) => options(ctx, svc()));
  r.add('GET', '/hub/api/clusters/:name', (ctx, p) => get(ctx, svc(), p.name!));
  r.add('DELETE', '/hub/api/clusters/:name', (ctx, p) => stop(ctx, svc(), p.name!));
  r.add('POST', '/hub/api/clusters/:name/scale', (ctx, p) => scale(ctx, svc(), p.name!));
  r.add('POST', '/hub/api/clusters/:name/adapt', (ctx, p) => adapt(ctx, svc(), p.name!));
  r.add('GET', '/hub/api/clusters/:name/dashboard', (ctx, p) => dashboard(ctx, svc(), p.name!));
  r.add('GET', '/hub/api/clusters/:name/progress', (ctx, p) => progress(ctx, svc(), p.name!));
}

async function cluster(ctx: RequestContext, name: string, scope: string): Promise<{ who: Identity; row: ClusterRow }> {
  const who = await ctx.caller();
  const row = await ctx.hub.store.getCluster(name);
  if (!row) throw fail('CLUSTER_NOT_FOUND', `Cluster ${name} not found`);
  const owner = await ctx.hub.store.getUser(row.user);
  if (!who.can(scope, { user: row.user, groups: owner?.groups })) {
    // Someone who may not even read it learns nothing about it.
    if (!who.can(READ, { user: row.user, groups: owner?.groups })) throw fail('CLUSTER_NOT_FOUND', `Cluster ${name} not found`);
    throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${scope}]`);
  }
  return { who, row };
}

async function list(ctx: RequestContext, s: ClusterService): Promise<void> {
  const who = await ctx.caller();
  const all = ctx.url.searchParams.get('all') === '1';
  const raw = ctx.url.searchParams.get('status');
  const statuses = raw ? (raw.split(',').map((x) => x.trim().toUpperCase()) as ClusterStatus[]) : undefined;
  let rows: ClusterRow[];
  if (all) {
    // Everyone's, filtered by what the caller may read (admins: all).
    rows = (await s.list(undefined, statuses)).filter((r) => who.can(READ, { user: r.user }));
  } else {
    await ctx.require(READ, { user: who.name, groups: who.user.groups });
    rows = await s.list(who.name, statuses);
  }
  sendJson(ctx.res, 200, { clusters: rows.map((r) => clusterModel(r, s.live(r.name), s.proxyAddress)) });
}

async function options(ctx: RequestContext, s: ClusterService): Promise<void> {
  const who = await ctx.caller();
  await ctx.require(READ, { user: who.name, groups: who.user.groups });
  sendJson(ctx.res, 200, { cluster_options: optionFields(ctx.hub.config.clusters), proxy_address: s.proxyAddress });
}

async function create(ctx: RequestContext, s: ClusterService): Promise<void> {
  const who = await ctx.caller();
  await ctx.require(MANAGE, { user: who.name, groups: who.user.groups });
  if ((who as { kind?: string }).kind === 'service') throw fail('FORBIDDEN', 'Only users can own clusters.');
  const body = (await ctx.jsonObject()) ?? {};
  const unknown = Object.keys(body).filter((k) => k !== 'cluster_options' && k !== 'workers');
  if (unknown.length) throw fail('BAD_REQUEST', `Unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (expected cluster_options, workers).`);
  const workers = body.workers;
  if (workers !== undefined && !(typeof workers === 'number' && Number.isInteger(workers) && workers >= 0)) throw fail('INVALID_CLUSTER_OPTIONS', 'workers must be a non-negative integer.');
  const row = await s.create(who.user, body.cluster_options ?? {}, { workers: typeof workers === 'number' ? workers : 0 });
  await ctx.audit({ action: 'cluster.create', target: row.name, targetUser: who.user.name, detail: { options: row.options, workers: workers ?? 0 } });
  const after = (await ctx.hub.store.getCluster(row.name)) ?? row;
  const warnings = await capacityWarnings(ctx.hub.executors, specOf(after.config), typeof workers === 'number' ? workers : 0);
  sendJson(ctx.res, 201, { ...clusterModel(after, s.live(after.name), s.proxyAddress), ...(warnings.length ? { warnings } : {}) });
}

async function get(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { row } = await cluster(ctx, name, READ);
  sendJson(ctx.res, 200, clusterModel(row, s.live(row.name), s.proxyAddress));
}

async function stop(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { who, row } = await cluster(ctx, name, MANAGE);
  const stopping = s.stop(row.name, { reason: stopReason(who.name, row.user) });
  await ctx.audit({ action: 'cluster.stop', target: row.name, targetUser: row.user });
  const done = await Promise.race([stopping.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), STOP_WAIT_MS).unref())]);
  sendEmpty(ctx.res, done ? 204 : 202);
}

async function scale(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { row } = await cluster(ctx, name, MANAGE);
  const body = (await ctx.jsonObject()) ?? {};
  const count = body.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw fail('INVALID_CLUSTER_OPTIONS', `Scale expects a non-negative integer, got ${JSON.stringify(count ?? null)?.slice(0, 40)}`);
  const owner = (await ctx.hub.store.getUser(row.user))!;
  const { ok, msg, applied } = await s.scale(row.name, count, owner);
  // What was asked and what was set: a request above max_workers is capped, not refused.
  await ctx.audit({ action: 'cluster.scale', target: row.name, targetUser: row.user, detail: { requested: count, applied } });
  const warnings = await capacityWarnings(ctx.hub.executors, specOf(row.config), applied);
  // `warnings` only when there are some: the answer keeps dask-gateway's {ok, msg} otherwise.
  sendJson(ctx.res, 200, { ok, msg, ...(warnings.length ? { warnings } : {}) });
}

async function adapt(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { row } = await cluster(ctx, name, MANAGE);
  const body = (await ctx.jsonObject()) ?? {};
  for (const k of ['minimum', 'maximum'] as const) {
    const v = body[k];
    if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) throw fail('INVALID_CLUSTER_OPTIONS', `${k} must be a non-negative integer or null.`);
  }
  if (body.active !== undefined && typeof body.active !== 'boolean') throw fail('INVALID_CLUSTER_OPTIONS', 'active must be true or false.');
  const owner = (await ctx.hub.store.getUser(row.user))!;
  const bounds = { minimum: body.minimum as number | undefined, maximum: body.maximum as number | undefined, active: body.active as boolean | undefined };
  const { ok, msg, applied } = await s.adapt(row.name, bounds, owner);
  await ctx.audit({ action: 'cluster.adapt', target: row.name, targetUser: row.user, detail: { requested: bounds, applied } });
  sendJson(ctx.res, 200, { ok, msg });
}

async function dashboard(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { row } = await cluster(ctx, name, ACCESS);
  if (row.status !== 'RUNNING') throw fail('CLUSTER_NOT_RUNNING', `Cluster ${name} is ${row.status.toLowerCase()}.`);
  sendJson(ctx.res, 200, await s.dashboard(row));
}

/** Start progress as JupyterHub streams a server's: replayed, then followed until ready or failed. */
async function progress(ctx: RequestContext, s: ClusterService, name: string): Promise<void> {
  const { row } = await cluster(ctx, name, READ);
  // The start's events: up to and including ready or failed (later ones are about workers).
  const all = s.progress.history(name);
  const end = all.findIndex((e) => e.ready || e.failed);
  const history = end < 0 ? all : all.slice(0, end + 1);
  const stream = () => ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  const write = (e: ProgressEvent) => ctx.res.write(`data: ${JSON.stringify(e)}\n\n`);
  const last = history[history.length - 1];
  const ended = row.status !== 'PENDING' || last?.ready || last?.failed;
  stream();
  for (const e of history) write(e);
  if (ended) {
    if (history.length === 0 || !(last?.ready || last?.failed)) {
      if (row.status === 'RUNNING') write({ progress: 100, ready: true, message: `Cluster ${name} is running`, url: `/hub/clusters/${name}` });
      else write({ progress: 100, failed: row.status === 'FAILED', message: row.failure ? `Cluster ${row.status.toLowerCase()}: ${row.failure}` : `Cluster ${row.status.toLowerCase()}` });
    }
    ctx.res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const keepalive = setInterval(() => ctx.res.write(':keepalive\n\n'), KEEPALIVE_MS);
    const unfollow = s.progress.follow(name, (e) => {
      write(e);
      if (e.ready || e.failed) finish();
    });
    function finish() {
      clearInterval(keepalive);
      unfollow();
      ctx.res.end();
      resolve();
    }
    ctx.req.on('close', finish);
  });
}
