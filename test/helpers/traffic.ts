/**
 * Load generators that keep "users working" while a chaos test breaks something: HTTP requests
 * through the proxy to user servers, a kernel WebSocket executing code, API clients, a Dask
 * computation. Each counts its outcomes per fault window (`phase(label)`): ok, failed (by status
 * or error), hung (no answer within the per-request deadline) and the slowest answer. Every
 * generator stops and releases its sockets and processes in `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';

/** What one generator saw in one window. */
export interface Outcome {
  ok: number;
  /** Failures keyed by what the client saw: `503 HUB_STARTING`, `error ECONNRESET`, `ws closed 1006`… */
  failed: Record<string, number>;
  /** Requests not answered within their deadline (the client gave up on them). */
  hung: number;
  /** Latency of the slowest answered request, ms. */
  maxLatencyMs: number;
}

function emptyOutcome(): Outcome {
  return { ok: 0, failed: {}, hung: 0, maxLatencyMs: 0 };
}

/** Sum of all failures of an outcome. */
export function failedCount(o: Outcome): number {
  return Object.values(o.failed).reduce((a, b) => a + b, 0);
}

/** Outcomes of one generator, one per window, in the order the windows began. */
export class Tally {
  readonly windows = new Map<string, Outcome>();
  #current = 'before';

  constructor() { this.windows.set(this.#current, emptyOutcome()); }

  /** Starts counting into window `label` (a new one, or adds to one of that name). */
  phase(label: string): void {
    this.#current = label;
    if (!this.windows.has(label)) this.windows.set(label, emptyOutcome());
  }

  get current(): Outcome { return this.windows.get(this.#current)!; }

  /** Records an answered request; `failure` null means ok. `window` pins the window it began in. */
  answered(latencyMs: number, failure: string | null, window = this.current): void {
    window.maxLatencyMs = Math.max(window.maxLatencyMs, latencyMs);
    if (failure === null) window.ok++;
    else window.failed[failure] = (window.failed[failure] ?? 0) + 1;
  }

  hung(window = this.current): void { window.hung++; }

  /** Every window's outcome, as a plain object. */
  toJSON(): Record<string, Outcome> { return Object.fromEntries(this.windows); }
}

/** A running load generator. */
export interface Generator {
  readonly name: string;
  readonly tally: Tally;
  /** Stops the load, waits for requests in flight, releases every socket/process. */
  stop(): Promise<void>;
}

/** Several generators switched between windows together. */
export class Traffic {
  constructor(readonly generators: Generator[]) {}

  phase(label: string): void {
    for (const g of this.generators) g.tally.phase(label);
  }

  /** `{generator: {window: outcome}}`. */
  report(): Record<string, Record<string, Outcome>> {
    return Object.fromEntries(this.generators.map((g) => [g.name, g.tally.toJSON()]));
  }

  get(name: string): Generator {
    const g = this.generators.find((x) => x.name === name);
    if (!g) throw new Error(`no generator ${name}`);
    return g;
  }

  async stop(): Promise<void> {
    await Promise.all(this.generators.map((g) => g.stop()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface OneRequest {
  status?: number;
  /** The catalogue code of a JSON error body, if any. */
  code?: string;
  error?: string;
  hung?: boolean;
  latencyMs: number;
}

/** One request with a deadline; never rejects. A request past its deadline is destroyed (hung). */
function timedRequest(url: string, opts: { agent: http.Agent | false; headers?: Record<string, string>; deadlineMs: number; method?: string }): Promise<OneRequest> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Omit<OneRequest, 'latencyMs'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...r, latencyMs: performance.now() - t0 });
    };
    const req = http.request(url, { method: opts.method ?? 'GET', agent: opts.agent, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => { if (chunks.length < 16) chunks.push(c); });
      res.on('end', () => {
        let code: string | undefined;
        if ((res.statusCode ?? 0) >= 400) {
          try {
            const c = (JSON.parse(Buffer.concat(chunks).toString()) as { code?: unknown }).code;
            if (typeof c === 'string') code = c;
          } catch { /* not JSON */ }
        }
        finish({ status: res.statusCode ?? 0, ...(code ? { code } : {}) });
      });
      res.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    });
    // A deadline per request: the whole answer, body included, within deadlineMs.
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      req.destroy();
      resolve({ hung: true, latencyMs: performance.now() - t0 });
    }, opts.deadlineMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    req.end();
  });
}

function classify(tally: Tally, r: OneRequest, okStatus: (s: number) => boolean, window: Outcome): void {
  if (r.hung) tally.hung(window);
  else if (r.error !== undefined) tally.answered(r.latencyMs, `error ${r.error}`, window);
  else if (okStatus(r.status!)) tally.answered(r.latencyMs, null, window);
  else tally.answered(r.latencyMs, `${r.status}${r.code ? ' ' + r.code : ''}`, window);
}

export interface HttpLoadOptions {
  /** Public base URL (the proxy), e.g. http://127.0.0.1:8000. */
  base: string;
  /** Paths requested round-robin, e.g. `/user/alice/api/status` for several users. */
  paths: string[];
  /** Header per path (index-aligned with `paths`), e.g. each user's `authorization`. */
  headers?: Array<Record<string, string>>;
  /** Keep-alive connections, each one sequential request loop (default 8). */
  connections?: number;
  /** Per-request deadline (default 5000 ms): later is hung. */
  deadlineMs?: number;
  /** Pause between requests of one connection (default 0). */
  pauseMs?: number;
  /**
   * Which window a request counts in: the one it began in (default), or the one it ended in (for
   * faults that cut requests in flight, so that those count with the fault).
   */
  countAt?: 'start' | 'end';
  name?: string;
}

/**
 * N keep-alive connections to user servers through the proxy, each a loop of GETs. ok: 200.
 * A request that failed on a kept-alive socket the peer had closed while idle is sent once more on
 * a fresh one (what browsers and every HTTP client library do), so only real failures count.
 */
export function httpLoad(opts: HttpLoadOptions): Generator {
  const tally = new Tally();
  const n = opts.connections ?? 8;
  const deadlineMs = opts.deadlineMs ?? 5000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  let running = true;
  let next = 0;
  async function loop(): Promise<void> {
    while (running) {
      const i = next++ % opts.paths.length;
      const began = tally.current;
      const r = await timedRequest(`${opts.base}${opts.paths[i]}`, { agent, headers: opts.headers?.[i], deadlineMs });
      classify(tally, r, (s) => s === 200, opts.countAt === 'end' ? tally.current : began);
      if (opts.pauseMs) await sleep(opts.pauseMs);
    }
  }
  const loops = Array.from({ length: n }, loop);
  return {
    name: opts.name ?? 'http',
    tally,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

export interface ApiLoadOptions {
  base: string;
  /** API tokens; one client loop per token (stay below the per-user rate limit, or use admins). */
  tokens: string[];
  /** Default GET /hub/api/user. */
  path?: string;
  /** Per-request deadline (default 1000 ms). */
  deadlineMs?: number;
  /** Pause between requests of one client (default 50 ms: 20 req/s each, below the 50/s limit). */
  pauseMs?: number;
  /** A fresh connection per request (default) or one kept-alive connection per client. */
  keepAlive?: boolean;
  name?: string;
}

/** API clients polling the hub through the proxy. ok: 200; a 503 is counted by its code. */
export function apiLoad(opts: ApiLoadOptions): Generator {
  const tally = new Tally();
  const deadlineMs = opts.deadlineMs ?? 1000;
  const agents = opts.tokens.map(() => (opts.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false as const));
  let running = true;
  async function loop(i: number): Promise<void> {
    while (running) {
      const window = tally.current;
      const r = await timedRequest(`${opts.base}${opts.path ?? '/hub/api/user'}`, {
        agent: agents[i]!, deadlineMs, headers: { authorization: `token ${opts.tokens[i]}`, accept: 'application/json' },
      });
      classify(tally, r, (s) => s === 200, window);
      await sleep(opts.pauseMs ?? 50);
    }
  }
  const loops = opts.tokens.map((_, i) => loop(i));
  return {
    name: opts.name ?? 'api',
    tally,
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const a of agents) if (a) a.destroy();
    },
  };
}

/** A kernel generator's extra facts: how many times its WebSocket closed under it. */
export interface KernelGenerator extends Generator {
  /** Close codes of WebSockets that closed while the generator ran (0 expected). */
  readonly drops: number[];
}

/**
 * Executes code on an open kernel channels WebSocket in a loop (`x += 1; print(x)`), checking
 * every reply is the next number: ok when right within the deadline (default 5 s), hung when
 * not answered, failed `wrong output` / `ws closed <code>` otherwise. Stops counting when the
 * WebSocket closes (the drop is recorded). `stop()` closes the WebSocket.
 */
export function kernelLoad(ws: WebSocket, opts: { deadlineMs?: number; pauseMs?: number; name?: string } = {}): KernelGenerator {
  const tally = new Tally();
  const drops: number[] = [];
  const deadlineMs = opts.deadlineMs ?? 5000;
  let running = true;
  let closed = false;
  ws.on('close', (code: number) => {
    closed = true;
    if (running) {
      drops.push(code);
      tally.answered(0, `ws closed ${code}`);
    }
  });
  async function loop(): Promise<void> {
    let expect = 0;
    // A fresh variable, so that a rerun on the same kernel starts from 0.
    const v = `chaos_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
    const init = await executeOnce(ws, `${v} = 0`, deadlineMs);
    if (init.error !== undefined) tally.answered(init.latencyMs, init.error);
    while (running && !closed) {
      const window = tally.current;
      expect++;
      const r = await executeOnce(ws, `${v} += 1\nprint(${v})`, deadlineMs);
      if (closed && running) break; // counted by the close handler
      if (r.hung) {
        tally.hung(window);
        // The reply may still come: resynchronise on the variable's real value.
        const again = await executeOnce(ws, `print(${v})`, deadlineMs);
        expect = Number(again.out?.trim() ?? expect);
      } else if (r.error !== undefined) tally.answered(r.latencyMs, r.error, window);
      else if (r.out !== `${expect}\n`) {
        tally.answered(r.latencyMs, 'wrong output', window);
        expect = Number(r.out?.trim() ?? expect);
      } else tally.answered(r.latencyMs, null, window);
      if (opts.pauseMs) await sleep(opts.pauseMs);
    }
  }
  const done = loop().catch(() => undefined);
  return {
    name: opts.name ?? 'kernel',
    tally,
    drops,
    async stop() {
      running = false;
      await done;
      if (!closed) ws.close();
    },
  };
}

/** One execute_request; resolves with stdout, an error name, or hung. Never rejects. */
function executeOnce(ws: WebSocket, code: string, deadlineMs: number): Promise<{ out?: string; error?: string; hung?: boolean; latencyMs: number }> {
  const msgId = randomUUID();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let out = '';
    const finish = (r: { out?: string; error?: string; hung?: boolean }) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve({ ...r, latencyMs: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish({ hung: true }), deadlineMs);
    function onClose() { finish({ error: 'ws closed' }); }
    function onMessage(data: WebSocket.RawData) {
      let msg: any;
      try { msg = JSON.parse(data.toString()); } catch { return; }
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
      if (msg.msg_type === 'error') finish({ error: `kernel ${msg.content.ename}` });
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') finish({ out });
    }
    ws.on('message', onMessage);
    ws.once('close', onClose);
    try {
      ws.send(JSON.stringify({
        header: { msg_id: msgId, username: 'chaos', session: msgId, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
        parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
        content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }));
    } catch {
      finish({ error: 'ws send failed' });
    }
  });
}

/**
 * A Dask computation in a loop: `python3 dask_client.py` with `spec` on stdin (see test/fixtures/dask_client.py),
 * one run after the other, each with a deadline (default 60 s), counted in the window it ended in. ok: exit 0. Its process is killed
 * by PID on `stop()`.
 */
export function daskLoad(script: string, spec: Record<string, unknown>, opts: { deadlineMs?: number; name?: string; python?: string } = {}): Generator {
  const tally = new Tally();
  let running = true;
  let child: ChildProcess | null = null;
  async function loop(): Promise<void> {
    while (running) {
      const t0 = performance.now();
      const r = await new Promise<{ code: number | null; hung: boolean; err: string }>((resolve) => {
        const c = spawn(opts.python ?? '/usr/bin/python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
        child = c;
        c.stdin!.on('error', () => undefined);
        c.stdin!.end(JSON.stringify(spec));
        let err = '';
        c.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-300); });
        c.stdout!.resume();
        let hung = false;
        const timer = setTimeout(() => { hung = true; c.kill('SIGKILL'); }, opts.deadlineMs ?? 60_000);
        c.on('exit', (code) => { clearTimeout(timer); child = null; resolve({ code, hung, err }); });
      });
      if (!running && r.code !== 0) break; // killed by stop()
      // A run lasts seconds: it counts in the window it ended in (where its fault struck).
      const window = tally.current;
      if (r.hung) tally.hung(window);
      else tally.answered(performance.now() - t0, r.code === 0 ? null : `exit ${r.code}: ${r.err.trim().split('\n').pop() ?? ''}`, window);
    }
  }
  const done = loop();
  return {
    name: opts.name ?? 'dask',
    tally,
    async stop() {
      running = false;
      const c = child as ChildProcess | null;
      if (c?.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
      await done;
    },
  };
}
