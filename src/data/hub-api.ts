import { needsScope } from '../auth/scopes.js';
import { fail } from '../errors/catalogue.js';
import { sendEmpty, sendJson } from '../http/respond.js';
import type { Router } from '../http/router.js';
import { dataServiceFor, type DataService } from './service.js';
import type { HubPart } from '../hub/parts.js';
import type { RequestContext } from '../hub/request.js';

const READ = needsScope('read:data');
const WRITE = needsScope('write:data');

/**
 * The data API (`/hub/api/data/…`): Rucio through the hub, as the caller's Rucio account.
 * DIDs travel as `scope:name`, percent-encoded in paths. Errors: DATA_NOT_FOUND (404),
 * DATA_QUOTA_EXCEEDED (409), DATA_UPSTREAM (502), each saying what to do.
 */
export function registerDataRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/data', (ctx) => info(ctx));
  r.add('GET', '/hub/api/data/search', (ctx) => search(ctx));
  r.add('GET', '/hub/api/data/dids/:did', (ctx, p) => did(ctx, p.did!));
  r.add('GET', '/hub/api/data/dids/:did/replicas', (ctx, p) => replicas(ctx, p.did!));
  r.add('GET', '/hub/api/data/dids/:did/files', (ctx, p) => files(ctx, p.did!));
  r.add('GET', '/hub/api/data/rules', (ctx) => rules(ctx));
  r.add('POST', '/hub/api/data/rules', (ctx) => stage(ctx));
  r.add('GET', '/hub/api/data/rules/:id', (ctx, p) => rule(ctx, p.id!));
  r.add('DELETE', '/hub/api/data/rules/:id', (ctx, p) => deleteRule(ctx, p.id!));
  r.add('GET', '/hub/api/data/quota', (ctx) => quota(ctx));
}

/** The data part as the hub takes it: its API routes (the service comes from the config). */
export function dataPart(): HubPart {
  return { registerApi: registerDataRoutes };
}

/** The caller, holding `scope` on their own data, and the service; 404 when Rucio is not configured. */
async function caller(ctx: RequestContext, scope: string): Promise<{ user: string; svc: DataService }> {
  const svc = dataServiceFor(ctx.hub.config);
  const who = await ctx.caller();
  if (!svc) throw fail('NOT_FOUND', 'No Rucio is configured on this hub (data.rucio in its config).');
  await ctx.require(scope, { user: who.name, groups: who.user.groups });
  return { user: who.name, svc };
}

async function info(ctx: RequestContext): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  const c = svc.config;
  sendJson(ctx.res, 200, { rucio_url: c.url, vo: c.vo, facility_rse: c.facilityRse, account: svc.accountOf(user), schemes: c.schemes, auth: c.auth });
}

async function search(ctx: RequestContext): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  const q = ctx.url.searchParams.get('did') ?? ctx.url.searchParams.get('q');
  if (!q) throw fail('BAD_REQUEST', 'Give the DIDs to search as ?did=scope:pattern, e.g. data:*2024*');
  const type = ctx.url.searchParams.get('type') ?? 'collection';
  const limit = ctx.intParam('limit', 200, 1, 1000);
  sendJson(ctx.res, 200, { dids: await svc.search(user, q, type, limit) });
}

async function did(ctx: RequestContext, text: string): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, await svc.did(user, text));
}

async function replicas(ctx: RequestContext, text: string): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, await svc.replicas(user, text));
}

async function files(ctx: RequestContext, text: string): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, await svc.fileUrls(user, text));
}

async function rules(ctx: RequestContext): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, { rules: await svc.rules(user) });
}

async function stage(ctx: RequestContext): Promise<void> {
  const { user, svc } = await caller(ctx, WRITE);
  const body = (await ctx.jsonObject()) ?? {};
  if (typeof body.did !== 'string') throw fail('BAD_REQUEST', 'Give the data to make available as {"did": "scope:name"}.');
  const lifetime = body.lifetime;
  if (lifetime !== undefined && lifetime !== null && !(Number.isInteger(lifetime) && (lifetime as number) > 0)) throw fail('BAD_REQUEST', 'lifetime is a whole number of seconds > 0.');
  const { created, rule } = await svc.stage(user, body.did, (lifetime as number | null | undefined) ?? undefined);
  await ctx.audit({ action: 'data.stage', target: rule.did, targetUser: user, detail: { rule: rule.id, rse: rule.rse_expression, created } });
  sendJson(ctx.res, created ? 201 : 200, rule);
}

async function rule(ctx: RequestContext, id: string): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, await svc.rule(user, id));
}

async function deleteRule(ctx: RequestContext, id: string): Promise<void> {
  const { user, svc } = await caller(ctx, WRITE);
  await svc.deleteRule(user, id);
  await ctx.audit({ action: 'data.rule.delete', target: id, targetUser: user });
  sendEmpty(ctx.res, 204);
}

async function quota(ctx: RequestContext): Promise<void> {
  const { user, svc } = await caller(ctx, READ);
  sendJson(ctx.res, 200, await svc.quota(user));
}
