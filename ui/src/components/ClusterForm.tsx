import { useState, type FormEvent } from 'react';
import type { OptionField } from './ClusterApi.js';
import { formatMemory } from '../format.js';

/** What the create form submits: dask-gateway cluster options and the workers to start with. */
export interface ClusterRequest {
  cluster_options: Record<string, unknown>;
  workers: number;
}

interface ClusterFormProps {
  fields: OptionField[];
  submitting: boolean;
  onSubmit: (request: ClusterRequest) => void;
}

function defaults(fields: OptionField[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.field, f.default]));
}

/**
 * The options the administrator allows (from the dask-gateway option fields: integers with
 * bounds, choices), plus how many workers to start with.
 */
export function ClusterForm({ fields, submitting, onSubmit }: ClusterFormProps) {
  const [values, setValues] = useState<Record<string, unknown>>(() => defaults(fields));
  const [workers, setWorkers] = useState(0);
  const maxWorkers = typeof values.max_workers === 'number' ? values.max_workers : undefined;

  function set(field: string, value: unknown) {
    setValues(function update(prev) {
      return { ...prev, [field]: value };
    });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onSubmit({ cluster_options: values, workers });
  }

  return (
    <form className="card cluster-form" onSubmit={submit} aria-labelledby="cluster-form-title" data-testid="cluster-form">
      <h2 id="cluster-form-title">New cluster</h2>
      <fieldset disabled={submitting}>
        <div className="field-row">
          {fields.map(function field(f) {
            const id = `cluster-option-${f.field}`;
            const spec = f.spec;
            return (
              <div className="field" key={f.field}>
                <label htmlFor={id}>{f.label}</label>
                {spec.type === 'select' ? (
                  <select id={id} name={f.field} value={String(values[f.field] ?? '')} onChange={(e) => set(f.field, e.target.value)}>
                    {spec.options.map((o) => (
                      <option key={o} value={o}>
                        {f.field === 'worker_memory' ? formatMemory(o) : o}
                      </option>
                    ))}
                  </select>
                ) : spec.type === 'int' ? (
                  <input id={id} name={f.field} type="number" min={spec.min} max={spec.max} step={1} required value={String(values[f.field] ?? '')}
                    onChange={(e) => set(f.field, e.target.value === '' ? '' : Number(e.target.value))} />
                ) : spec.type === 'bool' ? (
                  <input id={id} name={f.field} type="checkbox" checked={values[f.field] === true} onChange={(e) => set(f.field, e.target.checked)} />
                ) : (
                  <input id={id} name={f.field} type="text" value={String(values[f.field] ?? '')} onChange={(e) => set(f.field, e.target.value)} />
                )}
              </div>
            );
          })}
          <div className="field">
            <label htmlFor="cluster-workers">Workers to start</label>
            <input id="cluster-workers" name="workers" type="number" min={0} max={maxWorkers} step={1} value={workers}
              onChange={(e) => setWorkers(Math.max(0, Number(e.target.value) || 0))} />
          </div>
        </div>
        <div className="form-actions">
          <button type="submit" className="button button-primary" data-testid="create-cluster">
            {submitting ? 'Creating…' : 'Create cluster'}
          </button>
        </div>
      </fieldset>
    </form>
  );
}
