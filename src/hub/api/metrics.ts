import { needsScope } from '../../auth/scopes.js';
import type { Router } from '../../http/router.js';
import { fail } from '../../errors/catalogue.js';
import type { RequestContext } from '../request.js';

const READ_METRICS = needsScope('read:metrics');

/**
 * `GET /hub/metrics` and `GET /hub/api/metrics`, as JupyterHub serves them (authenticate_prometheus,
 * its default: the caller needs `read:metrics`; admins have it, a monitoring service gets it from
 * a role). Prometheus text format 0.0.4.
 */
export async function serveMetrics(ctx: RequestContext): Promise<void> {
  await ctx.require(READ_METRICS);
  const metrics = ctx.hub.metrics;
  if (!metrics) throw fail('NOT_FOUND', 'This hub keeps no metrics.');
  const body = await metrics.render(ctx.hub.store);
  ctx.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

export function registerMetricsRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/metrics', (ctx) => serveMetrics(ctx));
}
