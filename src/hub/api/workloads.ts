import { tokenFromAuthorization } from '../../auth/tokens.js';
import { fail } from '../../errors/catalogue.js';
import { sendEmpty } from '../../http/respond.js';
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
}
