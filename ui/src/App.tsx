import { useEffect, useRef } from 'react';
import { Alert } from './components/Alert.js';
import { Header } from './components/Header.js';
import { HomePage } from './pages/HomePage.js';
import { LoginPage } from './pages/LoginPage.js';
import { NotFoundPage } from './pages/NotFoundPage.js';
import { SpawnPage } from './pages/SpawnPage.js';
import { TokenPage } from './pages/TokenPage.js';
import { ResourcesPage } from './pages/ResourcesPage.js';
import { AdminPage } from './pages/AdminPage.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { ClustersPage } from './pages/ClustersPage.js';
import { DataPage } from './pages/DataPage.js';
import { matchRoute, useLocation, type Route } from './router.js';
import type { UserModel } from './api/types.js';
import { useSession, type Session } from './session.js';

/** The portal: one header, then the page for location.pathname. */
export function App() {
  const location = useLocation();
  const route = matchRoute(location.pathname);
  const { session, reload } = useSession();
  const userName = session.status === 'ready' ? session.user.name : null;
  const current = route.page === 'home' || route.page === 'token' || route.page === 'admin' || route.page === 'resources' || route.page === 'data' ? route.page : route.page === 'clusters' || route.page === 'cluster' ? 'clusters' : 'other';
  const isAdmin = session.status === 'ready' && (session.user.admin || (session.user.scopes ?? []).some((s) => s === 'admin-ui' || s.startsWith('admin-ui!')));
  const main = useRef<HTMLElement | null>(null);
  const firstPath = useRef(location.pathname);

  // After an in-place navigation, start keyboard and screen-reader users at the new page.
  useEffect(
    function focusNewPage() {
      if (location.pathname === firstPath.current) return;
      firstPath.current = '';
      main.current?.focus({ preventScroll: true });
    },
    [location.pathname],
  );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header userName={userName} current={current} isAdmin={isAdmin} />
      <main id="main" className="main" tabIndex={-1} ref={main}>
        <Page route={route} session={session} reload={reload} location={location} />
      </main>
      <footer className="site-footer">
        highrate analysis facility
      </footer>
    </>
  );
}

interface PageProps {
  route: Route;
  session: Session;
  reload: () => Promise<UserModel | null>;
  location: URL;
}

function Page({ route, session, reload, location }: PageProps) {
  if (route.page === 'not-found') return <NotFoundPage path={location.pathname} />;
  switch (session.status) {
    case 'loading':
      return (
        <p className="muted" role="status">
          Loading…
        </p>
      );
    case 'error':
      return (
        <Alert kind="error" title="The hub could not be reached">
          <p>{session.message}</p>
          <p>
            <button type="button" className="button" onClick={() => void reload()}>
              Try again
            </button>
          </p>
        </Alert>
      );
    case 'anonymous': {
      // Come back here after logging in: the hub's own ?next= wins, else the page asked for.
      const askedFor = location.searchParams.get('next');
      const next = askedFor ?? (route.page === 'home' ? null : location.pathname + location.search);
      return <LoginPage next={next} />;
    }
    case 'ready':
      break;
  }
  const user = session.user;
  switch (route.page) {
    case 'home':
      return <HomePage user={user} reloadUser={reload} />;
    case 'spawn':
      return <SpawnPage key={`${route.user ?? ''}/${route.server}`} self={user} targetUser={route.user} server={route.server} next={location.searchParams.get('next')} />;
    case 'token':
      return <TokenPage user={user} />;
    case 'resources':
      return <ResourcesPage user={user} />;
    case 'admin':
      return <AdminPage user={user} section={route.section} />;
    case 'clusters':
      return <ClustersPage />;
    case 'cluster':
      return <ClusterPage key={route.name} name={route.name} />;
    case 'data':
      return <DataPage />;
  }
}
