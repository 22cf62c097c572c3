/**
 * Reads the hub's `_xsrf` cookie. The hub refuses cookie-authenticated state changes unless the
 * same value comes back in the X-XSRFToken header (JupyterHub's double-submit scheme), so the
 * cookie is deliberately not HttpOnly. The value is sent back exactly as stored: the hub compares
 * the raw strings.
 */
export function readXsrfToken(cookieHeader: string = document.cookie): string | null {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === '_xsrf') return part.slice(eq + 1).trim();
  }
  return null;
}
