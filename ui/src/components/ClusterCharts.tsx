import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client.js';
import { clusterPath, formatBytes, type DashboardData } from './ClusterApi.js';
import { appendSample, TaskStream, type StreamSample } from './ClusterTaskStream.js';

const POLL_MS = 2000;
/** Colours of task states, as Dask's own dashboard draws them (roughly). */
const STATE_ORDER = ['memory', 'processing', 'queued', 'waiting', 'no-worker', 'erred', 'released'] as const;

interface BarRow {
  label: string;
  /** Segments from the left, each a share of `max`. */
  parts: Array<{ value: number; kind: string }>;
  max: number;
  text: string;
}

/**
 * Horizontal bars drawn as SVG (rect widths are attributes, which the portal's CSP allows; it
 * forbids inline styles). One row per item, its value as text beside it.
 */
function Bars({ title, rows, testId }: { title: string; rows: BarRow[]; testId: string }) {
  return (
    <figure className="cluster-chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? <p className="muted">Nothing yet.</p> : null}
      <ul className="cluster-bars">
        {rows.map(function bar(r) {
          let x = 0;
          return (
            <li key={r.label}>
              <span className="cluster-bar-label mono" title={r.label}>
                {r.label}
              </span>
              <svg className="cluster-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={`${r.label}: ${r.text}`}>
                <rect className="cluster-bar-track" x="0" y="0" width="100" height="10" />
                {r.parts.map(function part(p, i) {
                  const w = r.max > 0 ? Math.max(0, Math.min(100 - x, (p.value / r.max) * 100)) : 0;
                  const rect = <rect key={i} className={`cluster-bar-${p.kind}`} x={x} y="0" width={w} height="10" />;
                  x += w;
                  return rect;
                })}
              </svg>
              <span className="cluster-bar-text">{r.text}</span>
            </li>
          );
        })}
      </ul>
    </figure>
  );
}

/**
 * Live dashboards of a running cluster, from the scheduler's JSON and Prometheus endpoints (read
 * by the hub): workers, cores, memory per worker, CPU per worker, tasks by state and progress by
 * task prefix. Debian's Dask has no bokeh; when the scheduler has it, its own dashboard is linked.
 */
export function ClusterCharts({ name, dashboardRoute }: { name: string; dashboardRoute: string | null }) {
  const [data, setData] = useState<DashboardData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stream, setStream] = useState<StreamSample[]>([]);

  useEffect(
    function poll() {
      let stopped = false;
      let timer: number | undefined;
      async function load() {
        try {
          const r = await api<DashboardData>('GET', `${clusterPath(name)}/dashboard`);
          if (!stopped && r.body) {
            const body = r.body;
            setData(body);
            setStream((h) => appendSample(h, body.progress, Date.parse(body.time) || Date.now()));
            setError(null);
          }
        } catch (err) {
          if (!stopped) setError(errorMessage(err));
        }
        if (!stopped) timer = window.setTimeout(load, POLL_MS);
      }
      void load();
      return function stop() {
        stopped = true;
        window.clearTimeout(timer);
      };
    },
    [name],
  );
  useEffect(function newCluster() { setStream([]); }, [name]);

  if (data === null) return error ? <p className="muted">Dashboard unavailable: {error}</p> : <p className="muted">Reading the scheduler…</p>;
  const t = data.totals;
  const taskTotal = STATE_ORDER.reduce((sum, s) => sum + (data.tasks[s] ?? 0), 0);
  return (
    <section className="card cluster-dashboard" aria-labelledby="dashboard-title" data-testid="cluster-dashboard">
      <h2 id="dashboard-title">Dashboard</h2>
      <dl className="cluster-summary">
        <div><dt>Workers</dt><dd data-testid="dash-workers">{t.workers}</dd></div>
        <div><dt>Cores</dt><dd data-testid="dash-threads">{t.threads}</dd></div>
        <div><dt>Memory</dt><dd>{formatBytes(t.memory)} of {formatBytes(t.memoryLimit)}</dd></div>
        <div><dt>Results held</dt><dd>{formatBytes(t.managed)}</dd></div>
        <div><dt>Workers wanted by the scheduler</dt><dd>{data.desiredWorkers ?? '—'}</dd></div>
      </dl>
      {error ? <p className="muted">Last update failed: {error}</p> : null}
      <div className="cluster-charts">
        <Bars
          title="Memory per worker"
          testId="chart-memory"
          rows={data.workers.map((w) => ({
            label: w.name.replace(/^dask-worker-[0-9a-f]+-/, 'worker '),
            parts: [{ value: Math.min(w.managed, w.memory), kind: 'managed' }, { value: Math.max(0, w.memory - w.managed), kind: 'unmanaged' }],
            max: w.memoryLimit || w.memory,
            text: `${formatBytes(w.memory)} / ${formatBytes(w.memoryLimit)}`,
          }))}
        />
        <Bars
          title="CPU per worker"
          testId="chart-cpu"
          rows={data.workers.map((w) => ({
            label: w.name.replace(/^dask-worker-[0-9a-f]+-/, 'worker '),
            parts: [{ value: w.cpu, kind: 'cpu' }],
            max: Math.max(100, w.threads * 100),
            text: `${Math.round(w.cpu)}% · ${w.executing} running`,
          }))}
        />
        <Bars
          title="Tasks by state"
          testId="chart-tasks"
          rows={taskTotal === 0 ? [] : [{ label: 'tasks', parts: STATE_ORDER.map((s) => ({ value: data.tasks[s] ?? 0, kind: `task-${s}` })), max: taskTotal, text: STATE_ORDER.filter((s) => data.tasks[s]).map((s) => `${data.tasks[s]} ${s}`).join(', ') }]}
        />
        <TaskStream history={stream} />
        <Bars
          title="Progress"
          testId="chart-progress"
          rows={data.progress.map((p) => ({
            label: p.prefix,
            parts: [{ value: p.done, kind: 'task-memory' }, { value: p.erred, kind: 'task-erred' }, { value: p.processing, kind: 'task-processing' }],
            max: p.total,
            text: `${p.done} / ${p.total}${p.erred ? `, ${p.erred} erred` : ''}`,
          }))}
        />
      </div>
      <p className="hint">
        {data.bokeh && dashboardRoute ? (
          <a href={dashboardRoute}>The scheduler's own dashboard</a>
        ) : (
          <>The scheduler's own (bokeh) dashboard is not available: its image has no bokeh. The charts above come from its JSON and Prometheus endpoints.</>
        )}
      </p>
    </section>
  );
}
