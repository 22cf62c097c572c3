/**
 * Security benchmark, at facility size, on the real platform (hub, proxy process, SQLite store):
 * - GET /hub/api/users, a page of 200, with 10,000 users and 1,000 running servers in the store
 *   (admin token, RBAC on: the caller's roles and each row's read check), directly at the hub and
 *   through the proxy; target ≤ 15 ms median (JupyterHub 4.1.6: 15.5 ms with 1,000 users);
 * - the proxy's per-request auth check (credential parse + cached hub decision): in-process per
 *   call, and end to end as the difference between an authenticated user route and an open route
 *   to the same upstream, requests interleaved; target ≤ 0.1 ms median.
 * Usage: node dist/bench/security.bench.js [--json FILE] [--iterations N]
 */
import { createServer, request, Agent, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { authCacheKey } from '../src/proxy/auth-cache.js';
import { Authorizer } from '../src/proxy/authorizer.js';
import { findCredential } from '../src/proxy/credential.js';
import type { KyselyStore } from '../src/store/index.js';
import { Platform } from '../test/helpers/platform.js';
import { seedRows } from '../test/store/seed.js';

const USERS = 10_000;
const RUNNING = 1_000;
const PAGE = 200;
const WARMUP = 30;
const arg = (flag: string) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
const ITERATIONS = Number(arg('--iterations') ?? 200);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const p90 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)]!; };

/** One GET on a kept-alive connection; resolves with the status after the whole body arrived. */
function get(agent: Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function timeGets(agent: Agent, urlOf: (i: number) => string, headers: Record<string, string>, n: number): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) {
    const status = await get(agent, urlOf(i), headers);
    if (status !== 200) throw new Error(`${urlOf(i)} answered ${status}`);
  }
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await get(agent, urlOf(i), headers);
    times.push(performance.now() - t);
  }
  return times;
}

function startUpstream(): Promise<Server> {
  const body = Buffer.from('{"ok":true}');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

/** The check the proxy runs per request on a cache hit: find the credential, look up the decision. */
function microAuthCheck(token: string): number[] {
  const authorizer = new Authorizer({ authorizeUrl: 'http://127.0.0.1:9/hub/api/proxy/authorize', proxyToken: 'x', cache: { allowTtlMs: 3_600_000 } });
  const rawHeaders = ['Host', '127.0.0.1:8000', 'User-Agent', 'bench', 'Accept', '*/*', 'Authorization', `token ${token}`, 'Cookie', '_xsrf=abc; other=1'];
  const url = '/user/u00001/api/status';
  const cred = findCredential(rawHeaders, url, false)!;
  // What the first request leaves behind: the hub's "allowed" answer in the cache.
  authorizer.cache.set(authCacheKey(cred.kind, cred.value, 'u00001', ''), { authenticated: true, allowed: true, name: 'admin' });
  const BATCH = 1000;
  const perCallUs: number[] = [];
  for (let round = 0; round < 300; round++) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const d = authorizer.decide(findCredential(rawHeaders, url, false)!, 'u00001', '');
      if (d instanceof Promise || !d.allowed) throw new Error('not a cache hit');
    }
    perCallUs.push(((performance.now() - t) / BATCH) * 1000);
  }
  authorizer.close();
  return perCallUs.slice(50);
}

async function main(): Promise<void> {
  const results: Record<string, number> = {};
  const p = await Platform.start({
    // No reconciler pass during the run: the seeded servers have no real pods behind them.
    config: { hub: { reconcileInterval: 3600 }, culler: { idleTimeout: 0 } },
  });
  const upstream = await startUpstream();
  try {
    const admin = await p.token('admin');
    const store = (await p.openStore()) as KyselyStore;
    const { users, servers } = seedRows(USERS, RUNNING);
    const t0 = performance.now();
    await store.bulkInsertForBench(users.filter((u) => u.name !== 'admin'), servers);
    await store.close();
    process.stderr.write(`[bench] seeded ${USERS} users and ${servers.length} servers (${RUNNING} running) in ${(performance.now() - t0).toFixed(0)} ms\n`);

    const auth = { authorization: `token ${admin}` };
    const pages = Math.floor(USERS / PAGE);
    const offsetOf = (i: number) => ((i * 37) % pages) * PAGE;
    // What is timed is a real page: 200 full user models, servers included.
    const sample = await fetch(`${p.hub!.hub.hubUrl}/hub/api/users?offset=0&limit=${PAGE}`, { headers: auth }).then((r) => r.json()) as Array<{ name: string; servers?: Record<string, unknown> }>;
    const running = sample.filter((u) => u.servers && Object.keys(u.servers).length > 0).length;
    if (sample.length !== PAGE || running !== PAGE / 10) throw new Error(`unexpected page: ${sample.length} users, ${running} with servers`);
    const direct = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaProxy = new Agent({ keepAlive: true, maxSockets: 1 });
    const hubTimes = await timeGets(direct, (i) => `${p.hub!.hub.hubUrl}/hub/api/users?offset=${offsetOf(i)}&limit=${PAGE}`, auth, ITERATIONS);
    const proxyTimes = await timeGets(viaProxy, (i) => `${p.base}/hub/api/users?offset=${offsetOf(i)}&limit=${PAGE}`, auth, ITERATIONS);
    results.usersPageHubMedianMs = median(hubTimes);
    results.usersPageHubP90Ms = p90(hubTimes);
    results.usersPageProxyMedianMs = median(proxyTimes);
    results.usersPageProxyP90Ms = p90(proxyTimes);

    // The proxy's auth check, in process: per call on a cache hit.
    results.authCheckPerCallMedianUs = median(microAuthCheck(admin));

    // End to end: an authenticated user route vs an open route, same upstream, interleaved.
    const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    await p.hub!.hub.proxy.addRoute('/user/u00001/', target, { user: 'u00001', server_name: '', upstream_token: 'bench-upstream-token' });
    await p.hub!.hub.proxy.addRoute('/bench-open/', target, {});
    const a = new Agent({ keepAlive: true, maxSockets: 1 });
    const b = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < WARMUP * 10; i++) {
      if ((await get(a, `${p.base}/user/u00001/api/status`, auth)) !== 200) throw new Error('user route refused');
      await get(b, `${p.base}/bench-open/api/status`, {});
    }
    const withAuth: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < ITERATIONS * 10; i++) {
      let t = performance.now();
      await get(a, `${p.base}/user/u00001/api/status`, auth);
      withAuth.push(performance.now() - t);
      t = performance.now();
      await get(b, `${p.base}/bench-open/api/status`, {});
      without.push(performance.now() - t);
    }
    results.proxyAuthRouteMedianMs = median(withAuth);
    results.proxyOpenRouteMedianMs = median(without);
    results.proxyAuthAddedMedianMs = results.proxyAuthRouteMedianMs - results.proxyOpenRouteMedianMs;
    for (const agent of [direct, viaProxy, a, b]) agent.destroy();
  } finally {
    upstream.closeAllConnections();
    upstream.close();
    await p.close();
  }

  const rows: Array<[string, string, string, boolean]> = [
    [`GET /hub/api/users, page of ${PAGE}, ${USERS} users / ${RUNNING} running, at the hub, median`, `${results.usersPageHubMedianMs!.toFixed(2)} ms (p90 ${results.usersPageHubP90Ms!.toFixed(2)})`, '≤ 15 ms (JupyterHub 4.1.6: 15.5 ms with 1,000 users)', results.usersPageHubMedianMs! <= 15],
    ['  the same through the proxy, median', `${results.usersPageProxyMedianMs!.toFixed(2)} ms (p90 ${results.usersPageProxyP90Ms!.toFixed(2)})`, '≤ 15 ms', results.usersPageProxyMedianMs! <= 15],
    ["Proxy auth check per request (credential + cached decision), in process, median", `${results.authCheckPerCallMedianUs!.toFixed(2)} µs`, '≤ 100 µs', results.authCheckPerCallMedianUs! <= 100],
    ['Proxy auth check end to end (user route minus open route), median', `${(results.proxyAuthAddedMedianMs! * 1000).toFixed(0)} µs (${results.proxyAuthRouteMedianMs!.toFixed(3)} vs ${results.proxyOpenRouteMedianMs!.toFixed(3)} ms)`, '≤ 0.1 ms', results.proxyAuthAddedMedianMs! <= 0.1],
  ];
  process.stdout.write('\n### Security (RBAC at facility size)\n\n| measure | highrate | target | met |\n|---|---|---|---|\n');
  for (const [m, v, t, ok] of rows) process.stdout.write(`| ${m} | ${v} | ${t} | ${ok ? 'yes' : 'no'} |\n`);
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify({ benchmark: 'security', date: new Date().toISOString(), params: { users: USERS, running: RUNNING, page: PAGE, iterations: ITERATIONS }, results }, null, 2) + '\n');
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
