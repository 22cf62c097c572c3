import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorMessage } from './api/client.js';
import { currentUserPath } from './api/paths.js';
import type { UserModel } from './api/types.js';

/** Who is looking at the portal, as far as GET /hub/api/user tells. */
export type Session =
  | { status: 'loading' }
  | { status: 'anonymous' }
  | { status: 'error'; message: string }
  | { status: 'ready'; user: UserModel };

/** Loads the caller's user model (stopped servers included) and lets pages refresh it. */
export function useSession(): { session: Session; reload: () => Promise<UserModel | null> } {
  const [session, setSession] = useState<Session>({ status: 'loading' });
  const mounted = useRef(true);

  const reload = useCallback(async function reloadSession(): Promise<UserModel | null> {
    try {
      const { body } = await api<UserModel>('GET', currentUserPath);
      if (!body) throw new ApiError(0, 'The hub answered without a user model.');
      if (mounted.current) setSession({ status: 'ready', user: body });
      return body;
    } catch (err) {
      // 401/403 is how the hub says "no session" (JupyterHub answers 403 to /api/user then).
      const anonymous = err instanceof ApiError && (err.status === 401 || err.status === 403);
      if (mounted.current) {
        // A passing failure while polling must not blank a page that already shows the user.
        setSession(function next(prev) {
          if (anonymous) return { status: 'anonymous' };
          return prev.status === 'ready' ? prev : { status: 'error', message: errorMessage(err) };
        });
      }
      return null;
    }
  }, []);

  useEffect(
    function loadOnce() {
      mounted.current = true;
      void reload();
      return function unmount() {
        mounted.current = false;
      };
    },
    [reload],
  );

  return { session, reload };
}

/** Sets the window title for a page. */
export function usePageTitle(title: string): void {
  useEffect(
    function setTitle() {
      document.title = title === '' ? 'highrate' : `${title} · highrate`;
    },
    [title],
  );
}
