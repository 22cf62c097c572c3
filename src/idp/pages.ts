/**
 * The embedded IdP's server-rendered pages: login, logout confirmation, messages and errors.
 * No inline scripts or styles anywhere (a strict CSP applies, see `securityHeaders`); one small
 * stylesheet is served from `<issuer path>/assets/idp.css`. Every value that a user or a client
 * could influence goes through `escapeHtml`.
 */

/** HTML-escapes text for element content and double- or single-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Path of the stylesheet below the issuer path. */
export const STYLESHEET_PATH = '/assets/idp.css';

export const STYLESHEET = `*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f3f5f8;color:#1d2430;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:24rem;margin:1rem;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{margin:0 0 .25rem;font-size:1.4rem}
p.sub{margin:0 0 1.25rem;color:#5a6473}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.55rem .6rem;border:1px solid #b9c1cc;border-radius:.3rem;font:inherit}
input:focus{outline:2px solid #2f6fde;outline-offset:1px}
button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:.3rem;background:#2f6fde;color:#fff;font:inherit;font-weight:600;cursor:pointer}
button.secondary{margin-top:.5rem;background:#e6e9ee;color:#1d2430}
p.error{margin:0 0 1rem;padding:.6rem .75rem;border-radius:.3rem;background:#fdecea;color:#8a1c12}
p.note{color:#5a6473;font-size:.9rem}
`;

/**
 * Headers for every IdP response. The CSP allows no inline code: styles only from our stylesheet,
 * forms only to ourselves and to the clients' redirect origins (browsers apply `form-action` to
 * the redirects that follow a form post, and the login post ends in a redirect to the client).
 * `script-src 'self'` (no script is served) lets oidc-provider's own auto-submit page for a logout
 * without a session add the hash of its one script, which it does for an existing script-src.
 */
export function securityHeaders(formActionOrigins: string[]): Record<string, string> {
  const formAction = ["'self'", ...formActionOrigins].join(' ');
  return {
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // The interaction URLs carry the interaction id; never leak them to other sites.
    'referrer-policy': 'no-referrer',
  };
}

function page(title: string, cssHref: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/svg+xml" href="/hub/static/favicon.svg">
<link rel="stylesheet" href="${escapeHtml(cssHref)}">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPageInput {
  cssHref: string;
  /** Where the form posts (username, password). */
  action: string;
  /** Where the Cancel button posts. */
  abortAction: string;
  /** The name of the application asking for the login. */
  clientName: string;
  /** The username typed before (re-shown after an error); never the password. */
  username?: string;
  error?: string;
}

/** The username + password form. Field names: `username`, `password`. */
export function loginPage(input: LoginPageInput): string {
  const username = input.username ?? '';
  return page('Sign in', input.cssHref, `<h1>Sign in</h1>
<p class="sub">to continue to ${escapeHtml(input.clientName)}</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256" value="${escapeHtml(username)}"${username ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${username ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<button type="submit" class="secondary">Cancel</button>
</form>`);
}

/** A page with a heading and one message (expired login, refused request, signed out…). */
export function messagePage(cssHref: string, title: string, message: string): string {
  return page(title, cssHref, `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>`);
}

/**
 * The RP-initiated logout confirmation. `form` is oidc-provider's own hidden form (its action and
 * one-time xsrf value, already escaped by it); the buttons submit it through the `form` attribute,
 * so no script is needed.
 */
export function logoutPage(cssHref: string, host: string, form: string): string {
  return page('Sign out', cssHref, `<h1>Sign out</h1>
<p class="sub">Do you want to sign out from ${escapeHtml(host)}?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`);
}

/** Shown after a logout that named no (registered) post_logout_redirect_uri. */
export function loggedOutPage(cssHref: string): string {
  return messagePage(cssHref, 'Signed out', 'You have been signed out. You can close this window.');
}

/** oidc-provider's errors for browser-facing routes (bad authorization request and the like). */
export function errorPage(cssHref: string, error: string, description?: string): string {
  return page('Sign-in error', cssHref, `<h1>Sign-in error</h1>
<p>The sign-in request could not be completed${description ? ':' : '.'}</p>
${description ? `<p class="error">${escapeHtml(description)}</p>` : ''}
<p class="note">Error code: ${escapeHtml(error)}. Go back to the application and try again.</p>`);
}
