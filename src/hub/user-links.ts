import { fail } from '../errors/catalogue.js';
import { redirect, sendError } from '../http/respond.js';
import { clientIp } from './audit/index.js';
import type { Hub } from './context.js';
import { safeNext, sendPage } from './html.js';
import type { Identity } from '../auth/identity.js';
import { serverPath } from './models.js';
import { wantsHtml, type RequestContext } from './request.js';

/**
 * Links into user servers that reach the hub instead of a server, answered as JupyterHub 4.1's
 * UserUrlHandler and UserRedirectHandler do: a link is never cut short, the owner is offered a
 * start and lands on the link afterwards, and nobody learns more about another user's server
 * than they may read.
 */

/** JupyterHub's `user_redirect_limit`: bounded retries while the proxy catches up with a start. */
const REDIRECT_LIMIT = 4;

/** The path after the hub prefix, or null when `pathname` is not one. */
function afterPrefix(pathname: string, prefix: string): string | null {
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) : null;
}

function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * The server a `/user/<name>/<rest>` link means: with named servers, the first segment of `rest`
 * when the user has a server of that name (stopped ones included), else the default server.
 */
async function serverOf(hub: Hub, user: string, rest: string): Promise<string> {
  if (!hub.config.hub.allowNamedServers) return '';
  const first = decodeSegment(rest.split('/')[0] ?? '');
  if (!first) return '';
  return (await hub.store.getServer(user, first)) ? first : '';
}

/** The start page of a server in the portal, coming back to `next` once it is ready. */
function spawnPage(kind: 'spawn' | 'spawn-pending', user: string, server: string, next: string): string {
  const where = `/hub/${kind}/${encodeURIComponent(user)}${server ? `/${encodeURIComponent(server)}` : ''}`;
  return `${where}?next=${encodeURIComponent(next)}`;
}

/**
 * `/user/<name>/[<server>/]<path>` reached the hub: the proxy has no route, so the server is not
 * running (or has only just become ready). API clients get 424 SERVER_NOT_RUNNING; browsers of
 * the owner get the home page saying which server is not running with a Start button that comes
 * back to the whole link, query included.
 */
export async function userLinkNotRouted(ctx: RequestContext): Promise<void> {
  const rest = afterPrefix(ctx.url.pathname, '/user/') ?? '';
  const slash = rest.indexOf('/');
  const rawUser = slash === -1 ? rest : rest.slice(0, slash);
  const user = decodeSegment(rawUser) ?? '';
  const inServer = slash === -1 ? '' : rest.slice(slash + 1);
  // Exactly what was asked for: the link keeps its whole path and query.
  const link = ctx.url.pathname + ctx.url.search;
  const browser = wantsHtml(ctx.req) && (ctx.method === 'GET' || ctx.method === 'HEAD') && !inServer.split('/').includes('api');
  // JSON even to a browser: an API path or a form post is a client that cannot use a page.
  if (!browser) {
    // Running but not routed (a proxy the hub has just started again, a start ending now): a
    // moment's wait, said as 503 with Retry-After to whoever may use that server; 424 otherwise.
    if (await runningForCaller(ctx, user, inServer)) {
      return sendError(ctx.res, fail('UPSTREAM_UNAVAILABLE', 'The server is running; the proxy is putting its route back. Retry in a moment.', { extra: { retryAfter: 1 } }));
    }
    return sendError(ctx.res, fail('SERVER_NOT_RUNNING', `No server is running at /user/${user.slice(0, 64)}/.`));
  }

  const who = await ctx.identity();
  if (!who) return redirect(ctx.res, `/hub/login?next=${encodeURIComponent(link)}`);
  if (!user) throw fail('NOT_FOUND');
  const owner = await ctx.hub.store.getUser(user);
  const server = owner ? await serverOf(ctx.hub, owner.name, inServer) : '';
  const mine = who.kind === 'user' && who.name === user;
  // Whoever could use that user's server were it there may learn that the user is not (404).
  if (!mine && !who.can('access:servers', { user, server, groups: owner?.groups ?? [] })) {
    return refuseOthersLink(ctx, who, user, inServer);
  }
  if (!owner) throw fail('USER_NOT_FOUND', `No such user: ${user.slice(0, 64)}`);

  const row = await ctx.hub.store.getServer(owner.name, server);
  if (row?.state === 'starting' || row?.state === 'stopping') return redirect(ctx.res, spawnPage('spawn-pending', owner.name, server, link), 303);
  if (row?.state === 'running') return retryRunning(ctx);
  if (mine) {
    return redirect(ctx.res, `/hub/home?not_running=${encodeURIComponent(server)}&next=${encodeURIComponent(link)}`);
  }
  const label = server ? `“${server}” of ${owner.name}` : `of ${owner.name}`;
  sendPage(ctx.res, 424, 'Server not running', `The server ${label} is not running, so ${ctx.url.pathname} cannot be opened.`, {
    https: ctx.hub.publicUrl.startsWith('https:'),
    link: { href: spawnPage('spawn', owner.name, server, link), text: `Start the server ${label}` },
  });
}

/**
 * Another user's link, opened by someone without access to that server: 403 whether or not the
 * user or the server exists, so the answer tells nothing about them. Links are often shared
 * meaning "this file on your server"; the page offers that, as JupyterHub's user-redirect does.
 */
async function refuseOthersLink(ctx: RequestContext, who: Identity, user: string, inServer: string): Promise<void> {
  await ctx.hub.audit.denied({
    action: 'request.denied', actor: who, target: `GET /user/${user.slice(0, 64)}/`, targetUser: user.slice(0, 64) || null,
    code: 'FORBIDDEN', ip: clientIp(ctx.req), detail: { message: 'link to a server of another user' },
  }).catch(() => undefined);
  const own = who.kind === 'user' ? { href: safeNext(`/hub/user-redirect/${inServer}${ctx.url.search}`), text: 'Open the same path on your own server' } : undefined;
  sendPage(ctx.res, 403, 'Not your server', `This link leads to a server of ${user.slice(0, 64)}, which you may not open.`, {
    https: ctx.hub.publicUrl.startsWith('https:'),
    ...(own ? { link: own } : {}),
  });
}

/** Whether the caller may use `user`'s server named by the path and the store has it running. */
async function runningForCaller(ctx: RequestContext, user: string, inServer: string): Promise<boolean> {
  if (!user) return false;
  const who = await ctx.identity().catch(() => null);
  if (!who) return false;
  const owner = await ctx.hub.store.getUser(user);
  if (!owner) return false;
  const server = await serverOf(ctx.hub, owner.name, inServer);
  const mine = who.kind === 'user' && who.name === user;
  if (!mine && !who.can('access:servers', { user, server, groups: owner.groups })) return false;
  return (await ctx.hub.store.getServer(owner.name, server))?.state === 'running';
}

/**
 * The server is running but its route is not in the proxy yet (a start that has just ended, or a
 * route being restored): back to the link, a few times, with growing pauses, then say so.
 */
async function retryRunning(ctx: RequestContext): Promise<void> {
  const done = Number(ctx.url.searchParams.get('redirects') ?? '0');
  const redirects = Number.isInteger(done) && done > 0 ? done : 0;
  if (redirects >= REDIRECT_LIMIT) {
    return sendPage(ctx.res, 503, 'Server not reachable', 'The server is running, but the proxy does not route to it. Try again in a minute; if it persists, tell the administrators.', {
      https: ctx.hub.publicUrl.startsWith('https:'),
      link: { href: '/hub/home', text: 'Home' },
    });
  }
  if (redirects > 0) await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** (redirects - 1), 10_000)));
  // The query as sent (re-encoding it could change what the server reads), the counter replaced.
  const params = ctx.url.search.slice(1).split('&').filter((kv) => kv !== '' && !kv.startsWith('redirects='));
  params.push(`redirects=${redirects + 1}`);
  redirect(ctx.res, safeNext(`${ctx.url.pathname}?${params.join('&')}`));
}

/**
 * `/hub/user-redirect/<path>`: "this path on your server", for links shared between users
 * (JupyterHub 0.7+). Not logged in: the login comes first and brings the browser back here.
 */
export async function userRedirect(ctx: RequestContext): Promise<void> {
  const path = afterPrefix(ctx.url.pathname, '/hub/user-redirect') ?? '';
  const here = ctx.url.pathname + ctx.url.search;
  const who = await ctx.identity();
  if (!who) return redirect(ctx.res, `/hub/login?next=${encodeURIComponent(here)}`);
  if (who.kind !== 'user') throw fail('NOT_FOUND', 'Only users have servers to redirect to.');
  const target = serverPath(who.name, '') + path.replace(/^\/+/, '') + ctx.url.search;
  redirect(ctx.res, safeNext(target, serverPath(who.name, '')));
}
