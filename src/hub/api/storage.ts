import { sendJson } from '../../http/respond.js';
import type { Router } from '../../http/router.js';
import type { RequestContext } from '../request.js';

/**
 * `GET /hub/api/storage` (`?refresh=1` probes now): the health of every storage element the
 * facility uses, the embedded one and `storage.elements` (src/storage/elements.ts). Any signed-in
 * user may look, as at executors: it is facility health, and holds no token and nothing secret.
 */
export function registerStorageRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/storage', (ctx) => elements(ctx));
}

async function elements(ctx: RequestContext): Promise<void> {
  await ctx.caller();
  const svc = ctx.hub.storage;
  const refresh = ['1', 'true'].includes(ctx.url.searchParams.get('refresh') ?? '');
  sendJson(ctx.res, 200, { elements: svc ? await svc.elements.list(refresh) : [] });
}
