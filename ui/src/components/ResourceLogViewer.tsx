import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/client.js';
import { Alert } from './Alert.js';
import { workloadLogsPath, type WorkloadModel } from './ResourceTypes.js';

/** The viewer keeps at most this much text (the end of the log) while following. */
const MAX_CHARS = 512 * 1024;

/** The hub's error message of a failed log request. */
async function failureOf(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { message?: string };
    if (body.message) return body.message;
  } catch {
    /* not JSON */
  }
  return `Request failed: HTTP ${res.status}`;
}

/**
 * One workload's log: a container, the last N lines, and optionally following it as the
 * container writes (a streamed response read chunk by chunk; Stop aborts it).
 */
export function ResourceLogViewer({ workload }: { workload: WorkloadModel }) {
  const names = workload.containers.length ? workload.containers.map((c) => c.name) : [];
  const [container, setContainer] = useState(names.find((n) => !workload.containers.find((c) => c.name === n)?.init) ?? names[0] ?? '');
  const [tail, setTail] = useState('200');
  const [follow, setFollow] = useState(false);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [streaming, setStreaming] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const pre = useRef<HTMLPreElement | null>(null);

  useEffect(
    function stopOnLeave() {
      return function unmount() {
        abort.current?.abort();
      };
    },
    [workload.uid],
  );

  useEffect(
    function scrollToEnd() {
      if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
    },
    [text],
  );

  async function show(event?: FormEvent<HTMLFormElement>) {
    event?.preventDefault();
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setError(null);
    setText('');
    const lines = /^\d+$/.test(tail) ? Number(tail) : 0;
    setStreaming(follow);
    try {
      const res = await fetch(workloadLogsPath(workload.uid, container, lines, follow), { credentials: 'same-origin', cache: 'no-store', signal: ac.signal });
      if (!res.ok) throw new ApiError(res.status, await failureOf(res));
      const reader = res.body?.getReader();
      if (!reader) {
        setText(await res.text());
        return;
      }
      const decoder = new TextDecoder();
      let all = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        all += decoder.decode(value, { stream: true });
        if (all.length > MAX_CHARS) all = all.slice(all.length - MAX_CHARS);
        setText(all);
      }
      all += decoder.decode();
      setText(all);
    } catch (err) {
      if (!ac.signal.aborted) setError(errorMessage(err));
    } finally {
      if (abort.current === ac) setStreaming(false);
    }
  }

  function stop() {
    abort.current?.abort();
    setStreaming(false);
  }

  return (
    <section className="card" aria-labelledby="log-heading" data-testid="log-viewer">
      <h2 id="log-heading" className="log-title">
        Log of {workload.role} {workload.name || '(default)'} <span className="muted mono">{workload.uid}</span>
      </h2>
      <form className="inline-form" onSubmit={(e) => void show(e)}>
        <div className="field">
          <label htmlFor="log-container">Container</label>
          {names.length ? (
            <select id="log-container" value={container} onChange={(e) => setContainer(e.target.value)} data-testid="log-container">
              {names.map(function option(n) {
                return (
                  <option key={n} value={n}>
                    {n}
                  </option>
                );
              })}
            </select>
          ) : (
            // The executor did not report containers: the name is typed (empty: the first).
            <input id="log-container" value={container} onChange={(e) => setContainer(e.target.value)} data-testid="log-container" />
          )}
        </div>
        <div className="field">
          <label htmlFor="log-tail">Last lines (0: all)</label>
          <input id="log-tail" inputMode="numeric" pattern="[0-9]*" value={tail} onChange={(e) => setTail(e.target.value)} data-testid="log-tail" />
        </div>
        <div className="field">
          <label>
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="log-follow" /> Follow
          </label>
        </div>
        <button type="submit" className="button button-primary" data-testid="log-show">
          Show
        </button>
        {streaming ? (
          <button type="button" className="button" onClick={stop} data-testid="log-stop">
            Stop
          </button>
        ) : null}
      </form>
      {error !== null ? (
        <Alert kind="error" title="The log could not be read">
          <p>{error}</p>
        </Alert>
      ) : null}
      {text !== null ? (
        <pre className="failure-log mono" ref={pre} data-testid="log-text" aria-live={streaming ? 'polite' : undefined}>
          {text === '' ? (streaming ? 'Waiting for output…' : '(empty)') : text}
        </pre>
      ) : null}
    </section>
  );
}
