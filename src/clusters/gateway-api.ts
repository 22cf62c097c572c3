import { needsScope } from '../auth/scopes.js';
import { errorBody, fail, HighrateError } from '../errors/catalogue.js';
import { clientIp } from '../hub/audit/index.js';
import { sendEmpty, sendJson } from '../http/respond.js';
import { Router } from '../http/router.js';
import type { Identity } from '../auth/identity.js';
import type { RequestContext } from '../hub/request.js';
import { log, redactUrl } from '../log.js';
import type { ClusterRow, ClusterStatus, UserRow } from '../store/types.js';
import { GatewayAuth } from './gateway-auth.js';
import { gatewayModel, stopReason } from './model.js';
import { optionFields, specOf } from './options.js';
import { capacityWarnings } from './capacity.js';
import { enabledService, type ClusterService } from './service.js';

/** Where the dask-gateway API is mounted (a JupyterHub service's URL prefix). */
export const GATEWAY_PREFIX = '/services/dask-gateway';
/** The dask-gateway server version whose API this follows (reference: dask-gateway 2026.3.0 routes.py). */
export const GATEWAY_API_VERSION = '2026.3.0';

const READ = needsScope('read:clusters');
const MANAGE = needsScope('clusters');
const ACCESS = needsScope('access:clusters');
const STOP_WAIT_MS = 10_000;
const STATUSES: readonly ClusterStatus[] = ['PENDING', 'RUNNING', 'STOPPING', 'STOPPED', 'FAILED'];

type GatewayHandler = (ctx: RequestContext, params: Record<string, string>, clusters: ClusterService, auth: GatewayAuth) => Promise<void>;


/**
 * The dask-gateway REST API (dask-gateway-server's routes.py) under /services/dask-gateway/, so
 * `dask_gateway.Gateway()` in a notebook works unchanged: options, list, create, get (`?wait`),
 * scale, adapt, delete, health and version. Errors are dask-gateway's `{"error": reason}` with
 * its statuses (401 without credentials, 403, 404, 409, 422), plus highrate's `status`, `message`
 * and `code`.
 */
export function createGatewayHandler(service: ClusterService | null): (ctx: RequestContext) => Promise<void> {
  const serviceOf = enabledService(service);
  const auth = new GatewayAuth();
  const r = new Router<RequestContext>();
  const add = (method: string, path: string, h: GatewayHandler) => r.add(method, GATEWAY_PREFIX + path, (ctx, params) => h(ctx, params, serviceOf(), auth));
  add('GET', '/api/health', health);
  add('GET', '/api/version', version);
  add('GET', '/api/v1/options', options);
  add('GET', '/api/v1/clusters/', list);
  add('POST', '/api/v1/clusters/', create);
  add('GET', '/api/v1/clusters/:name', get);
  add('DELETE', '/api/v1/clusters/:name', stop);
  add('POST', '/api/v1/clusters/:name/scale', scale);
  add('POST', '/api/v1/clusters/:name/adapt', adapt);

  return async function handleGateway(ctx) {
    try {
      serviceOf();
      const m = r.match(ctx.method, ctx.url.pathname);
      if (!m) throw fail('NOT_FOUND', `No dask-gateway endpoint at ${ctx.url.pathname.slice(0, 200)}`);
      await m.handler(ctx, m.params);
    } catch (err) {
      if (err instanceof HighrateError && (err.status === 403 || err.code === 'QUOTA_EXCEEDED')) {
        // As the hub's own API does for refusals (http-app.ts); recording never fails the answer.
        const who = await ctx.identity().catch(() => null);
        await ctx.hub.audit.denied({
          action: err.code === 'QUOTA_EXCEEDED' ? 'quota.exceeded' : 'request.denied', actor: who, code: err.code,
          target: `${ctx.method} ${ctx.url.pathname.slice(0, 200)}`, ip: clientIp(ctx.req), detail: { message: err.message.slice(0, 300) },
        }).catch(() => undefined);
      }
      sendGatewayError(ctx, err);
    }
  };
}

/** dask-gateway's error shape `{"error": reason}`, with the catalogue's fields beside it. */
function sendGatewayError(ctx: RequestContext, err: unknown): void {
  const body = errorBody(err);
  if (body.status >= 500) log.warn('dask-gateway API request failed', { method: ctx.method, url: redactUrl(ctx.req.url ?? ''), error: String((err as Error)?.stack ?? err) });
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  sendJson(ctx.res, body.status, { error: body.message, ...body });
}

async function health(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, { status: 'pass' });
}

async function version(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, { version: GATEWAY_API_VERSION, highrate: ctx.hub.version });
}

/** The caller as a user (services own no clusters), holding `scope` on their own clusters. */
async function callerUser(ctx: RequestContext, auth: GatewayAuth, scope: string): Promise<{ who: Identity; user: UserRow }> {
  const who = await auth.identify(ctx);
  if (!who.can(scope, { user: who.name, groups: who.user.groups })) {
    throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${scope}]`);
  }
  return { who, user: who.user };
}

/** The cluster, with the caller holding `scope` on it (its owner's clusters), else 404 / 403. */
async function clusterFor(ctx: RequestContext, auth: GatewayAuth, name: string, scope: string, verb: string): Promise<{ who: Identity; row: ClusterRow }> {
  const who = await auth.identify(ctx);
  const row = await ctx.hub.store.getCluster(name);
  if (!row) throw fail('CLUSTER_NOT_FOUND', `Cluster ${name} not found`);
  const owner = await ctx.hub.store.getUser(row.user);
  if (!who.can(scope, { user: row.user, groups: owner?.groups })) {
    throw fail('FORBIDDEN', `User ${who.name} lacks permissions to ${verb} cluster ${name}`);
  }
  return { who, row };
}

async function options(ctx: RequestContext, _p: Record<string, string>, _c: ClusterService, auth: GatewayAuth): Promise<void> {
  await callerUser(ctx, auth, READ);
  sendJson(ctx.res, 200, { cluster_options: optionFields(ctx.hub.config.clusters) });
}

async function list(ctx: RequestContext, _p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const { who, user } = await callerUser(ctx, auth, READ);
  const raw = ctx.url.searchParams.get('status');
  let statuses: ClusterStatus[] = ['PENDING', 'RUNNING'];
  if (raw !== null) {
    statuses = raw.split(',').map((s) => {
      const up = s.trim().toUpperCase() as ClusterStatus;
      if (!STATUSES.includes(up)) throw fail('INVALID_CLUSTER_OPTIONS', `${JSON.stringify(s.slice(0, 40))} is not a valid ClusterStatus`);
      return up;
    });
  }
  const rows = await clusters.list(user.name, statuses);
  const credentials = who.can(ACCESS, { user: user.name, groups: user.groups });
  const out: Record<string, unknown> = {};
  for (const row of rows) out[row.name] = gatewayModel(row, { credentials });
  sendJson(ctx.res, 200, out);
}

async function create(ctx: RequestContext, _p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const { who, user } = await callerUser(ctx, auth, MANAGE);
  if ((who as { kind?: string }).kind === 'service') throw fail('FORBIDDEN', 'Only users can own clusters.');
  if (user.blocked) throw fail('FORBIDDEN', `${user.name} is blocked.`);
  const body = await ctx.jsonObject();
  const row = await clusters.create(user, body?.cluster_options ?? {});
  await ctx.audit({ action: 'cluster.create', target: row.name, targetUser: user.name, detail: { options: row.options, via: 'dask-gateway' } });
  sendJson(ctx.res, 201, { name: row.name });
}

/** dask-gateway's `_parse_query_flag`: absent → false, empty → true, else int(value) != 0. */
function queryFlag(v: string | null): boolean {
  if (v === null) return false;
  if (v === '') return true;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) && n !== 0;
}

async function get(ctx: RequestContext, p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const { who } = await clusterFor(ctx, auth, p.name!, READ, 'view');
  const row = queryFlag(ctx.url.searchParams.get('wait')) ? await clusters.waitWhilePending(p.name!) : await ctx.hub.store.getCluster(p.name!);
  if (!row) throw fail('CLUSTER_NOT_FOUND', `Cluster ${p.name} not found`);
  const owner = await ctx.hub.store.getUser(row.user);
  sendJson(ctx.res, 200, gatewayModel(row, { credentials: who.can(ACCESS, { user: row.user, groups: owner?.groups }) }));
}

async function stop(ctx: RequestContext, p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const who = await auth.identify(ctx);
  const row = await ctx.hub.store.getCluster(p.name!);
  // As dask-gateway: deleting what does not exist is not an error.
  if (row) {
    const owner = await ctx.hub.store.getUser(row.user);
    if (!who.can(MANAGE, { user: row.user, groups: owner?.groups })) throw fail('FORBIDDEN', `User ${who.name} lacks permissions to stop cluster ${p.name}`);
    const stopping = clusters.stop(row.name, { reason: stopReason(who.name, row.user) });
    await ctx.audit({ action: 'cluster.stop', target: row.name, targetUser: row.user, detail: { via: 'dask-gateway' } });
    await Promise.race([stopping, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
  }
  sendEmpty(ctx.res, 204);
}

function nonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

async function scale(ctx: RequestContext, p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const { row } = await clusterFor(ctx, auth, p.name!, MANAGE, 'scale');
  const body = (await ctx.jsonObject()) ?? {};
  const count = body.count;
  if (!nonNegativeInt(count)) throw fail('INVALID_CLUSTER_OPTIONS', `Scale expects a non-negative integer, got ${JSON.stringify(count ?? null)?.slice(0, 40)}`);
  const owner = (await ctx.hub.store.getUser(row.user))!;
  const { ok, msg, applied } = await clusters.scale(row.name, count, owner);
  // What was asked and what was set: a request above max_workers is capped, not refused.
  await ctx.audit({ action: 'cluster.scale', target: row.name, targetUser: row.user, detail: { requested: count, applied, via: 'dask-gateway' } });
  // dask-gateway's client shows `msg` as a GatewayWarning when `ok` is false: the notebook sees it.
  const warnings = await capacityWarnings(ctx.hub.executors, specOf(row.config), applied);
  sendJson(ctx.res, 200, warnings.length ? { ok: false, msg: [msg, ...warnings].filter(Boolean).join(' ') } : { ok, msg });
}

async function adapt(ctx: RequestContext, p: Record<string, string>, clusters: ClusterService, auth: GatewayAuth): Promise<void> {
  const { row } = await clusterFor(ctx, auth, p.name!, MANAGE, 'adapt');
  const body = (await ctx.jsonObject()) ?? {};
  for (const k of ['minimum', 'maximum'] as const) {
    if (body[k] !== undefined && body[k] !== null && !nonNegativeInt(body[k])) throw fail('INVALID_CLUSTER_OPTIONS', `${k} must be a non-negative integer or null.`);
  }
  if (body.active !== undefined && typeof body.active !== 'boolean') throw fail('INVALID_CLUSTER_OPTIONS', 'active must be true or false.');
  const owner = (await ctx.hub.store.getUser(row.user))!;
  const bounds = { minimum: body.minimum as number | null | undefined, maximum: body.maximum as number | null | undefined, active: body.active as boolean | undefined };
  const { ok, msg, applied } = await clusters.adapt(row.name, bounds, owner);
  await ctx.audit({ action: 'cluster.adapt', target: row.name, targetUser: row.user, detail: { requested: bounds, applied, via: 'dask-gateway' } });
  sendJson(ctx.res, 200, { ok, msg });
}
