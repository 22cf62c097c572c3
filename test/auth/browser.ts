/**
 * A tiny "browser" for driving login flows with plain HTTP: a cookie jar (path-scoped, as the
 * IdP's interaction cookies are), manual redirects, and form posts. No JavaScript, like the pages
 * it talks to need none.
 */

export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
}

interface Cookie { name: string; value: string; path: string }

function defaultPath(url: URL): string {
  const p = url.pathname;
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class Browser {
  readonly #jar = new Map<string, Cookie>();

  /** Cookie names currently held for a URL (for assertions). */
  cookieNames(url: string | URL): string[] {
    const path = new URL(url).pathname;
    return [...this.#jar.values()].filter((c) => pathMatches(path, c.path)).map((c) => c.name);
  }

  #cookieHeader(url: URL): string {
    return [...this.#jar.values()]
      .filter((c) => pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  #store(url: URL, setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(url);
      let expired = false;
      for (const attr of attrs) {
        const [k, ...v] = attr.split('=');
        const key = k.trim().toLowerCase();
        const val = v.join('=').trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
        if (key === 'max-age' && Number(val) <= 0) expired = true;
      }
      const key = `${name}\0${path}`;
      if (expired || value === '') this.#jar.delete(key);
      else this.#jar.set(key, { name, value, path });
    }
  }

  /** One request, no redirect following. */
  async request(url: string | URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = this.#cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.#store(target, res.headers.getSetCookie());
    return { url: target, status: res.status, headers: res.headers, body: await res.text() };
  }

  /**
   * Requests `url` and follows redirects (as GET) until a page that is not a redirect, or until a
   * redirect points at a URL starting with `stopAt` (returned without being fetched: the callback).
   */
  async navigate(url: string | URL, stopAt: string, init: { form?: Record<string, string> } = {}): Promise<{ page?: Page; stoppedAt?: URL; hops: URL[] }> {
    let page = await this.request(url, init);
    const hops: URL[] = [page.url];
    for (let i = 0; i < 15; i++) {
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || !location) return { page, hops };
      const next = new URL(location, page.url);
      if (next.href.startsWith(stopAt)) return { stoppedAt: next, hops };
      page = await this.request(next);
      hops.push(next);
    }
    throw new Error(`too many redirects: ${hops.map((h) => h.pathname).join(' -> ')}`);
  }
}

/** The action of the first `<form method="post" action="...">` on a page, resolved against it. */
export function formAction(page: Page, index = 0): URL {
  const forms = [...page.body.matchAll(/<form[^>]*\saction="([^"]+)"/g)];
  if (!forms[index]) throw new Error(`no form #${index} on ${page.url.pathname}:\n${page.body.slice(0, 500)}`);
  return new URL(forms[index][1].replace(/&amp;/g, '&'), page.url);
}

/** The value of a hidden input on a page. */
export function hiddenInput(page: Page, name: string): string {
  const m = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(page.body);
  if (!m) throw new Error(`no input ${name} on ${page.url.pathname}`);
  return m[1];
}
