import { Link } from './Link.js';

interface HeaderProps {
  userName: string | null;
  current: 'home' | 'token' | 'admin' | 'resources' | 'clusters' | 'data' | 'other';
  /** Shows the Admin link (the API still decides what an admin may do). */
  isAdmin?: boolean;
}

/** The portal's top bar: name of the platform, the user, and the three places to go. */
export function Header({ userName, current, isAdmin = false }: HeaderProps) {
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to="/hub/home" className="brand" aria-label="highrate home">
          highrate
        </Link>
        {userName !== null ? (
          <nav className="site-nav" aria-label="Main">
            <Link to="/hub/home" aria-current={current === 'home' ? 'page' : undefined} data-testid="nav-home">
              Home
            </Link>
            <Link to="/hub/clusters" aria-current={current === 'clusters' ? 'page' : undefined} data-testid="nav-clusters">
              Clusters
            </Link>
            <Link to="/hub/data" aria-current={current === 'data' ? 'page' : undefined} data-testid="nav-data">
              Data
            </Link>
            <Link to="/hub/token" aria-current={current === 'token' ? 'page' : undefined} data-testid="nav-token">
              Token
            </Link>
            <Link to="/hub/resources" aria-current={current === 'resources' ? 'page' : undefined} data-testid="nav-resources">
              Resources
            </Link>
            {isAdmin ? (
              <Link to="/hub/admin" aria-current={current === 'admin' ? 'page' : undefined} data-testid="nav-admin">
                Admin
              </Link>
            ) : null}
            <span className="user-name" data-testid="user-name" title="Signed in as">
              {userName}
            </span>
            {/* Full navigation: the hub ends the session and redirects. */}
            <a href="/hub/logout" data-testid="logout">
              Log out
            </a>
          </nav>
        ) : null}
      </div>
    </header>
  );
}
