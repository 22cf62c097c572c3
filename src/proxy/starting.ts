import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorPages } from './error-pages.js';
import { sendProblem } from './responses.js';
import type { Route } from './routes.js';

/**
 * Seconds a client is told to wait (Retry-After) while the hub starts or restarts: a hub is back
 * within a second or two (measured: `highrate up` to a served request), so polling clients and the
 * portal's own retry come back soon rather than at a browser's minute.
 */
export const HUB_RETRY_AFTER_S = 1;

const STARTING_MESSAGE = 'The hub is starting; retry in a moment.';

/**
 * Whether a route leads to the hub: JupyterHub (and highrate's hub) adds its route with data
 * `{hub: true}`; before it does, the `/` route the proxy made from --default-target is the hub's.
 * Only looked at when a request could not be forwarded, never on the hot path.
 */
export function isHubRoute(route: Route, defaultTarget: string | undefined): boolean {
  return route.data.hub === true || (route.prefix === '/' && defaultTarget !== undefined && route.target.href === defaultTarget);
}

/**
 * 503 HUB_STARTING with Retry-After: the hub is not listening (starting, restarting, killed) or
 * not ready yet. Through `errors` when the proxy forwards (CHP's --error-target/--error-path pages
 * still apply: JupyterHub's own "proxy target missing" page), else JSON, or HTML for browsers.
 */
export function sendHubStarting(req: IncomingMessage, res: ServerResponse, errors?: ErrorPages): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A request body nobody will read must not hold the connection.
  req.resume();
  res.setHeader('retry-after', String(HUB_RETRY_AFTER_S));
  if (errors !== undefined) errors.send(req, res, 503, 'HUB_STARTING', STARTING_MESSAGE);
  else sendProblem(req, res, 'HUB_STARTING', STARTING_MESSAGE);
}
