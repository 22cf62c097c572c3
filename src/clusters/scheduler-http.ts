import http from 'node:http';
import { fail } from '../errors/catalogue.js';

/** `GET /json/counts.json` (distributed 2022.12 and later). */
export interface SchedulerCounts {
  bytes: number;
  clients: number;
  cores: number;
  erred: number;
  idle: number;
  memory: number;
  processing: number;
  released: number;
  saturated: number;
  tasks: number;
  unrunnable: number;
  waiting: number;
  waiting_data: number;
  workers: number;
  /** `adaptive_target()`: how many workers the scheduler would like. */
  desired_workers: number;
}

/** One worker as `GET /json/identity.json` lists it. */
export interface SchedulerWorkerInfo {
  name: string | number;
  nthreads: number;
  memory_limit: number;
  host?: string;
  last_seen?: number;
  status?: string;
  metrics?: {
    task_counts?: Record<string, number>;
    executing?: number;
    in_memory?: number;
    ready?: number;
    in_flight?: number;
    memory?: number;
    managed_bytes?: number;
    cpu?: number;
    spilled_bytes?: { memory?: number; disk?: number };
  };
}

export interface SchedulerIdentity {
  id: string;
  address: string;
  started?: number;
  workers: Record<string, SchedulerWorkerInfo>;
}

/** `POST /api/v1/retire_workers` answer: address → the retired worker's info. */
export type RetireResult = Record<string, { name?: string | number }>;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/**
 * The scheduler's own HTTP endpoints, as the hub uses them: health, the JSON pages, Prometheus
 * metrics and the API's retire_workers. Every request carries the cluster's HTTP token (the
 * scheduler's preload refuses any other). `base` includes the dashboard prefix.
 */
export class SchedulerHttp {
  constructor(readonly base: string, private readonly token: string) {}

  /** True when the scheduler answers `/health` with 200. */
  async healthy(timeoutMs = 2000): Promise<boolean> {
    try {
      const r = await this.#request('GET', '/health', undefined, timeoutMs);
      return r.status === 200;
    } catch {
      return false;
    }
  }

  /** Whether the scheduler serves bokeh's dashboard at `/status` (Debian's Dask answers "Dask needs bokeh"). */
  async hasBokeh(): Promise<boolean> {
    try {
      const r = await this.#request('GET', '/status', undefined, 5000);
      return r.status === 200 && !r.body.includes('Dask needs bokeh');
    } catch {
      return false;
    }
  }

  counts(): Promise<SchedulerCounts> {
    return this.#json<SchedulerCounts>('GET', '/json/counts.json');
  }

  identity(): Promise<SchedulerIdentity> {
    return this.#json<SchedulerIdentity>('GET', '/json/identity.json');
  }

  /** The Prometheus text exposition (`/metrics`). */
  async metrics(): Promise<string> {
    const r = await this.#request('GET', '/metrics', undefined, 5000);
    if (r.status !== 200) throw fail('UPSTREAM_UNAVAILABLE', `The scheduler answered /metrics with ${r.status}.`);
    return r.body;
  }

  /**
   * Retires workers gracefully: the scheduler moves their results to other workers, then closes
   * them (distributed's `Scheduler.retire_workers`). `{n}` lets it choose (idle ones, least data
   * first); `{workers}` names addresses. A worker whose data has nowhere to go is not retired.
   */
  retire(body: { n: number } | { workers: string[] }, timeoutMs = 120_000): Promise<RetireResult> {
    return this.#json<RetireResult>('POST', '/api/v1/retire_workers', JSON.stringify(body), timeoutMs);
  }

  async #json<T>(method: string, path: string, body?: string, timeoutMs = 5000): Promise<T> {
    const r = await this.#request(method, path, body, timeoutMs);
    if (r.status !== 200) throw fail('UPSTREAM_UNAVAILABLE', `The scheduler answered ${path} with ${r.status}.`, { detail: r.body.slice(0, 200) });
    try {
      return JSON.parse(r.body) as T;
    } catch {
      throw fail('UPSTREAM_UNAVAILABLE', `The scheduler answered ${path} with invalid JSON.`);
    }
  }

  #request(method: string, path: string, body: string | undefined, timeoutMs: number): Promise<{ status: number; body: string }> {
    const url = new URL(this.base + path);
    const headers: Record<string, string> = { authorization: `token ${this.token}`, accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 16 * 1024 * 1024) req.destroy(new Error('answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(fail('UPSTREAM_UNAVAILABLE', 'The scheduler did not answer.', { detail: `${method} ${path}: ${err.message}` })));
      req.end(body);
    });
  }
}
