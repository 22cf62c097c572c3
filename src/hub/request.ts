import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Target } from '../auth/scopes.js';
import { safeEqual } from '../auth/tokens.js';
import { fail } from '../errors/catalogue.js';
import { readJson } from '../http/body.js';
import type { Hub } from './context.js';
import { credentialOf, resolveCredential, type Identity } from '../auth/identity.js';
import { clientIp, type AuditEvent } from './audit/index.js';

/** One request as handlers see it. Identity is resolved lazily, once. */
export class RequestContext {
  readonly url: URL;
  #identity: Promise<Identity | null> | undefined;

  constructor(readonly hub: Hub, readonly req: IncomingMessage, readonly res: ServerResponse) {
    this.url = new URL(req.url ?? '/', 'http://hub.invalid');
  }

  get method(): string { return this.req.method ?? 'GET'; }

  identity(): Promise<Identity | null> {
    if (!this.#identity) {
      const cred = credentialOf(this.req);
      this.#identity = cred ? resolveCredential(this.hub.store, cred, new Date(), this.hub.rbac) : Promise.resolve(null);
    }
    return this.#identity;
  }

  /**
   * The caller, authenticated; 403 without a valid credential (JupyterHub answers API requests
   * without credentials with 403, not 401). Cookie-authenticated state changes must carry the
   * session's XSRF token in `X-XSRFToken` (or `_xsrf` in the query), or they fail with 403 CSRF_FAILED.
   */
  async caller(): Promise<Identity> {
    const who = await this.identity();
    if (!who) throw fail('FORBIDDEN', 'Missing or invalid credentials.');
    if (who.via === 'cookie' && !['GET', 'HEAD', 'OPTIONS'].includes(this.method)) {
      const sent = header(this.req, 'x-xsrftoken') ?? this.url.searchParams.get('_xsrf');
      if (!sent || !who.session || !safeEqual(sent, who.session.xsrf)) throw fail('CSRF_FAILED');
    }
    return who;
  }

  /** The caller, holding `scope` on `target`; 403 MISSING_SCOPE naming the scope otherwise. */
  async require(scope: string, target: Target = {}): Promise<Identity> {
    const who = await this.caller();
    if (!who.can(scope, target)) {
      throw fail('MISSING_SCOPE', `Action is not authorized with current scopes; requires any of [${scope}]`);
    }
    return who;
  }

  /** Whether the request carried a credential at all (valid or not). */
  hasCredential(): boolean {
    return credentialOf(this.req) !== null;
  }

  /**
   * Records an audit entry for this request: the actor is the caller (anonymous when there is
   * none), the address the client's. Never throws.
   */
  async audit(e: Omit<AuditEvent, 'actor' | 'ip'>): Promise<void> {
    const who = await this.identity().catch(() => null);
    await this.hub.audit.record({ ...e, actor: who, ip: clientIp(this.req) });
  }

  /** The JSON body, an object or nothing; anything else is 400. */
  async jsonObject(): Promise<Record<string, unknown> | undefined> {
    const body = await readJson(this.req);
    if (body === undefined || body === null) return undefined;
    if (typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'The request body must be a JSON object.');
    return body as Record<string, unknown>;
  }

  /** An integer query parameter within bounds, or the default; junk is 400. */
  intParam(name: string, def: number, min: number, max: number): number {
    const raw = this.url.searchParams.get(name);
    if (raw === null || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw fail('BAD_REQUEST', `Query parameter ${name} must be an integer ≥ ${min}.`);
    return Math.min(n, max);
  }
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Does the client want HTML (a browser navigation) rather than JSON? */
export function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}
