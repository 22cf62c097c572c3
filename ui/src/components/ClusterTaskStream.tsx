/**
 * A task stream without bokeh: tasks finished per polling interval, stacked by task prefix, over
 * the last two minutes, from the per-prefix totals the scheduler's Prometheus endpoint counts (the
 * hub's dashboard data). Each prefix keeps its colour; hovering a segment or a legend entry shows
 * the full prefix name and the counts. Colours are SVG `fill` attributes (the portal's CSP forbids
 * inline styles, not presentation attributes).
 */

/** One poll: finished tasks so far, by prefix. */
export interface StreamSample {
  time: number;
  done: Record<string, number>;
}

/** How many polls the stream keeps (2 s apart: two minutes). */
export const STREAM_SAMPLES = 60;

/** Appends a poll, keeping the last STREAM_SAMPLES + 1 (deltas need one before the first column). */
export function appendSample(history: StreamSample[], progress: Array<{ prefix: string; done: number; erred: number }>, time: number): StreamSample[] {
  const done: Record<string, number> = {};
  for (const p of progress) done[p.prefix] = p.done + p.erred;
  return [...history, { time, done }].slice(-(STREAM_SAMPLES + 1));
}

/** A stable colour for a prefix (hue from its name). */
export function prefixColour(prefix: string): string {
  let h = 0;
  for (let i = 0; i < prefix.length; i++) h = (h * 31 + prefix.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360}, 60%, 50%)`;
}

/** Tasks finished between consecutive polls, by prefix (a prefix that restarted counts from 0). */
export function columns(history: StreamSample[]): Array<{ from: number; to: number; counts: Array<[string, number]> }> {
  const out: Array<{ from: number; to: number; counts: Array<[string, number]> }> = [];
  for (let i = 1; i < history.length; i++) {
    const before = history[i - 1]!;
    const now = history[i]!;
    const counts: Array<[string, number]> = [];
    for (const [prefix, n] of Object.entries(now.done)) {
      const prev = before.done[prefix] ?? 0;
      const d = n >= prev ? n - prev : n;
      if (d > 0) counts.push([prefix, d]);
    }
    counts.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    out.push({ from: before.time, to: now.time, counts });
  }
  return out;
}

export function TaskStream({ history }: { history: StreamSample[] }) {
  const cols = columns(history);
  const peak = Math.max(1, ...cols.map((c) => c.counts.reduce((s, [, n]) => s + n, 0)));
  const prefixes = [...new Set(cols.flatMap((c) => c.counts.map(([p]) => p)))].sort();
  const width = 100 / STREAM_SAMPLES;
  return (
    <figure className="cluster-chart cluster-stream" data-testid="chart-task-stream">
      <figcaption>Task stream (tasks finished per 2 s, last 2 minutes)</figcaption>
      {prefixes.length === 0 ? <p className="muted">No tasks finished yet.</p> : null}
      <svg className="cluster-stream-plot" viewBox="0 0 100 40" preserveAspectRatio="none" role="img" aria-label="Tasks finished over time, by task prefix">
        <rect className="cluster-bar-track" x="0" y="0" width="100" height="40" />
        {cols.map(function column(c, i) {
          const x = (STREAM_SAMPLES - cols.length + i) * width;
          let y = 40;
          return c.counts.map(function segment([prefix, n]) {
            const h = (n / peak) * 40;
            y -= h;
            return (
              <rect key={`${i}-${prefix}`} x={x} y={y} width={width * 0.9} height={h} fill={prefixColour(prefix)} data-prefix={prefix}>
                <title>{`${prefix}: ${n} finished between ${new Date(c.from).toLocaleTimeString()} and ${new Date(c.to).toLocaleTimeString()}`}</title>
              </rect>
            );
          });
        })}
      </svg>
      <ul className="cluster-stream-legend">
        {prefixes.map((p) => (
          <li key={p} title={p}>
            <svg className="cluster-stream-swatch" viewBox="0 0 10 10" aria-hidden="true"><rect x="0" y="0" width="10" height="10" fill={prefixColour(p)} /></svg>
            <span className="mono">{p}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
