import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage } from '../api/client.js';
import { currentUserPath, profilesPath, progressPath, serverPath, userPath } from '../api/paths.js';
import type { Profile, ProfilesResponse, ServerModel, StartRequest, UserModel } from '../api/types.js';
import { Alert } from '../components/Alert.js';
import { Link } from '../components/Link.js';
import { SpawnForm, initialChoice, type SpawnChoice } from '../components/SpawnForm.js';
import { SpawnProgress } from '../components/SpawnProgress.js';
import { linkWithin, serverUrl } from '../links.js';
import { serverLabel } from '../format.js';
import { usePageTitle } from '../session.js';

interface SpawnPageProps {
  /** The logged-in user. */
  self: UserModel;
  /** Whose server to start; null means the logged-in user. */
  targetUser: string | null;
  /** "" for the default server. */
  server: string;
  /** `?next=`: the link into this server that led here, opened once it is ready. */
  next?: string | null;
}

/** Where the page is in a start. */
type Phase =
  | { kind: 'loading' }
  | { kind: 'load-failed'; message: string }
  | { kind: 'form' }
  | { kind: 'submitting' }
  | ({ kind: 'waiting'; request: StartRequest } & Waiting)
  | { kind: 'progress'; progressUrl: string }
  | { kind: 'ready'; url: string }
  | { kind: 'failed'; message: string }
  | { kind: 'running'; url: string }
  | { kind: 'stopping' };

const POLL_MS = 1500;

/** A start the hub refused for now (429): why, the place in line, and when the page asks again. */
interface Waiting {
  code: string;
  message: string;
  /** 1: next in line (SPAWN_LIMIT only). */
  position: number | null;
  /** ms timestamp of the next attempt. */
  retryAt: number;
}

/** The hub's "not now" answers, which the page retries by itself after Retry-After. */
const RETRIED = new Set(['SPAWN_LIMIT', 'ACTIVE_SERVER_LIMIT', 'RATE_LIMITED']);

/** What to wait for, if `err` is a refusal for now rather than a failure. */
function waitingFor(err: unknown): Waiting | null {
  if (!(err instanceof ApiError) || err.status !== 429 || !err.code || !RETRIED.has(err.code)) return null;
  const fromBody = typeof err.body?.retryAfter === 'number' ? err.body.retryAfter : null;
  const seconds = Math.min(300, Math.max(1, err.retryAfter ?? fromBody ?? 10));
  const position = typeof err.body?.position === 'number' && err.body.position >= 1 ? err.body.position : null;
  return { code: err.code, message: err.message, position, retryAt: Date.now() + seconds * 1000 };
}

/** "Waiting to start: 12 ahead of you", or why the page waits when there is no line. */
function waitingHeadline(w: Waiting): string {
  if (w.code === 'SPAWN_LIMIT') {
    if (w.position === null) return 'Waiting to start';
    return w.position === 1 ? 'Waiting to start: you are next' : `Waiting to start: ${w.position - 1} ahead of you`;
  }
  if (w.code === 'ACTIVE_SERVER_LIMIT') return 'Waiting for a free place';
  return 'Waiting a moment';
}

/** The start form for one server, then its progress until it is ready or has failed. */
export function SpawnPage({ self, targetUser, server, next = null }: SpawnPageProps) {
  const owner = targetUser ?? self.name;
  // Only a path inside this very server: never another site, never a hub page.
  const link = linkWithin(next, serverUrl(owner, server));
  const forSelf = owner === self.name;
  const title = server === '' ? (forSelf ? 'Start your server' : `Start the server of ${owner}`) : `Start server “${server}”${forSelf ? '' : ` of ${owner}`}`;
  usePageTitle(title);

  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [choice, setChoice] = useState<SpawnChoice | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** What the hub noted about the request (more cores or memory than the executor reports). */
  const [warnings, setWarnings] = useState<string[]>([]);
  // The stream being followed; kept after the end so the event log stays readable.
  const [followed, setFollowed] = useState<string | null>(null);

  const fetchOwner = useCallback(
    async function fetchOwner(): Promise<UserModel> {
      const { body } = await api<UserModel>('GET', forSelf ? currentUserPath : userPath(owner));
      if (!body) throw new ApiError(0, 'The hub answered without a user model.');
      return body;
    },
    [forSelf, owner],
  );

  /** Decides what to show from the server's current state. */
  const phaseFor = useCallback(
    function phaseFor(model: ServerModel | undefined): Phase {
      if (model?.pending === 'spawn') return { kind: 'progress', progressUrl: model.progress_url || progressPath(owner, server) };
      if (model?.pending === 'stop') return { kind: 'stopping' };
      if (model?.ready) return { kind: 'running', url: model.url };
      return { kind: 'form' };
    },
    [owner, server],
  );

  useEffect(
    function load() {
      let live = true;
      setPhase({ kind: 'loading' });
      Promise.all([api<ProfilesResponse>('GET', profilesPath), fetchOwner()]).then(
        function loaded([{ body }, model]) {
          if (!live) return;
          const list = body?.profiles ?? [];
          const current = model.servers?.[server];
          setProfiles(list);
          setChoice(initialChoice(list, current?.user_options ?? null));
          setPhase(phaseFor(current));
        },
        function failed(err: unknown) {
          if (live) setPhase({ kind: 'load-failed', message: errorMessage(err) });
        },
      );
      return function cancel() {
        live = false;
      };
    },
    [fetchOwner, phaseFor, server],
  );

  // A server that is stopping cannot be started: wait until it has stopped, then offer the form.
  useEffect(
    function waitForStop() {
      if (phase.kind !== 'stopping') return;
      const timer = window.setInterval(function poll() {
        fetchOwner().then(
          function checked(model) {
            const next = phaseFor(model.servers?.[server]);
            if (next.kind !== 'stopping') setPhase(next);
          },
          function ignored() {
            /* try again at the next tick */
          },
        );
      }, POLL_MS);
      return function stop() {
        window.clearInterval(timer);
      };
    },
    [phase.kind, fetchOwner, phaseFor, server],
  );

  useEffect(
    function openWhenReady() {
      // As JupyterHub's spawn pages: a running server sends the browser on to the link at once.
      if (phase.kind === 'ready' || (phase.kind === 'running' && link !== null)) window.location.assign(link ?? phase.url);
    },
    [phase, link],
  );

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!choice) return;
    setError(null);
    setPhase({ kind: 'submitting' });
    const request: StartRequest = { profile: choice.profile, cores: choice.cores, memory: choice.memory };
    if (choice.image !== undefined) request.image = choice.image;
    await start(request);
  }

  /** Asks the hub to start the server; a 429 "not now" waits its Retry-After and asks again. */
  async function start(request: StartRequest) {
    const mine = ++attempt.current;
    try {
      // 201: ready; 202: starting. JupyterHub sends no body, so the state comes from the user model.
      const { status, body } = await api<Partial<ServerModel> & { warnings?: string[] }>('POST', serverPath(owner, server), request);
      if (mine !== attempt.current) return;
      setWarnings(Array.isArray(body?.warnings) ? body.warnings.filter((w): w is string => typeof w === 'string') : []);
      const model = (await fetchOwner()).servers?.[server];
      const url = model?.url || body?.url || defaultServerUrl(owner, server);
      if (status === 201 || (model?.ready && model.pending === null)) {
        setPhase({ kind: 'ready', url });
      } else {
        setPhase({ kind: 'progress', progressUrl: model?.progress_url || body?.progress_url || progressPath(owner, server) });
      }
    } catch (err) {
      if (mine !== attempt.current) return;
      const wait = waitingFor(err);
      if (wait) {
        setPhase({ kind: 'waiting', request, ...wait });
        return;
      }
      setError(errorMessage(err));
      setPhase({ kind: 'form' });
    }
  }

  /** Counts attempts; "Stop waiting" bumps it, so the answer to a retry still in flight is ignored. */
  const attempt = useRef(0);
  // While waiting: a countdown each second, and the next attempt at `retryAt`. The hub keeps the
  // place in line only while the page keeps asking (docs/architecture.md, "Limits").
  const [now, setNow] = useState(() => Date.now());
  const waitingPhase = phase.kind === 'waiting' ? phase : null;
  useEffect(
    function retryWhenDue() {
      if (!waitingPhase) return;
      const tick = window.setInterval(function countdown() {
        setNow(Date.now());
      }, 1000);
      const due = window.setTimeout(function retry() {
        void start(waitingPhase.request);
      }, Math.max(0, waitingPhase.retryAt - Date.now()));
      return function cancel() {
        window.clearInterval(tick);
        window.clearTimeout(due);
      };
    },
    // Not `start`, a new function each render: each waiting phase object schedules exactly one attempt.
    [waitingPhase],
  );

  /** Gives the place in line back: a stop of a server that never started only leaves the line. */
  function stopWaiting() {
    if (phase.kind === 'waiting' && phase.code === 'SPAWN_LIMIT') {
      api('DELETE', serverPath(owner, server)).catch(function ignored() {
        /* the place expires by itself */
      });
    }
    attempt.current++;
    backToForm();
  }

  function backToForm() {
    setError(null);
    setFollowed(null);
    setPhase({ kind: 'form' });
  }

  useEffect(
    function rememberStream() {
      if (phase.kind === 'progress') setFollowed(phase.progressUrl);
    },
    [phase],
  );

  const showForm = phase.kind === 'form' || phase.kind === 'submitting';
  return (
    <>
      <div className="page-heading">
        <h1>{title}</h1>
        <Link to="/hub/home" className="button">
          Back to servers
        </Link>
      </div>
      {error !== null ? (
        <Alert kind="error" title="The server was not started" onDismiss={() => setError(null)}>
          <p>{error}</p>
        </Alert>
      ) : null}
      {warnings.length > 0 && !showForm ? (
        <Alert kind="warning" title="More than this machine reports" onDismiss={() => setWarnings([])}>
          {warnings.map((w) => (
            <p key={w} data-testid="spawn-warning">{w}</p>
          ))}
        </Alert>
      ) : null}
      {phase.kind === 'loading' ? <p className="muted" role="status">Loading…</p> : null}
      {phase.kind === 'load-failed' ? (
        <Alert kind="error" title="The start form could not be loaded">
          <p>{phase.message}</p>
        </Alert>
      ) : null}
      {showForm && choice ? (
        <SpawnForm profiles={profiles} choice={choice} onChange={setChoice} onSubmit={submit} submitting={phase.kind === 'submitting'} />
      ) : null}
      {showForm && !choice ? (
        <Alert kind="warning" title="No profiles">
          <p>The hub offers no profile to start a server with. Ask the administrators.</p>
        </Alert>
      ) : null}
      {phase.kind === 'failed' ? (
        <Alert kind="error" title="The server failed to start">
          <pre className="failure-log" data-testid="spawn-failure">
            {phase.message}
          </pre>
          <p className="alert-actions">
            <button type="button" className="button button-primary" onClick={backToForm} data-testid="spawn-retry">
              Change options and try again
            </button>
          </p>
        </Alert>
      ) : null}
      {followed !== null && (phase.kind === 'progress' || phase.kind === 'failed' || phase.kind === 'ready') ? (
        <SpawnProgress
          key={followed}
          progressUrl={followed}
          outcome={phase.kind === 'progress' ? null : phase.kind}
          label={serverLabel(server)}
          fetchServer={async () => (await fetchOwner()).servers?.[server]}
          onReady={(url) => setPhase({ kind: 'ready', url: url || defaultServerUrl(owner, server) })}
          onFailed={(message) => setPhase({ kind: 'failed', message })}
        />
      ) : null}
      {phase.kind === 'ready' ? (
        <Alert kind="success" title="Your server is ready">
          <p>
            Opening <a href={link ?? phase.url}>{link ?? phase.url}</a>…
          </p>
        </Alert>
      ) : null}
      {phase.kind === 'running' ? (
        <Alert kind="info" title="Already running">
          <p>This server is running. Stop it on the home page to start it with other options.</p>
          <p>
            <a className="button button-primary" href={phase.url} data-testid="open">
              Open
            </a>
          </p>
        </Alert>
      ) : null}
      {phase.kind === 'waiting' ? (
        <Alert kind="info" title={waitingHeadline(phase)}>
          <p role="status" data-testid="spawn-queue" data-position={phase.position ?? ''}>
            {phase.message} Trying again in {Math.max(0, Math.ceil((phase.retryAt - now) / 1000))} s.
          </p>
          <p className="alert-actions">
            <button type="button" className="button" onClick={stopWaiting} data-testid="spawn-queue-cancel">
              Stop waiting
            </button>
          </p>
        </Alert>
      ) : null}
      {phase.kind === 'stopping' ? (
        <Alert kind="info" title="Stopping">
          <p role="status">This server is stopping. The start form appears once it has stopped.</p>
        </Alert>
      ) : null}
    </>
  );
}

/** JupyterHub's URL layout, used only if the hub did not say where the server is. */
function defaultServerUrl(owner: string, server: string): string {
  const base = `/user/${encodeURIComponent(owner)}/`;
  return server === '' ? base : `${base}${encodeURIComponent(server)}/`;
}
