import { useSyncExternalStore } from 'react';

/**
 * A tiny router: the page is chosen from location.pathname; in-portal links use
 * history.pushState and notify subscribers. Pages outside the SPA (login, logout, user servers)
 * are reached by full navigation with plain links.
 */

const NAVIGATE_EVENT = 'highrate:navigate';

/** Moves to another portal page without reloading. */
export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  window.scrollTo(0, 0);
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return function unsubscribe() {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

function snapshot(): string {
  return location.pathname + location.search;
}

/** The current path and query string, re-rendering on navigation. */
export function useLocation(): URL {
  const href = useSyncExternalStore(subscribe, snapshot);
  return new URL(href, location.origin);
}

/** What the SPA renders for a path. */
export type Route =
  | { page: 'home' }
  | { page: 'spawn'; user: string | null; server: string }
  | { page: 'token' }
  | { page: 'resources' }
  | { page: 'clusters' }
  | { page: 'data' }
  | { page: 'cluster'; name: string }
  | { page: 'admin'; section: 'users' | 'groups' | 'activity' | 'audit' | 'roles' }
  | { page: 'not-found' };

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * Maps a pathname under /hub/ to a page. `/hub/spawn` without a user means the caller;
 * `/hub/spawn/<user>` is that user's default server.
 */
export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(function nonEmpty(p) {
    return p !== '';
  });
  if (parts[0] !== 'hub') return { page: 'not-found' };
  const rest = parts.slice(1);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === 'home')) return { page: 'home' };
  if (rest.length === 1 && rest[0] === 'token') return { page: 'token' };
  if (rest.length === 1 && rest[0] === 'resources') return { page: 'resources' };
  if (rest.length === 1 && rest[0] === 'clusters') return { page: 'clusters' };
  if (rest.length === 1 && rest[0] === 'data') return { page: 'data' };
  if (rest.length === 2 && rest[0] === 'clusters') {
    const name = decodeSegment(rest[1]!);
    return name === null ? { page: 'not-found' } : { page: 'cluster', name };
  }
  if (rest[0] === 'admin' && rest.length <= 2) {
    const section = rest[1] ?? 'users';
    if (section === 'users' || section === 'groups' || section === 'activity' || section === 'audit' || section === 'roles') return { page: 'admin', section };
    return { page: 'not-found' };
  }
  // spawn-pending is where JupyterHub sends browsers during a start; same page here.
  if ((rest[0] === 'spawn' || rest[0] === 'spawn-pending') && rest.length <= 3) {
    const user = rest.length >= 2 ? decodeSegment(rest[1]!) : null;
    const server = rest.length === 3 ? decodeSegment(rest[2]!) : '';
    if ((rest.length >= 2 && user === null) || server === null) return { page: 'not-found' };
    return { page: 'spawn', user, server };
  }
  return { page: 'not-found' };
}
