import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider, Interaction } from 'oidc-provider';
import { readBody } from '../http/body.js';
import { HighrateError } from '../errors/catalogue.js';
import { log } from '../log.js';
import type { AccountStore } from './accounts.js';
import type { FailedLoginLimiter } from './rate-limit.js';
import { loginPage, messagePage } from './pages.js';

/**
 * The login and consent steps of the embedded IdP (oidc-provider leaves these to the application).
 *
 * Flow: oidc-provider redirects the browser to `<prefix>/interaction/<uid>` with a short-lived,
 * signed interaction cookie scoped to that path. GET shows the login form (or, for the consent
 * prompt, grants consent at once: every client is a configured first-party client). The form posts
 * to `<prefix>/interaction/<uid>/login`; the interaction cookie (SameSite=Lax, so never sent with a
 * cross-site POST) plus the unguessable uid make the post CSRF-safe, and `Sec-Fetch-Site:
 * cross-site` posts are refused outright as well.
 */
export interface InteractionContext {
  provider: Provider;
  accounts: AccountStore;
  limiter: FailedLoginLimiter;
  /** The issuer's path prefix, e.g. `/oidc` (empty for an issuer at the root). */
  prefix: string;
  /** Configured client ids and their display names. */
  clients: Map<string, string>;
  trustProxy: boolean;
  headers: Record<string, string>;
}

export const WRONG_CREDENTIALS = 'Wrong username or password.';
const EXPIRED = 'This sign-in page has expired or was already used. Go back to the application and sign in again.';
const MAX_FORM_BYTES = 8 * 1024;

/** The client's address: the last X-Forwarded-For hop (the one our proxy appended) when trusted. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string' && forwarded.trim()) {
    const hops = forwarded.split(',').map((h) => h.trim()).filter(Boolean);
    if (hops.length) return hops[hops.length - 1];
  }
  return req.socket.remoteAddress ?? 'unknown';
}

function send(ctx: InteractionContext, res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...ctx.headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(html)),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(html);
}

function cssHref(ctx: InteractionContext): string {
  return `${ctx.prefix}/assets/idp.css`;
}

function showMessage(ctx: InteractionContext, res: ServerResponse, status: number, title: string, message: string): void {
  send(ctx, res, status, messagePage(cssHref(ctx), title, message));
}

/** Loads the interaction for this browser and checks it is the one named in the URL. */
async function loadInteraction(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, uid: string): Promise<Interaction | undefined> {
  try {
    const details = await ctx.provider.interactionDetails(req, res);
    if (details.uid === uid) return details;
  } catch (err) {
    // SessionNotFound: no/expired interaction cookie or stored interaction. Anything else is ours.
    if ((err as Error).name !== 'SessionNotFound') throw err;
  }
  showMessage(ctx, res, 400, 'Sign-in expired', EXPIRED);
  return undefined;
}

function renderLogin(ctx: InteractionContext, res: ServerResponse, details: Interaction, status: number, username?: string, error?: string, extra?: Record<string, string>): void {
  const base = `${ctx.prefix}/interaction/${encodeURIComponent(details.uid)}`;
  const clientId = String(details.params.client_id ?? '');
  send(ctx, res, status, loginPage({
    cssHref: cssHref(ctx),
    action: `${base}/login`,
    abortAction: `${base}/abort`,
    clientName: ctx.clients.get(clientId) ?? clientId,
    username,
    error,
  }), extra);
}

/**
 * Grants what the consent prompt asks for. Only configured (first-party) clients exist, so consent
 * is implied; anything else is denied.
 */
async function grantConsent(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, details: Interaction): Promise<void> {
  const clientId = String(details.params.client_id ?? '');
  const accountId = details.session?.accountId;
  if (!ctx.clients.has(clientId) || !accountId) {
    await ctx.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'This application is not allowed to use this sign-in.' }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = (details.grantId ? await ctx.provider.Grant.find(details.grantId) : undefined) ?? new ctx.provider.Grant({ accountId, clientId });
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await ctx.provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function showInteraction(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
  const details = await loadInteraction(ctx, req, res, uid);
  if (!details) return;
  if (details.prompt.name === 'login') return renderLogin(ctx, res, details, 200);
  if (details.prompt.name === 'consent') return grantConsent(ctx, req, res, details);
  showMessage(ctx, res, 400, 'Sign-in error', 'This sign-in step is not supported. Go back to the application and sign in again.');
}

async function submitLogin(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
  const details = await loadInteraction(ctx, req, res, uid);
  if (!details) return;
  if (details.prompt.name !== 'login') return showMessage(ctx, res, 400, 'Sign-in expired', EXPIRED);
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return showMessage(ctx, res, 415, 'Sign-in error', 'The sign-in form was sent in an unexpected format.');
  const form = new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const ip = clientIp(req, ctx.trustProxy);

  const wait = ctx.limiter.retryAfter(username, ip);
  if (wait > 0) {
    log.info('idp login rate-limited', { ip });
    return renderLogin(ctx, res, details, 429, username, `Too many failed sign-in attempts. Wait ${wait} seconds and try again.`, { 'retry-after': String(wait) });
  }
  const accountId = username && password ? await ctx.accounts.verify(username, password) : null;
  if (!accountId) {
    ctx.limiter.recordFailure(username, ip);
    // No username in the log: people type their password into the username field.
    log.info('idp login failed', { ip });
    return renderLogin(ctx, res, details, 200, username, WRONG_CREDENTIALS);
  }
  ctx.limiter.recordSuccess(username);
  log.info('idp login', { account: accountId, ip });
  await ctx.provider.interactionFinished(req, res, { login: { accountId, amr: ['pwd'], remember: true } }, { mergeWithLastSubmission: false });
}

async function abortLogin(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
  const details = await loadInteraction(ctx, req, res, uid);
  if (!details) return;
  await ctx.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The sign-in was cancelled.' }, { mergeWithLastSubmission: false });
}

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,128})(?:\/(login|abort))?$/;

/**
 * Handles `<prefix>/interaction/...` (path given without the prefix). Returns false when the path
 * is not an interaction route, so the caller passes the request on to oidc-provider.
 */
export async function handleInteraction(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse, innerPath: string): Promise<boolean> {
  const m = ROUTE.exec(innerPath);
  if (!m) return false;
  const [, uid, action] = m;
  const method = req.method ?? 'GET';
  try {
    if (!action) {
      if (method !== 'GET' && method !== 'HEAD') sendMethodNotAllowed(ctx, res, 'GET');
      else await showInteraction(ctx, req, res, uid);
      return true;
    }
    if (method !== 'POST') {
      sendMethodNotAllowed(ctx, res, 'POST');
      return true;
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      showMessage(ctx, res, 403, 'Sign-in refused', 'The sign-in form was sent from another site.');
      return true;
    }
    if (action === 'login') await submitLogin(ctx, req, res, uid);
    else await abortLogin(ctx, req, res, uid);
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
    } else if (err instanceof HighrateError && err.status < 500) {
      showMessage(ctx, res, err.status, 'Sign-in error', err.message);
    } else {
      log.error('idp interaction failed', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
      showMessage(ctx, res, 500, 'Sign-in error', 'Something went wrong on our side. Go back to the application and try again.');
    }
  }
  return true;
}

function sendMethodNotAllowed(ctx: InteractionContext, res: ServerResponse, allow: string): void {
  send(ctx, res, 405, messagePage(cssHref(ctx), 'Not allowed', 'This address does not accept that request.'), { allow });
}
