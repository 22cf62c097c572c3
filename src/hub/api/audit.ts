import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { AuditQuery, AuditRow } from '../../store/types.js';
import { checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';

const READ = needsScope('read:audit');
const ACTION = /^[a-z][a-z.]{0,63}$/;
const OUTCOMES = new Set(['ok', 'denied', 'failed']);

function auditModel(r: AuditRow) {
  return {
    id: r.id, time: r.time, actor: r.actor, actor_kind: r.actorKind, action: r.action, target: r.target,
    target_user: r.targetUser, outcome: r.outcome, code: r.code, detail: r.detail, ip: r.ip,
  };
}

function isoParam(ctx: RequestContext, name: string): string | undefined {
  const raw = ctx.url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const t = Date.parse(raw);
  if (raw.length > 40 || Number.isNaN(t)) throw fail('BAD_REQUEST', `${name} must be an ISO 8601 time.`);
  return new Date(t).toISOString();
}

/**
 * `GET /hub/api/audit`: newest first, `limit` (≤ 500) per page, `before=<id>` for the next page.
 * Filters: `user` (entries by or about that user), `actor`, `action` (exact, or a prefix ending
 * in "."), `outcome`, `since`, `until`. With `read:audit` on every user the whole log is readable;
 * held under `!user=` filters (every user holds `read:audit!user` for themselves), only entries
 * by or about those users.
 */
async function queryAudit(ctx: RequestContext): Promise<void> {
  const who = await ctx.caller();
  if (!who.holdsAny(READ)) throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${READ}]`);
  const p = ctx.url.searchParams;
  const q: AuditQuery = { limit: ctx.intParam('limit', 100, 1, 500) };
  const before = p.get('before');
  if (before !== null && before !== '') {
    if (!/^\d{1,15}$/.test(before)) throw fail('BAD_REQUEST', 'before must be an entry id.');
    q.beforeId = Number(before);
  }
  const user = p.get('user');
  if (user !== null && user !== '') {
    checkUsername(user);
    const target = await ctx.hub.store.getUser(user);
    if (!who.can(READ, { user, groups: target?.groups ?? [] })) throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${READ}!user=${user}]`);
    q.involving = [user];
  } else if (!who.can(READ, {})) {
    // Filtered holders read what concerns the users their filters name.
    const names = new Set<string>();
    for (const set of [who.ownerScopes, who.tokenScopes]) {
      if (!set) continue;
      for (const f of set.get(READ) ?? []) if (f.startsWith('user=')) names.add(f.slice(5));
    }
    const allowed = [...names].filter((n) => who.can(READ, { user: n }));
    if (allowed.length === 0) throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${READ}]`);
    q.involving = allowed;
  }
  const actor = p.get('actor');
  if (actor !== null && actor !== '') {
    if (actor.length > 80 || /[\x00-\x1f\x7f]/.test(actor)) throw fail('BAD_REQUEST', 'actor is not a name.');
    q.actor = actor;
  }
  const action = p.get('action');
  if (action !== null && action !== '') {
    if (!ACTION.test(action)) throw fail('BAD_REQUEST', 'action must be lowercase letters and dots, e.g. server.start or server.');
    q.action = action;
  }
  const outcome = p.get('outcome');
  if (outcome !== null && outcome !== '') {
    if (!OUTCOMES.has(outcome)) throw fail('BAD_REQUEST', 'outcome must be ok, denied or failed.');
    q.outcome = outcome as AuditRow['outcome'];
  }
  q.since = isoParam(ctx, 'since');
  q.until = isoParam(ctx, 'until');
  const rows = await ctx.hub.store.queryAudit({ ...q, limit: q.limit + 1 });
  const more = rows.length > q.limit;
  const items = rows.slice(0, q.limit).map(auditModel);
  sendJson(ctx.res, 200, { items, _pagination: { limit: q.limit, next: more ? { before: items.at(-1)!.id } : null } });
}

export function registerAuditRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/audit', queryAudit);
}
