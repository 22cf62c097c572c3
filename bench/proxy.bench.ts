/**
 * Proxy benchmark: highrate's proxy against configurable-http-proxy 5.3 and a direct connection,
 * side by side in one run, on this machine.
 *
 *   node dist/bench/proxy.bench.js [--json FILE] [--rounds N]
 *
 * Measures, with wrk (-c 64 -t 2 -d 5s --latency, N rounds interleaved, medians) and small
 * (100-byte) responses: throughput and p99 direct / through CHP / through highrate with edge auth
 * on (a cookie-authenticated user route against a fake hub authorize endpoint) / highrate with
 * 10,000 user routes installed, and CHP with 10,000 routes. Then, each 3 times on freshly started
 * processes: the time to add 10,000 routes through the route API one request at a time on one
 * keep-alive connection (as JupyterHub sends them; beside it the floor, a process that answers
 * 201 at once, and highrate with edge auth and upstream tokens as its own hub runs it) and with 16
 * calls in flight, and the RSS (VmRSS) of each proxy holding them (highrate with edge auth); and
 * WebSocket echo round trips (p50 of 1,000, 5 series).
 * Both proxies run as their own processes with the flags JupyterHub passes (--ip, --port,
 * --api-ip, --api-port, --error-target, --log-level) at CHP's default log level, info.
 * Everything started is killed, also on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipBench } from './skip.js';
import { ProxyClient } from '../src/proxy/index.js';
import { startBackend, startFakeHub } from '../test/proxy/peers.js';
import { call, freePort, openWs, waitFor } from '../test/proxy/tools.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'bench-token';
const ROUTES = 10_000;
const WRK = '/usr/bin/wrk';
const children = new Set<ChildProcess>();

interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  socketErrors: string;
}

interface ProxyProcess {
  pid: number;
  publicUrl: string;
  apiUrl: string;
  stop(): Promise<void>;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i === -1 ? undefined : process.argv[i + 1];
}

function track(child: ChildProcess): Promise<void> {
  children.add(child);
  return new Promise((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
}

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** highrate's proxy with JupyterHub's flags; with `authorizeUrl`, edge auth on as well (highrate's own hub does that). */
async function startHighrate(hubUrl: string, authorizeUrl?: string): Promise<ProxyProcess> {
  const auth = authorizeUrl === undefined ? [] : ['--authorize-url', authorizeUrl];
  const child = spawn(process.execPath, [path.join(REPO, 'dist/src/proxy/main.js'), '--port', '0', '--ip', '127.0.0.1', '--api-port', '0',
    '--default-target', hubUrl, ...auth, ...jupyterhubFlags(hubUrl)],
  { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = track(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // Ports were chosen by the OS: the "proxy listening" log line names them.
  const ports = await waitFor(async () => {
    const line = stderr.split('\n').find((l) => l.includes('"proxy listening"'));
    return line ? (JSON.parse(line) as { publicPort: number; apiPort: number }) : undefined;
  }, 15_000).catch(() => undefined);
  if (ports === undefined) throw new Error(`highrate proxy did not start:\n${stderr}`);
  // At info it logs every route change: read and drop from here on.
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  return {
    pid: child.pid!,
    publicUrl: `http://127.0.0.1:${ports.publicPort}`,
    apiUrl: `http://127.0.0.1:${ports.apiPort}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** What JupyterHub's ConfigurableHTTPProxy adds besides addresses: its error page and the log level (CHP's default, info). */
function jupyterhubFlags(hubUrl: string): string[] {
  return ['--error-target', `${hubUrl}/hub/error`, '--log-level', 'info'];
}

async function startChp(hubUrl: string): Promise<ProxyProcess> {
  // Ports are picked before CHP binds them: on a busy machine one may be taken meanwhile, so a
  // CHP that exits at start is tried again on other ports (its stderr is shown if all fail).
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const apiPort = await freePort();
    const child = spawn(path.join(REPO, 'node_modules/.bin/configurable-http-proxy'),
      ['--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), ...jupyterhubFlags(hubUrl)],
      { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const collect = (c: Buffer) => { stderr += c.toString(); };
    child.stderr!.on('data', collect);
    const exited = track(child);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    try {
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`CHP exited ${child.exitCode}`);
        return (await call(`${apiUrl}/api/routes`, { headers: { authorization: `token ${TOKEN}` } })).status === 200;
      }, 30_000);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      lastError = `${(err as Error).message}\n${stderr.slice(-2000)}`;
      continue;
    }
    // At info it logs every route change: read and drop from here on.
    child.stderr!.off('data', collect);
    child.stderr!.resume();
    return {
      pid: child.pid!,
      publicUrl: `http://127.0.0.1:${port}`,
      apiUrl,
      async stop() {
        child.kill('SIGKILL');
        await exited;
      },
    };
  }
  throw new Error(`configurable-http-proxy did not start:\n${lastError}`);
}

/**
 * The floor of the route-add measurement: a process that answers every request with 201 at once,
 * parsing nothing but the body's length. What it takes is the client's and the kernel's share,
 * which no proxy can go below.
 */
const NULL_API = `
const srv = require('node:net').createServer((s) => {
  let buf = '';
  s.setNoDelay(true);
  s.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, end));
      const len = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + len) return;
      buf = buf.slice(end + 4 + len);
      s.write('HTTP/1.1 201 Created\\r\\nContent-Length: 0\\r\\n\\r\\n');
    }
  });
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

async function nullApiSeconds(n: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', NULL_API], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = track(child);
  try {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const port = await waitFor(async () => (out.includes('\n') ? Number(out.trim()) : undefined), 15_000);
    const client = new ProxyClient(`http://127.0.0.1:${port}`, TOKEN);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await client.addRoute(`/user/u${i}/`, 'http://127.0.0.1:9', { user: `u${i}`, server_name: '' });
    const seconds = (performance.now() - t0) / 1000;
    client.close();
    return seconds;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Runs wrk and parses requests/s, p50, p99 and errors. */
function runWrk(url: string, seconds: number, headers: Record<string, string> = {}): Promise<WrkResult> {
  const args = ['-c', '64', '-t', '2', '-d', `${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    void track(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p50 = /^\s+50%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const socketErrors = /Socket errors:.*$/m.exec(out)?.[0] ?? '';
      if (!Number.isFinite(rps) || !p50 || !p99) return reject(new Error(`cannot parse wrk output:\n${out}`));
      resolve({ rps, p50ms: toMs(p50), p99ms: toMs(p99), non2xx, socketErrors });
    });
  });
}

function toMs(m: RegExpExecArray): number {
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/**
 * Adds `n` user routes through the route API with `inFlight` calls at a time (1: one request after
 * the other, as JupyterHub adds a route per spawn); returns seconds.
 */
async function addRoutes(apiUrl: string, target: string, n: number, inFlight: number, upstreamTokens = false): Promise<number> {
  const client = new ProxyClient(apiUrl, TOKEN);
  try {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < n) {
          const i = next++;
          const data = upstreamTokens ? { user: `u${i}`, server_name: '', upstream_token: `upstream-${i}` } : { user: `u${i}`, server_name: '' };
          await client.addRoute(`/user/u${i}/`, target, data);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const count = Object.keys(await client.getRoutes()).filter((k) => k.startsWith('/user/u')).length;
    if (count !== n) throw new Error(`expected ${n} routes, the API lists ${count}`);
    return seconds;
  } finally {
    client.close();
  }
}

function vmRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** p50/p99 of 1,000 sequential 100-byte echo round trips (after 100 unmeasured ones), in µs. */
async function wsEcho(url: string, headers: Record<string, string> = {}): Promise<{ p50us: number; p99us: number }> {
  const ws = await openWs(url, headers);
  const msg = 'm'.repeat(100);
  const once = () =>
    new Promise<number>((resolve) => {
      const t0 = process.hrtime.bigint();
      ws.once('message', () => resolve(Number(process.hrtime.bigint() - t0) / 1000));
      ws.send(msg);
    });
  for (let i = 0; i < 100; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < 1000; i++) samples.push(await once());
  ws.close();
  samples.sort((a, b) => a - b);
  return { p50us: samples[499]!, p99us: samples[989]! };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const started = Date.now();
  const rounds = Number(argValue('--rounds') ?? 3);
  const jsonFile = argValue('--json');
  if (spawnSync(WRK, ['--version']).error) skipBench('proxy', `${WRK} is not installed (scripts/install-deps.sh installs Debian's wrk)`);

  const backend = await startBackend('bench');
  const credentials: Record<string, string> = { 'sess-alice': 'alice', 'sess-u5000': 'u5000' };
  const hub = await startFakeHub(TOKEN, credentials);
  const ours = await startHighrate(hub.url, hub.authorizeUrl);
  const chp = await startChp(hub.url);
  const cookie = { Cookie: 'highrate-session=sess-alice' };
  try {
    for (const [proxy, data] of [[ours, { user: 'alice', server_name: '', upstream_token: 'alice-upstream' }], [chp, { user: 'alice', server_name: '' }]] as const) {
      const client = new ProxyClient(proxy.apiUrl, TOKEN);
      await client.addRoute('/user/alice/', backend.url, data);
      client.close();
    }
    // Sanity: the auth path really runs (no cookie → 403; cookie → 200 from the backend).
    if ((await call(`${ours.publicUrl}/user/alice/`)).status !== 403) throw new Error('edge auth is not on');
    if ((await call(`${ours.publicUrl}/user/alice/`, { headers: { cookie: cookie.Cookie } })).headers['x-backend'] !== 'bench') throw new Error('route broken');

    // Route adds and RSS: 10,000 routes into freshly started processes, interleaved, 3 times
    // (medians). The last highrate process keeps its routes for the 10,000-route load test.
    const adds = { highrate: [] as number[], chp: [] as number[], highrateEdgeAuth: [] as number[], floor: [] as number[] };
    const adds16 = { highrate: [] as number[], chp: [] as number[] };
    const rss = { highrate: [] as number[], chp: [] as number[] };
    let ours10k: ProxyProcess | undefined;
    let chp10k: ProxyProcess | undefined;
    for (let rep = 0; rep < 3; rep++) {
      // The bar: both with JupyterHub's flags only, routes as JupyterHub sends them.
      const plainOurs = await startHighrate(hub.url);
      const freshChp = await startChp(hub.url);
      adds.highrate.push(await addRoutes(plainOurs.apiUrl, backend.url, ROUTES, 1));
      adds.chp.push(await addRoutes(freshChp.apiUrl, backend.url, ROUTES, 1));
      await plainOurs.stop();
      adds.floor.push(await nullApiSeconds(ROUTES));
      // highrate's own hub: edge auth on, each route with the upstream token highrate adds.
      const freshOurs = await startHighrate(hub.url, hub.authorizeUrl);
      adds.highrateEdgeAuth.push(await addRoutes(freshOurs.apiUrl, backend.url, ROUTES, 1, true));
      await new Promise((r) => setTimeout(r, 1000));
      rss.highrate.push(vmRssMb(freshOurs.pid));
      rss.chp.push(vmRssMb(freshChp.pid));
      if (rep < 2) {
        await Promise.all([freshChp.stop(), freshOurs.stop()]);
      } else {
        ours10k = freshOurs;
        chp10k = freshChp;
      }
      // 16 in flight, into other fresh processes (what a hub re-adding routes concurrently does).
      const o16 = await startHighrate(hub.url);
      const c16 = await startChp(hub.url);
      adds16.highrate.push(await addRoutes(o16.apiUrl, backend.url, ROUTES, 16));
      adds16.chp.push(await addRoutes(c16.apiUrl, backend.url, ROUTES, 16));
      await Promise.all([o16.stop(), c16.stop()]);
    }
    if (ours10k === undefined || chp10k === undefined) throw new Error('unreachable');
    const addOurs = median(adds.highrate);
    const addChp = median(adds.chp);
    const addFloor = median(adds.floor);
    const addOursEdge = median(adds.highrateEdgeAuth);
    const add16Ours = median(adds16.highrate);
    const add16Chp = median(adds16.chp);
    const rssOurs = median(rss.highrate);
    const rssChp = median(rss.chp);
    const cookie10k = { Cookie: 'highrate-session=sess-u5000' };
    if ((await call(`${ours10k.publicUrl}/user/u5000/`, { headers: { cookie: cookie10k.Cookie } })).status !== 200) throw new Error('10k route broken');

    // Throughput: each case warmed up, then measured; cases interleaved over rounds.
    const cases = {
      direct: { url: `${backend.url}/user/alice/`, headers: {} },
      chp: { url: `${chp.publicUrl}/user/alice/`, headers: {} },
      highrate: { url: `${ours.publicUrl}/user/alice/`, headers: cookie },
      highrate10k: { url: `${ours10k.publicUrl}/user/u5000/`, headers: cookie10k },
      chp10k: { url: `${chp10k.publicUrl}/user/u5000/`, headers: {} },
    } as const;
    const runs: Record<keyof typeof cases, WrkResult[]> = { direct: [], chp: [], highrate: [], highrate10k: [], chp10k: [] };
    for (const c of Object.values(cases)) await runWrk(c.url, 1, c.headers);
    for (let r = 0; r < rounds; r++) {
      for (const [name, c] of Object.entries(cases) as Array<[keyof typeof cases, (typeof cases)[keyof typeof cases]]>) {
        // A second of quiet first: a proxy still collecting garbage after its run would otherwise
        // slow down whichever case comes next.
        await new Promise((r) => setTimeout(r, 1000));
        runs[name].push(await runWrk(c.url, 5, c.headers));
      }
    }
    await Promise.all([ours10k.stop(), chp10k.stop()]);

    // WebSocket echo: 5 interleaved series of 1,000 round trips each, medians of their p50/p99.
    const wsRuns = { direct: [] as Array<{ p50us: number; p99us: number }>, chp: [] as Array<{ p50us: number; p99us: number }>, highrate: [] as Array<{ p50us: number; p99us: number }> };
    for (let rep = 0; rep < 5; rep++) {
      wsRuns.direct.push(await wsEcho(`ws://127.0.0.1:${backend.port}/user/alice/ws`));
      wsRuns.chp.push(await wsEcho(`${chp.publicUrl.replace('http', 'ws')}/user/alice/ws`));
      wsRuns.highrate.push(await wsEcho(`${ours.publicUrl.replace('http', 'ws')}/user/alice/ws`, { cookie: cookie.Cookie }));
    }
    const wsMedian = (xs: Array<{ p50us: number; p99us: number }>) => ({ p50us: median(xs.map((x) => x.p50us)), p99us: median(xs.map((x) => x.p99us)), runs: xs });
    const ws = { direct: wsMedian(wsRuns.direct), chp: wsMedian(wsRuns.chp), highrate: wsMedian(wsRuns.highrate) };

    const agg = (name: keyof typeof runs) => ({
      rps: median(runs[name].map((x) => x.rps)),
      p99ms: median(runs[name].map((x) => x.p99ms)),
      p50ms: median(runs[name].map((x) => x.p50ms)),
      non2xx: runs[name].reduce((n, x) => n + x.non2xx, 0),
      runs: runs[name],
    });
    const result = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      throughput: { direct: agg('direct'), chp: agg('chp'), highrate: agg('highrate'), highrate10k: agg('highrate10k'), chp10k: agg('chp10k') },
      routeAddSeconds: { highrate: addOurs, chp: addChp, highrateEdgeAuth: addOursEdge, floor: addFloor, runs: adds },
      routeAdd16InFlightSeconds: { highrate: add16Ours, chp: add16Chp, runs: adds16 },
      wsEchoUs: ws,
      rss10kMb: { highrate: rssOurs, chp: rssChp, runs: rss },
      seconds: (Date.now() - started) / 1000,
    };
    const t = result.throughput;
    const checks = [
      ['throughput highrate (auth on) / CHP', t.highrate.rps / t.chp.rps, '≥ 2', t.highrate.rps / t.chp.rps >= 2],
      ['p99 highrate (auth on) / CHP', t.highrate.p99ms / t.chp.p99ms, '≤ 0.5', t.highrate.p99ms / t.chp.p99ms <= 0.5],
      ['throughput 10,000 routes / 1 route', t.highrate10k.rps / t.highrate.rps, '≥ 0.9', t.highrate10k.rps / t.highrate.rps >= 0.9],
      ['throughput 10,000 routes highrate / CHP', t.highrate10k.rps / t.chp10k.rps, '≥ 2', t.highrate10k.rps / t.chp10k.rps >= 2],
      ['add 10,000 routes one at a time, highrate / CHP', addOurs / addChp, '≤ 0.5', addOurs / addChp <= 0.5],
      ['WS echo p50 highrate / CHP', ws.highrate.p50us / ws.chp.p50us, '≤ 1', ws.highrate.p50us / ws.chp.p50us <= 1],
      ['RSS with 10,000 routes highrate / CHP', rssOurs / rssChp, '≤ 1', rssOurs / rssChp <= 1],
    ] as const;
    const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const lines = [
      `## Proxy benchmark (${result.machine.cpus} CPUs, node ${result.machine.node}, ${rounds} rounds of wrk -c 64 -t 2 -d 5s, medians)`,
      '',
      '| measurement | direct | CHP 5.3 | highrate | highrate / CHP |',
      '|---|---:|---:|---:|---:|',
      `| requests/s, 1 route (highrate: edge auth, cookie) | ${f(t.direct.rps)} | ${f(t.chp.rps)} | ${f(t.highrate.rps)} | ${f(t.highrate.rps / t.chp.rps, 2)}× |`,
      `| p99 latency (ms) | ${f(t.direct.p99ms, 2)} | ${f(t.chp.p99ms, 2)} | ${f(t.highrate.p99ms, 2)} | ${f(t.highrate.p99ms / t.chp.p99ms, 2)} |`,
      `| p50 latency (ms) | ${f(t.direct.p50ms, 2)} | ${f(t.chp.p50ms, 2)} | ${f(t.highrate.p50ms, 2)} | ${f(t.highrate.p50ms / t.chp.p50ms, 2)} |`,
      `| requests/s, 10,000 routes installed | | ${f(t.chp10k.rps)} | ${f(t.highrate10k.rps)} | ${f(t.highrate10k.rps / t.chp10k.rps, 2)}× |`,
      `| p99 latency, 10,000 routes (ms) | | ${f(t.chp10k.p99ms, 2)} | ${f(t.highrate10k.p99ms, 2)} | ${f(t.highrate10k.p99ms / t.chp10k.p99ms, 2)} |`,
      `| add 10,000 routes, one request at a time (s; direct: a server answering 201 at once) | ${f(addFloor, 3)} | ${f(addChp, 3)} | ${f(addOurs, 3)} | ${f(addOurs / addChp, 2)} |`,
      `| the same, highrate with edge auth and upstream tokens (s) | | | ${f(addOursEdge, 3)} | ${f(addOursEdge / addChp, 2)} |`,
      `| add 10,000 routes, 16 in flight (s) | | ${f(add16Chp, 3)} | ${f(add16Ours, 3)} | ${f(add16Ours / add16Chp, 2)} |`,
      `| WebSocket echo p50 (µs) | ${f(ws.direct.p50us)} | ${f(ws.chp.p50us)} | ${f(ws.highrate.p50us)} | ${f(ws.highrate.p50us / ws.chp.p50us, 2)} |`,
      `| WebSocket echo p99 (µs) | ${f(ws.direct.p99us)} | ${f(ws.chp.p99us)} | ${f(ws.highrate.p99us)} | ${f(ws.highrate.p99us / ws.chp.p99us, 2)} |`,
      `| RSS with 10,000 routes (MB) | | ${f(rssChp, 1)} | ${f(rssOurs, 1)} | ${f(rssOurs / rssChp, 2)} |`,
      '',
      '| target | measured | goal | met |',
      '|---|---:|---:|:---:|',
      ...checks.map(([name, v, goal, ok]) => `| ${name} | ${f(v, 3)} | ${goal} | ${ok ? 'yes' : 'NO'} |`),
      '',
      `The floor of the one-at-a-time adds (client and kernel, a server that does nothing) is ${f(addFloor / addChp, 2)} of CHP's time; of the time above that floor, highrate takes ${f((addOurs - addFloor) / (addChp - addFloor), 2)} of CHP's.`,
      '',
      `Non-2xx responses under load: direct ${t.direct.non2xx}, CHP ${t.chp.non2xx}, highrate ${t.highrate.non2xx}, highrate 10k ${t.highrate10k.non2xx}, CHP 10k ${t.chp10k.non2xx}. Total time ${f(result.seconds, 0)} s.`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ ...result, checks: checks.map(([name, value, goal, met]) => ({ name, value, goal, met })) }, null, 2));
  } finally {
    await Promise.allSettled([ours.stop(), chp.stop()]);
    killAll();
    await Promise.allSettled([backend.close(), hub.close()]);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`proxy benchmark failed: ${(err as Error).stack ?? err}\n`);
    killAll();
    process.exit(1);
  },
);
