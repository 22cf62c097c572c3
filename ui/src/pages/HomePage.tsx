import { useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage } from '../api/client.js';
import { profilesPath, serverPath, spawnPagePath } from '../api/paths.js';
import type { ProfilesResponse, ServerModel, UserModel } from '../api/types.js';
import { Alert } from '../components/Alert.js';
import { Link } from '../components/Link.js';
import { ServerTable } from '../components/ServerTable.js';
import { NotRunningNotice } from '../components/NotRunningNotice.js';
import { isActive, SERVER_NAME_PATTERN } from '../format.js';
import { navigate, useLocation } from '../router.js';
import { usePageTitle } from '../session.js';

interface HomePageProps {
  user: UserModel;
  reloadUser: () => Promise<UserModel | null>;
}

/** How often the user model is re-read while a server starts or stops. */
const POLL_MS = 1500;

/** The user's servers, with start/stop/open, and the form for a new named server. */
export function HomePage({ user, reloadUser }: HomePageProps) {
  usePageTitle('Home');
  // A link into a stopped server led here (the hub's /user/ redirect): say which, offer a start.
  const query = useLocation().searchParams;
  const notRunning = query.get('not_running');
  const [profiles, setProfiles] = useState<ProfilesResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const servers = user.servers ?? {};
  const inTransition = Object.values(servers).some(function pending(s) {
    return s.pending !== null;
  });
  // While a stop request is followed by stopServer itself, this page does not poll twice.
  const waiting = inTransition && busy.size === 0;

  // The session was read when the portal loaded; servers may have moved on since.
  useEffect(
    function refreshOnArrival() {
      void reloadUser();
    },
    [reloadUser],
  );

  useEffect(function loadProfiles() {
    let live = true;
    api<ProfilesResponse>('GET', profilesPath).then(
      function loaded({ body }) {
        if (live) setProfiles(body);
      },
      function failed(err: unknown) {
        if (live) setError(errorMessage(err));
      },
    );
    return function cancel() {
      live = false;
    };
  }, []);

  // Re-read the user model while anything is starting or stopping, so states move on their own.
  useEffect(
    function pollWhilePending() {
      if (!waiting) return;
      const timer = window.setInterval(function poll() {
        void reloadUser();
      }, POLL_MS);
      return function stopPolling() {
        window.clearInterval(timer);
      };
    },
    [waiting, reloadUser],
  );

  async function stopServer(name: string) {
    setError(null);
    setBusy(function add(prev) {
      return new Set(prev).add(name);
    });
    try {
      // 204: stopped; 202: stopping — then the user model is re-read until the server is stopped.
      await api('DELETE', serverPath(user.name, name));
      await waitUntilStopped(name);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(function remove(prev) {
        const next = new Set(prev);
        next.delete(name);
        return next;
      });
    }
  }

  async function waitUntilStopped(name: string) {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const fresh = await reloadUser();
      if (!fresh || !isActive(fresh.servers?.[name]) || Date.now() > deadline) return;
      await new Promise(function sleep(resolve) {
        window.setTimeout(resolve, POLL_MS);
      });
    }
  }

  const defaultServer: ServerModel | undefined = servers[''];
  return (
    <>
      <div className="page-heading">
        <h1>Your servers</h1>
        {!isActive(defaultServer) ? (
          <Link to={spawnPagePath(user.name, '', user.name)} className="button button-primary" data-testid="start-default">
            Start my server
          </Link>
        ) : null}
      </div>
      {error !== null ? (
        <Alert kind="error" title="Something went wrong" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {notRunning !== null ? <NotRunningNotice user={user} server={notRunning} next={query.get('next')} /> : null}
      <ServerTable user={user} busy={busy} onStop={stopServer} />
      {profiles?.named_servers ? <NamedServerForm user={user} limit={profiles.named_server_limit} /> : null}
    </>
  );
}

interface NamedServerFormProps {
  user: UserModel;
  limit: number;
}

/** Picks a name for a new named server, then hands over to the start form. */
function NamedServerForm({ user, limit }: NamedServerFormProps) {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const servers = user.servers ?? {};
  const namedCount = Object.keys(servers).filter(function named(n) {
    return n !== '';
  }).length;

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const wanted = name.trim();
    if (!SERVER_NAME_PATTERN.test(wanted)) {
      setProblem('Use 1 to 30 characters: lowercase letters, digits and hyphens.');
      return;
    }
    if (isActive(servers[wanted])) {
      setProblem(`A server named “${wanted}” is already running.`);
      return;
    }
    setProblem(null);
    navigate(spawnPagePath(user.name, wanted, user.name));
  }

  return (
    <section className="card" aria-labelledby="named-title">
      <h2 id="named-title">New named server</h2>
      <p className="muted">
        Named servers run next to your default server, each with its own resources.
        {limit > 0 ? ` You have ${namedCount} of at most ${limit}.` : null}
      </p>
      <form className="inline-form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="new-server-name">Server name</label>
          <input
            id="new-server-name"
            name="server_name"
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={30}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={problem !== null}
            aria-describedby="new-server-hint"
            data-testid="new-server-name"
          />
          <span id="new-server-hint" className={problem !== null ? 'field-error' : 'hint'}>
            {problem ?? 'Lowercase letters, digits and hyphens, up to 30 characters.'}
          </span>
        </div>
        <button type="submit" className="button" data-testid="new-server-submit">
          Add and start…
        </button>
      </form>
    </section>
  );
}
