import { useEffect, useState } from 'react';

/**
 * A cluster's start as the hub streams it (server-sent events, like a server's spawn progress):
 * a bar and every message. Ends at `ready` or `failed`; the page reloads the cluster then.
 */
export function ClusterProgress({ url, onEnd }: { url: string; onEnd: () => void }) {
  const [progress, setProgress] = useState(0);
  const [lines, setLines] = useState<string[]>([]);

  useEffect(
    function follow() {
      const source = new EventSource(url);
      source.onmessage = function onEvent(event: MessageEvent<string>) {
        let data: { progress?: number; message?: string; ready?: boolean; failed?: boolean };
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        if (typeof data.progress === 'number') setProgress(Math.max(0, Math.min(100, data.progress)));
        if (data.message) setLines((prev) => [...prev, data.message!]);
        if (data.ready || data.failed) {
          source.close();
          onEnd();
        }
      };
      source.onerror = function onStreamError() {
        source.close();
        onEnd();
      };
      return function stop() {
        source.close();
      };
    },
    // onEnd only reloads; restarting the stream for a new callback would replay it.
    [url],
  );

  return (
    <section className="card" aria-labelledby="cluster-progress-title" data-testid="cluster-progress">
      <h2 id="cluster-progress-title">Starting</h2>
      <div className="progress-row">
        <progress className="progress" max={100} value={progress} aria-label="Cluster start progress" />
        <span className="progress-value">{progress}%</span>
      </div>
      <ol className="event-log">
        {lines.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
    </section>
  );
}
