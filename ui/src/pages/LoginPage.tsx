import { loginPath } from '../api/paths.js';
import { usePageTitle } from '../session.js';

interface LoginPageProps {
  /** Where the hub should send the user back after logging in, if anywhere. */
  next: string | null;
}

/** Shown to visitors without a session. */
export function LoginPage({ next }: LoginPageProps) {
  usePageTitle('Log in');
  return (
    <section className="card login-card" aria-labelledby="login-title">
      <h1 id="login-title">Welcome to highrate</h1>
      <p>Log in to start notebook servers and use the analysis facility.</p>
      <a className="button button-primary button-large" href={loginPath(next)} data-testid="login">
        Log in
      </a>
    </section>
  );
}
