import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client.js';
import type { ProgressEvent, ServerModel } from '../api/types.js';

interface SpawnProgressProps {
  /** The server's progress_url (Server-Sent Events). */
  progressUrl: string;
  /** "default" or the server name, for labels. */
  label: string;
  /** Set once the start has ended; the bar and log stay for reading. */
  outcome: 'ready' | 'failed' | null;
  /** Reads the server's current model; used when the stream breaks. */
  fetchServer: () => Promise<ServerModel | undefined>;
  onReady: (url: string) => void;
  onFailed: (message: string) => void;
}

const POLL_MS = 2000;

/**
 * Follows a start on the hub's progress stream: a bar from 0 to 100 and every message in a log
 * below it. Only `message` is shown; `html_message` is never rendered, the portal shows no
 * server-made HTML.
 */
export function SpawnProgress({ progressUrl, label, outcome, fetchServer, onReady, onFailed }: SpawnProgressProps) {
  const [progress, setProgress] = useState(0);
  const [lines, setLines] = useState<string[]>([]);
  const [broken, setBroken] = useState(false);
  const log = useRef<HTMLOListElement | null>(null);
  // Callbacks change identity with every parent render; the stream must not restart for that.
  const handlers = useRef({ fetchServer, onReady, onFailed });
  useEffect(function keepHandlers() {
    handlers.current = { fetchServer, onReady, onFailed };
  });

  useEffect(
    function follow() {
      let finished = false;
      let pollTimer: number | undefined;
      const source = new EventSource(progressUrl);

      function finish() {
        finished = true;
        source.close();
        window.clearTimeout(pollTimer);
      }

      source.onmessage = function onProgressEvent(event: MessageEvent<string>) {
        let data: ProgressEvent;
        try {
          data = JSON.parse(event.data) as ProgressEvent;
        } catch {
          return; // keepalives and anything unparsable carry no progress
        }
        setBroken(false);
        if (typeof data.progress === 'number' && Number.isFinite(data.progress)) {
          setProgress(Math.max(0, Math.min(100, data.progress)));
        }
        const message = data.message;
        if (typeof message === 'string' && message !== '') {
          setLines(function append(prev) {
            return [...prev, message];
          });
        }
        if (data.ready) {
          finish();
          setProgress(100);
          handlers.current.onReady(data.url ?? '');
        } else if (data.failed) {
          finish();
          handlers.current.onFailed(data.message || 'The server failed to start.');
        }
      };

      // The stream broke (hub restart, proxy timeout, or it ended without a final event):
      // ask the user model where the start stands; EventSource reconnects by itself unless
      // the hub refused the stream, then poll.
      source.onerror = function onStreamError() {
        if (finished) return;
        setBroken(true);
        void checkServer();
      };

      async function checkServer() {
        window.clearTimeout(pollTimer);
        let server: ServerModel | undefined;
        try {
          server = await handlers.current.fetchServer();
        } catch (err) {
          if (finished) return;
          // Session gone or server deleted: waiting longer cannot help.
          if (err instanceof ApiError && [401, 403, 404].includes(err.status)) {
            finish();
            handlers.current.onFailed(err.message);
          } else {
            pollTimer = window.setTimeout(checkServer, POLL_MS);
          }
          return;
        }
        if (finished) return;
        if (server?.ready && server.pending === null) {
          finish();
          setProgress(100);
          handlers.current.onReady(server.url);
        } else if (!server || (server.pending === null && !server.ready)) {
          finish();
          handlers.current.onFailed('The server stopped before it was ready.');
        } else if (source.readyState === EventSource.CLOSED) {
          pollTimer = window.setTimeout(checkServer, POLL_MS);
        }
      }

      return finish;
    },
    [progressUrl],
  );

  useEffect(
    function scrollLog() {
      // Keep the newest line in view inside the log box without moving the page.
      if (log.current) log.current.scrollTop = log.current.scrollHeight;
    },
    [lines.length],
  );

  return (
    <section className="card progress-card" aria-labelledby="progress-title">
      <h2 id="progress-title">{outcome === 'failed' ? `Start of ${label} failed` : outcome === 'ready' ? `${label} is ready` : `Starting ${label}`}</h2>
      <div className="progress-row">
        <progress
          className={outcome === 'failed' ? 'progress progress-failed' : 'progress'}
          data-testid="spawn-progress"
          max={100}
          value={progress}
          aria-labelledby="progress-title"
          aria-valuetext={`${Math.round(progress)} percent`}
        >
          {Math.round(progress)}%
        </progress>
        <span className="progress-value" aria-hidden="true">
          {Math.round(progress)}%
        </span>
      </div>
      {broken && outcome === null ? (
        <p className="hint" role="status">
          Connection to the progress stream lost; checking the server…
        </p>
      ) : null}
      <h3 className="log-title">Event log</h3>
      <ol ref={log} className="event-log" role="log" aria-live="polite" data-testid="spawn-log">
        {lines.length === 0 ? <li className="muted">Waiting for the first event…</li> : null}
        {lines.map(function line(text, i) {
          return <li key={i}>{text}</li>;
        })}
      </ol>
    </section>
  );
}
