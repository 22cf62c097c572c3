import { Link } from '../components/Link.js';
import { usePageTitle } from '../session.js';

/** Any path under /hub/ the portal does not know. */
export function NotFoundPage({ path }: { path: string }) {
  usePageTitle('Not found');
  return (
    <section className="card" aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
      <p>
        <Link to="/hub/home" data-testid="go-home">
          Go to the home page
        </Link>
      </p>
    </section>
  );
}
