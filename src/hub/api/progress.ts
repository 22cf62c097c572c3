import { needsScope } from '../../auth/scopes.js';
import { fail } from '../../errors/catalogue.js';
import type { Router } from '../../http/router.js';
import { serverPath } from '../models.js';
import { checkServerName, checkUsername } from '../names.js';
import type { RequestContext } from '../request.js';
import type { ProgressEvent } from '../servers/progress.js';

const READ = needsScope('read:servers');
/** JupyterHub sends a keepalive comment every 8 s so proxies don't cut the stream. */
const KEEPALIVE_MS = 8000;

/**
 * `GET …/server/progress`: server-sent events `{progress, message, html_message}`, ending with
 * `{ready, url}` or `{failed, message}`, as JupyterHub's SpawnProgressAPIHandler.
 */
async function progress(ctx: RequestContext, params: Record<string, string>): Promise<void> {
  const user = checkUsername(params.name!);
  const server = checkServerName(params.server ?? '');
  const owner = await ctx.hub.store.getUser(user);
  await ctx.require(READ, { user, server, groups: owner?.groups });
  const row = owner ? await ctx.hub.store.getServer(user, server) : null;
  if (!row && server !== '') throw fail('SERVER_NOT_FOUND', `${user} has no server named '${server}'.`);
  const key = `${user}/${server}`;
  const board = ctx.hub.servers.progress;
  const history = board.history(key);
  if (history.length === 0) {
    // No start seen by this hub process: answer from the stored state.
    if (row?.state === 'running') {
      startStream(ctx);
      write(ctx, { progress: 100, ready: true, message: `Server ready at ${serverPath(user, server)}`, url: serverPath(user, server) });
      ctx.res.end();
      return;
    }
    if (row?.state === 'stopped' && row.failure) {
      startStream(ctx);
      write(ctx, { progress: 100, failed: true, message: `Spawn failed: ${row.failure}` });
      ctx.res.end();
      return;
    }
    if (row?.state !== 'starting') throw fail('BAD_REQUEST', `${user}'s server '${server}' is not starting.`);
  }
  const last = history[history.length - 1];
  startStream(ctx);
  for (const e of history) write(ctx, e);
  if (last && (last.ready || last.failed)) {
    ctx.res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const keepalive = setInterval(() => ctx.res.write(':keepalive\n\n'), KEEPALIVE_MS);
    const stop = board.follow(key, (e) => {
      write(ctx, e);
      if (e.ready || e.failed) finish();
    });
    function finish() {
      clearInterval(keepalive);
      stop();
      ctx.res.end();
      resolve();
    }
    ctx.req.on('close', finish);
  });
}

function startStream(ctx: RequestContext): void {
  ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
}

function write(ctx: RequestContext, e: ProgressEvent): void {
  ctx.res.write(`data: ${JSON.stringify(e)}\n\n`);
}

export function registerProgressRoutes(r: Router<RequestContext>): void {
  r.add('GET', '/hub/api/users/:name/server/progress', progress);
  r.add('GET', '/hub/api/users/:name/servers//progress', progress); // empty name: the default server
  r.add('GET', '/hub/api/users/:name/servers/:server/progress', progress);
}
