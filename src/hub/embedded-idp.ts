import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmbeddedIdp } from '../idp/index.js';
import { log } from '../log.js';
import { sendProblem } from '../proxy/responses.js';
import { sendHubStarting } from '../proxy/starting.js';

/**
 * The embedded OpenID Provider as the hub holds it: loaded on first use (a request to `/oidc/…`,
 * a logout ending IdP sessions) or by `warm()` once the hub is running, never on the way to the
 * hub's API. Loading oidc-provider and building the provider runs on the hub's event loop for
 * 50 ms on an idle machine and 200–350 ms under load; before, a restarted hub's API waited for it
 * (issue 14). The admin account is made at start without it (admin-account.ts), so the IdP's
 * own state (keys, sessions) is all it loads. A load that fails is logged and tried again at the
 * next use; meanwhile its requests get 503 UPSTREAM_UNAVAILABLE.
 */
export class LazyIdp {
  readonly #load: () => Promise<EmbeddedIdp>;
  #idp: Promise<EmbeddedIdp> | undefined;
  #closed = false;

  constructor(load: () => Promise<EmbeddedIdp>) {
    this.#load = load;
  }

  /** The IdP, loading it if nobody has yet. */
  get(): Promise<EmbeddedIdp> {
    if (this.#closed) return Promise.reject(new Error('the hub is shutting down'));
    this.#idp ??= this.#start();
    return this.#idp;
  }

  async #start(): Promise<EmbeddedIdp> {
    const started = performance.now();
    try {
      const idp = await this.#load();
      log.debug('embedded IdP loaded', { ms: Math.round(performance.now() - started) });
      return idp;
    } catch (err) {
      this.#idp = undefined;
      log.error('the embedded identity provider did not start; logins fail until it does (retried at the next login)', { error: String(err) });
      throw err;
    }
  }

  /** Starts loading (once the hub is running: nothing else waits then). */
  warm(): void {
    this.get().catch(() => undefined);
  }

  /** A node:http handler for `/oidc/…`. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#closed) return sendHubStarting(req, res);
    this.get().then((idp) => idp.handle(req, res), () => {
      req.resume();
      sendProblem(req, res, 'UPSTREAM_UNAVAILABLE', 'The login service could not start; the administrator finds why in the hub\'s log.');
    });
  };

  /** Ends `username`'s sessions at the IdP (logout); they live in its database, so it is loaded for this. */
  endSessions(username: string): void {
    this.get().then((idp) => idp.endSessions(username)).catch(() => undefined);
  }

  /** Closes the IdP, once loaded if it is loading; nothing loads afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const idp = this.#idp;
    if (idp) await idp.then((ready) => ready.close(), () => undefined);
  }
}
