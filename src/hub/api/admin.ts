import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { ServerRow } from '../../store/types.js';
import { serverPath } from '../models.js';
import { checkUsername } from '../names.js';
import { serverResources, type EffectiveLimits, type Usage } from '../quota/index.js';
import type { RequestContext } from '../request.js';

const ADMIN_UI = needsScope('admin-ui');
const READ_SERVERS = needsScope('read:servers');
const READ_CLUSTERS = needsScope('read:clusters');
const READ_USERS = needsScope('read:users');

function serverItem(row: ServerRow) {
  const r = serverResources(row.userOptions);
  return {
    kind: 'server',
    user: row.user,
    name: row.name,
    state: row.state,
    started: row.started,
    last_activity: row.lastActivity,
    cores: r.cores,
    memory_bytes: r.memoryBytes,
    profile: typeof row.userOptions.profile === 'string' ? row.userOptions.profile : null,
    executor: row.executor,
    url: serverPath(row.user, row.name),
    stop_url: row.name === '' ? `/hub/api/users/${encodeURIComponent(row.user)}/server` : `/hub/api/users/${encodeURIComponent(row.user)}/servers/${encodeURIComponent(row.name)}`,
  };
}

/**
 * `GET /hub/api/admin/activity`: everything running now for the admin portal, with owner, age,
 * activity and resources: servers (from the store) and what other parts report (clusters, through
 * the usage providers they register). Rows are filtered by the caller's read scopes.
 */
async function activity(ctx: RequestContext): Promise<void> {
  const who = await ctx.require(ADMIN_UI);
  const groupsOf = new Map<string, string[]>();
  const unfiltered = who.can(READ_SERVERS) && who.can(READ_CLUSTERS);
  const target = async (user: string) => {
    if (unfiltered) return { user };
    if (!groupsOf.has(user)) groupsOf.set(user, (await ctx.hub.store.getUser(user))?.groups ?? []);
    return { user, groups: groupsOf.get(user) };
  };
  const servers = [];
  for (const row of await ctx.hub.store.listActiveServers()) {
    if (who.can(READ_SERVERS, { ...(await target(row.user)), server: row.name })) servers.push(serverItem(row));
  }
  const others = await ctx.hub.quota.otherWorkloads();
  const items = [];
  for (const w of others.items) {
    const scope = w.kind === 'cluster' ? READ_CLUSTERS : ADMIN_UI;
    if (!who.can(scope, await target(w.user))) continue;
    items.push({
      kind: w.kind, user: w.user, name: w.name, state: w.state, started: w.started, last_activity: w.lastActivity,
      cores: w.cores, memory_bytes: w.memoryBytes, detail: w.detail ?? {}, stop_url: w.stopUrl ?? null,
    });
  }
  sendJson(ctx.res, 200, { servers, others: items, providers: ctx.hub.quota.providers.map((p) => p.kind), errors: others.errors });
}

function limitsModel(l: EffectiveLimits) {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(l)) if (v) out[k === 'maxMemory' ? 'maxMemoryBytes' : k] = v;
  return out;
}

/** `GET /hub/api/users/{name}/quota`: the user's limits (with where each comes from) and current use. */
async function quota(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const name = checkUsername(params.name!);
  const user = await ctx.hub.store.getUser(name);
  await ctx.require(READ_USERS, { user: name, groups: user?.groups });
  if (!user) throw fail('USER_NOT_FOUND', `No such user: ${name}`);
  const usage = await ctx.hub.quota.usageOf(name);
  const usageModel = (u: Usage) => ({ servers: u.servers, clusters: u.clusters, cores: u.cores, memory_bytes: u.memoryBytes });
  sendJson(ctx.res, 200, {
    user: name,
    limits: limitsModel(ctx.hub.quota.limitsOf(user)),
    usage: usageModel(usage),
    // Totals of the user's groups: what all members may use together, and use now.
    group_totals: (await ctx.hub.quota.groupTotalsOf(user)).map((t) => ({
      group: t.group,
      limits: Object.fromEntries(Object.entries(t.limits).map(([k, v]) => [k === 'maxMemory' ? 'maxMemoryBytes' : k, v])),
      usage: usageModel(t.usage),
    })),
  });
}

export function registerAdminRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/admin/activity', activity);
  r.add('GET', '/hub/api/users/:name/quota', quota);
}
