import { needsScope } from '../../auth/scopes.js';
import { safeEqual, tokenFromAuthorization } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { resolveCredential } from '../../auth/identity.js';
import { checkServerName, checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';
import { profileModel } from '../servers/options.js';
import { isClusterRouteServer } from '../../contracts/cluster-routes.js';
import type { ServerRow } from '../../store/types.js';

/**
 * The JupyterHub version whose REST API highrate answers as (`GET /hub/api` and the
 * X-JupyterHub-Version header). 4.1: the models and endpoints are 4.1's; of later versions highrate
 * has only additions a 4.1 client never meets (5.0's `token_id`, 6.0's `GET …/servers/{name}`,
 * `user_options` body and `start:servers`), and not 5.0's `full_url`, `user_info`, sharing or sorting,
 * which a client told "5.x" may rely on. See docs/api.md.
 */
export const JUPYTERHUB_API_VERSION = '4.1.6';
const ACTIVITY = needsScope('users:activity');
const FUTURE_SLACK_MS = 60 * 60 * 1000;

async function root(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, { version: JUPYTERHUB_API_VERSION, highrate: ctx.hub.version });
}

/** highrate's extension: the profiles the caller may start, as the start form shows them. */
async function profiles(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  const { config, executors } = ctx.hub;
  const quotaProfiles = ctx.hub.quota.limitsOf(who.user).profiles?.value;
  const quotaExecutors = ctx.hub.quota.limitsOf(who.user).executors?.value;
  const list = config.profiles
    .filter((p) => p.allowedGroups.length === 0 || p.allowedGroups.some((g) => who.user.groups.includes(g)))
    .filter((p) => (!quotaProfiles || quotaProfiles.includes(p.name)) && (!quotaExecutors || quotaExecutors.includes(p.executor)))
    .map((p) => profileModel(p, executors.get(p.executor)?.capabilities.images ?? false));
  sendJson(ctx.res, 200, { named_servers: config.hub.allowNamedServers, named_server_limit: config.hub.namedServerLimitPerUser, profiles: list });
}

/**
 * The proxy's edge check: may this credential use this user's server? Authenticated by the
 * proxy's token; the answer is cached by the proxy (allowed 60 s, denied 5 s).
 */
async function authorize(ctx: RequestContext): Promise<void> {
  const presented = tokenFromAuthorization(ctx.req.headers.authorization);
  if (!presented || !safeEqual(presented, ctx.hub.proxyToken)) throw fail('FORBIDDEN', 'Only the proxy may call this endpoint.');
  const body = await ctx.jsonObject();
  const cred = body?.credential as { kind?: unknown; value?: unknown } | undefined;
  if (!cred || (cred.kind !== 'cookie' && cred.kind !== 'token') || typeof cred.value !== 'string' || typeof body!.user !== 'string' || typeof (body!.server ?? '') !== 'string') {
    throw fail('BAD_REQUEST', 'Body must be {credential: {kind, value}, user, server}.');
  }
  const who = await resolveCredential(ctx.hub.store, { kind: cred.kind, value: cred.value }, new Date(), ctx.hub.rbac);
  if (!who) return sendJson(ctx.res, 200, { authenticated: false, allowed: false });
  const owner = await ctx.hub.store.getUser(body!.user);
  // A cluster's dashboard route names no server but the cluster (src/contracts/cluster-routes.ts).
  const scope = isClusterRouteServer(String(body!.server ?? '')) ? 'access:clusters' : 'access:servers';
  const allowed = !!owner && who.can(scope, { user: body!.user, server: (body!.server as string) ?? '', groups: owner.groups });
  if (!allowed) {
    // The proxy remembers a refusal for 5 s, which bounds how often one client can add these.
    await ctx.hub.audit.denied({ action: 'server.access', actor: who, target: `${body!.user}/${String(body!.server ?? '')}`.slice(0, 200), targetUser: owner ? body!.user as string : null, code: 'FORBIDDEN' });
  }
  sendJson(ctx.res, 200, { authenticated: true, allowed, name: who.name });
}

/**
 * `POST /hub/api/users/{name}/activity`: activity only moves forward; more than 1 h ahead is refused.
 * As JupyterHub, the whole body is checked before anything is written: a server the user does not
 * have is 400 (the body is wrong, the URL is not), and so is a body with neither field.
 */
async function activity(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const user = await ctx.hub.store.getUser(name);
  await ctx.require(ACTIVITY, { user: name, groups: user?.groups });
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  const body = await ctx.jsonObject();
  if (!body) throw fail('BAD_REQUEST', 'Body must be {last_activity, servers: {name: {last_activity}}}.');
  const parse = (v: unknown, what: string): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw fail('BAD_REQUEST', `${what} must be an ISO 8601 timestamp.`);
    const t = Date.parse(v);
    if (t > Date.now() + FUTURE_SLACK_MS) throw fail('BAD_REQUEST', `${what} is more than an hour in the future.`);
    return new Date(t).toISOString();
  };
  const later = (a: string | null, b: string | null) => (!a ? b : !b ? a : a > b ? a : b);
  const userTs = parse(body.last_activity, 'last_activity');
  const servers = body.servers ?? {};
  const shape = 'servers must be an object of the form {server_name: {last_activity: timestamp}}.';
  if (typeof servers !== 'object' || Array.isArray(servers)) throw fail('BAD_REQUEST', shape);
  if (!userTs && Object.keys(servers).length === 0) throw fail('BAD_REQUEST', 'The body must contain at least one of last_activity or servers.');
  const updates: Array<{ row: ServerRow; ts: string }> = [];
  for (const [server, v] of Object.entries(servers as Record<string, unknown>)) {
    checkServerName(server);
    const row = await ctx.hub.store.getServer(name, server);
    if (!row) throw fail('BAD_REQUEST', `No such server '${server}' for user ${name}.`);
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !('last_activity' in v)) throw fail('BAD_REQUEST', shape);
    const ts = parse((v as { last_activity?: unknown }).last_activity, `servers.${server}.last_activity`);
    if (ts) updates.push({ row, ts });
  }
  let newest = userTs;
  for (const { row, ts } of updates) {
    await ctx.hub.store.updateServer(name, row.name, { lastActivity: later(row.lastActivity, ts) });
    newest = later(newest, ts);
  }
  if (newest) await ctx.hub.store.touchUser(name, newest);
  sendJson(ctx.res, 200, {});
}

export function registerMiscRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api', root);
  r.add('GET', '/hub/api/', root);
  r.add('GET', '/hub/api/profiles', profiles);
  r.add('POST', '/hub/api/proxy/authorize', authorize);
  r.add('POST', '/hub/api/users/:name/activity', activity);
}
