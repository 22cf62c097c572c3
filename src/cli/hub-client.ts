import { ERRORS, fail, HighrateError, type ErrorCode } from '../errors/catalogue.js';

/** The options every command that talks to a running platform takes, for its --help. */
export const HUB_CLIENT_OPTIONS = `  --url URL        the platform (default $HIGHRATE_URL, else http://127.0.0.1:8000)
  --token TOKEN    an API token (default $HIGHRATE_TOKEN, else $JUPYTERHUB_API_TOKEN);
                   \`highrate token issue USER\` prints one
  --json           print the API's JSON
  -h, --help       this help`;

/** Where the platform is, with which token, and whether to print JSON. */
export interface HubCtx { url: string; token: string; json: boolean }

/** The context from --url/--token/--json and the environment; UNAUTHENTICATED without a token. */
export function hubContext(values: { url?: string; token?: string; json?: boolean }): HubCtx {
  const token = values.token ?? process.env.HIGHRATE_TOKEN ?? process.env.JUPYTERHUB_API_TOKEN;
  if (!token) throw fail('UNAUTHENTICATED', 'No API token: pass --token or set HIGHRATE_TOKEN.');
  return { url: (values.url ?? process.env.HIGHRATE_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, ''), token, json: !!values.json };
}

/**
 * One call to the hub's REST API; the parsed JSON answer. An error answer becomes a HighrateError
 * with the hub's own code (so scripts, and the exit message, can tell a quota from a typo) and
 * message, followed by `(status code)`; an unreachable platform is UPSTREAM_UNAVAILABLE.
 */
export async function callHub(ctx: HubCtx, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(ctx.url + path, {
      method,
      headers: { authorization: `token ${ctx.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw fail('UPSTREAM_UNAVAILABLE', `Cannot reach ${ctx.url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: shown as text */ }
  if (!res.ok) {
    const code = (typeof data?.code === 'string' && data.code in ERRORS ? data.code : 'BAD_REQUEST') as ErrorCode;
    throw new HighrateError(code, `${data?.message ?? data?.error ?? text.slice(0, 300)} (${res.status} ${code})`);
  }
  return data;
}
