/**
 * Store benchmark: the user list at facility size. Seeds 10,000 users and 1,000 running
 * servers into SQLite (temp file) and a real PostgreSQL (started here), then times what the
 * hub's GET /hub/api/users does in the store: listUsers({offset: k, limit: 200}) plus
 * listServersOf(that page), over varied offsets, and a few single-row lookups for scale.
 *
 *   node dist/bench/store.bench.js [--json FILE] [--iterations 200] [--users 10000] [--running 1000]
 *
 * Prints a Markdown table; --json also writes the numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { log } from '../src/log.js';
import { createStore, type KyselyStore } from '../src/store/index.js';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres.js';
import { seedRows, T0 } from '../test/store/seed.js';

interface Result {
  backend: string;
  operation: string;
  iterations: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
}

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    iterations: { type: 'string', default: '200' },
    users: { type: 'string', default: '10000' },
    running: { type: 'string', default: '1000' },
  },
});
const ITERATIONS = Number(args.iterations);
const USERS = Number(args.users);
const RUNNING = Number(args.running);
const PAGE = 200;
/** Iterations run first and discarded: V8 compiles the hot paths and the databases warm their caches. */
const WARMUP = 30;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

async function measure(backend: string, operation: string, fn: (i: number) => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { backend, operation, iterations: ITERATIONS, medianMs: round(quantile(times, 0.5)), p90Ms: round(quantile(times, 0.9)), minMs: round(times[0]!) };
}

/** Offsets spread over the whole list (a stride coprime with the page count). */
function offsetOf(i: number): number {
  return ((i * 37) % Math.max(1, Math.floor(USERS / PAGE))) * PAGE;
}

async function benchBackend(backend: string, store: KyselyStore): Promise<Result[]> {
  const { users, servers } = seedRows(USERS, RUNNING);
  const t = performance.now();
  await store.bulkInsertForBench(users, servers);
  process.stderr.write(`[bench] ${backend}: seeded ${USERS} users + ${servers.length} servers in ${(performance.now() - t).toFixed(0)} ms\n`);
  await store.insertToken({
    id: 'a1', user: users[0]!.name, hash: 'h'.repeat(64), prefix: 'abcd', scopes: ['inherit'], note: '',
    kind: 'api', created: T0, expiresAt: null, lastActivity: null,
  });
  await store.insertSession({ hash: 's'.repeat(64), user: users[0]!.name, xsrf: 'x', created: T0, expiresAt: T0 });

  const results: Result[] = [];
  results.push(await measure(backend, `listUsers(offset k, limit ${PAGE}) + listServersOf(page)`, async function userPage(i) {
    const page = await store.listUsers({ offset: offsetOf(i), limit: PAGE });
    await store.listServersOf(page.users.map((u) => u.name));
  }));
  results.push(await measure(backend, `listUsers(state=active, limit ${PAGE}) + listServersOf(page)`, async function activePage(i) {
    const page = await store.listUsers({ state: 'active', offset: (i % 5) * PAGE, limit: PAGE });
    await store.listServersOf(page.users.map((u) => u.name));
  }));
  results.push(await measure(backend, 'getUser', (i) => store.getUser(users[(i * 7919) % USERS]!.name)));
  results.push(await measure(backend, 'getTokenByHash', () => store.getTokenByHash('h'.repeat(64))));
  results.push(await measure(backend, 'getSession', () => store.getSession('s'.repeat(64))));
  return results;
}

async function main(): Promise<void> {
  log.setLevel('warn');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-store-bench-'));
  let pgServer: TestPostgres | undefined;
  const results: Result[] = [];
  try {
    const sqlite = await createStore(`sqlite://${path.join(tmp, 'bench.sqlite')}`);
    try {
      results.push(...await benchBackend('sqlite', sqlite));
    } finally {
      await sqlite.close();
    }
    pgServer = await startPostgres();
    const postgres = await createStore(pgServer.url);
    try {
      results.push(...await benchBackend(`postgres ${pgServer.version}`, postgres));
    } finally {
      await postgres.close();
    }
  } finally {
    await pgServer?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const lines = [
    `Store: ${USERS} users, ${RUNNING} running servers; ${ITERATIONS} iterations after ${WARMUP} warm-up (times in ms)`,
    '',
    '| backend | operation | median | p90 | min |',
    '|---|---|---:|---:|---:|',
    ...results.map((r) => `| ${r.backend} | ${r.operation} | ${r.medianMs.toFixed(2)} | ${r.p90Ms.toFixed(2)} | ${r.minMs.toFixed(2)} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) {
    const doc = {
      benchmark: 'store', date: new Date().toISOString(), node: process.version, cpus: os.cpus().length,
      params: { users: USERS, running: RUNNING, page: PAGE, iterations: ITERATIONS, warmup: WARMUP }, results,
    };
    fs.writeFileSync(args.json, JSON.stringify(doc, null, 2) + '\n');
  }
}

main().catch(function benchFailed(err) {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
