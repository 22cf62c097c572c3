import { HighrateError } from '../../errors/catalogue.js';
import type { ExecutorModel } from '../../contracts/resources.js';
import type { Executor } from '../../executors/types.js';
import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import { log } from '../../log.js';
import type { RequestContext } from '../request.js';

/** A ping result is reused this long (the portal polls; a batch controller should not feel it). */
const PING_TTL_MS = 15_000;
/** A ping not answered after this long counts as unhealthy. */
const PING_TIMEOUT_MS = 10_000;

interface Cached { at: number; model: Promise<ExecutorModel> }
const cache = new WeakMap<Executor, Cached>();

function timeout(ms: number): Promise<never> {
  return new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    t.unref();
  });
}

async function check(ex: Executor): Promise<ExecutorModel> {
  const checked = new Date().toISOString();
  const base = { name: ex.name, kind: ex.kind, capabilities: { ...ex.capabilities } };
  try {
    const r = await Promise.race([ex.ping(), timeout(PING_TIMEOUT_MS)]);
    return { ...base, health: { ok: true, message: r.status ?? null, checked }, capacity: r.resources ?? null, taints: r.taints ?? [] };
  } catch (err) {
    // Catalogue messages are safe to show; anything else is logged, not shown.
    const message = err instanceof HighrateError ? err.message : /no answer within/.test(String((err as Error)?.message)) ? (err as Error).message : 'The executor did not answer its health check.';
    if (!(err instanceof HighrateError)) log.warn('executor ping failed', { executor: ex.name, error: String(err) });
    return { ...base, health: { ok: false, message, checked }, capacity: null, taints: [] };
  }
}

/** The executor's health and capacity, from a ping at most PING_TTL_MS old (concurrent callers share one). */
export function executorModel(ex: Executor): Promise<ExecutorModel> {
  const c = cache.get(ex);
  if (c && Date.now() - c.at < PING_TTL_MS) return c.model;
  const model = check(ex);
  cache.set(ex, { at: Date.now(), model });
  return model;
}

/**
 * `GET /hub/api/executors`: every configured executor with its kind, capabilities, health and
 * capacity (ping answers, cached 15 s). Any signed-in user may look: it is what the start form
 * and the Resources page show.
 */
async function listExecutors(ctx: RequestContext): Promise<void> {
  await ctx.caller();
  const models = await Promise.all([...ctx.hub.executors.values()].map(executorModel));
  sendJson(ctx.res, 200, { executors: models });
}

export function registerExecutorRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/executors', listExecutors);
}
