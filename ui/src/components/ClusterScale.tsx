import { useState, type FormEvent } from 'react';
import type { ClusterModel } from './ClusterApi.js';

interface ClusterScaleProps {
  cluster: ClusterModel;
  busy: boolean;
  onScale: (count: number) => void;
  onAdapt: (minimum: number, maximum: number) => void;
  onStop: () => void;
}

/** Scale to N workers, or adapt between a minimum and a maximum; and shut the cluster down. */
export function ClusterScale({ cluster, busy, onScale, onAdapt, onStop }: ClusterScaleProps) {
  const [count, setCount] = useState(cluster.workers.requested ?? cluster.workers.running);
  const [minimum, setMinimum] = useState(cluster.adaptive?.minimum ?? 0);
  const [maximum, setMaximum] = useState(cluster.adaptive?.maximum ?? cluster.max_workers);

  function scale(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onScale(count);
  }

  function adapt(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onAdapt(minimum, maximum);
  }

  return (
    <section className="card" aria-labelledby="scale-title">
      <h2 id="scale-title">Workers</h2>
      <p className="muted">
        {cluster.adaptive
          ? `Adaptive: the scheduler's own wish decides, between ${cluster.adaptive.minimum} and ${cluster.adaptive.maximum} workers.`
          : `Fixed: ${cluster.workers.requested ?? 0} worker${cluster.workers.requested === 1 ? '' : 's'}.`}{' '}
        At most {cluster.max_workers} for this cluster.
      </p>
      <fieldset disabled={busy} className="cluster-scale">
        <form className="inline-form" onSubmit={scale} data-testid="scale-form">
          <div className="field">
            <label htmlFor="scale-count">Workers</label>
            <input id="scale-count" type="number" min={0} max={cluster.max_workers} step={1} value={count} onChange={(e) => setCount(Math.max(0, Number(e.target.value) || 0))} />
          </div>
          <button type="submit" className="button" data-testid="scale">
            Scale
          </button>
        </form>
        <form className="inline-form" onSubmit={adapt} data-testid="adapt-form">
          <div className="field">
            <label htmlFor="adapt-min">Minimum</label>
            <input id="adapt-min" type="number" min={0} max={cluster.max_workers} step={1} value={minimum} onChange={(e) => setMinimum(Math.max(0, Number(e.target.value) || 0))} />
          </div>
          <div className="field">
            <label htmlFor="adapt-max">Maximum</label>
            <input id="adapt-max" type="number" min={0} max={cluster.max_workers} step={1} value={maximum} onChange={(e) => setMaximum(Math.max(0, Number(e.target.value) || 0))} />
          </div>
          <button type="submit" className="button" data-testid="adapt">
            Adapt
          </button>
        </form>
        <div className="form-actions">
          <button type="button" className="button button-danger" onClick={onStop} data-testid="stop-cluster">
            Shut down
          </button>
        </div>
      </fieldset>
    </section>
  );
}
