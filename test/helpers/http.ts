import { request } from 'node:http';

/** A response as tests look at it. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

/**
 * One HTTP request with node:http (no redirects followed, any method may carry a body), so tests
 * see exactly what the server answered.
 */
export function http(method: string, url: string, opts: { headers?: Record<string, string>; body?: unknown; raw?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (payload !== undefined) {
      headers['content-length'] = Buffer.byteLength(payload);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A browser-like cookie jar for one host. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  /** The last Set-Cookie line seen for each cookie, attributes included. */
  readonly lines = new Map<string, string>();

  take(setCookie: string | string[] | undefined): void {
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      this.lines.set(name, line);
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/**
 * Logs in through the embedded IdP exactly as a browser does: /hub/login → the IdP's
 * authorization endpoint → its login form → back to /hub/oauth_callback. Returns the jar with the
 * hub session and XSRF cookies.
 */
export async function browserLogin(base: string, username: string, password: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const get = async (url: string) => {
    const r = await http('GET', new URL(url, base).toString(), { headers: { cookie: jar.header(), accept: 'text/html' } });
    jar.take(r.headers['set-cookie']);
    return r;
  };
  let r = await get('/hub/login?next=%2Fhub%2Fhome');
  let hops = 0;
  while (r.status >= 300 && r.status < 400 && hops++ < 10) r = await get(String(r.headers.location));
  const action = /<form method="post" action="([^"]+)"/.exec(r.text)?.[1];
  if (!action) throw new Error(`no login form (status ${r.status}): ${r.text.slice(0, 300)}`);
  const form = new URLSearchParams({ username, password }).toString();
  r = await http('POST', new URL(action.replace(/&amp;/g, '&'), base).toString(), { raw: form, headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
  jar.take(r.headers['set-cookie']);
  hops = 0;
  while (r.status >= 300 && r.status < 400 && hops++ < 10) {
    const loc = String(r.headers.location);
    if (new URL(loc, base).pathname === '/hub/home') break;
    r = await get(loc);
  }
  if (!jar.get('highrate-session')) throw new Error(`login of ${username} failed: status ${r.status} ${r.text.slice(0, 300)}`);
  return jar;
}

/**
 * Logs a browser session (from browserLogin) in to a jupyterhub-singleuser server as a browser
 * does: the server sends it to the hub's OAuth authorize endpoint, the hub back to the server's
 * oauth_callback, which sets the server's own login cookie in the jar. Returns the final answer.
 */
export async function serverLogin(base: string, jar: CookieJar, serverPath: string, page = 'tree'): Promise<Reply> {
  let url = new URL(`${serverPath}${page}`, base).toString();
  for (let hops = 0; hops < 10; hops++) {
    const r = await http('GET', url, { headers: { cookie: jar.header(), accept: 'text/html' } });
    // The jar ignores paths: of the server's cookies keep only its login ones (its `_xsrf`, for
    // /user/<name>/, would shadow the hub's, for /hub/).
    const lines = [r.headers['set-cookie'] ?? []].flat().filter((l) => l.startsWith('jupyterhub-') || l.startsWith('service-'));
    jar.take(lines);
    if (r.status < 300 || r.status >= 400) return r;
    url = new URL(String(r.headers.location), url).toString();
  }
  throw new Error(`too many redirects logging in to ${serverPath}`);
}
