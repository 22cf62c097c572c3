/**
 * Slurm executor benchmark, on the development Slurm (scripts/slurm.sh up):
 * for 1, 10 and 100 tracked pods (real jobs: `sleep`, 16 running at a time on the 16-slot node,
 * the rest queued), one "poll" the way a hub makes one — every pod's status asked by its own
 * caller at the same moment (the start watchers), plus one call for all of them (the reconciler)
 * — counting the squeue invocations it costs and its wall time, then the time of a status()
 * call answered from the shared poll. BatchSpawner-style polling would cost one squeue per pod.
 *
 *   node dist/bench/slurm.bench.js [--json FILE] [--sizes 1,10,100] [--rounds 5]
 *
 * Prints a Markdown table; --json also writes the numbers. Cancels every job it submitted.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { createSlurmExecutor } from '../src/executors/slurm/index.js';
import type { Pod, RetrievedPodData } from '../src/executors/types.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    sizes: { type: 'string', default: '1,10,100' },
    rounds: { type: 'string', default: '5' },
  },
});
const SIZES = args.sizes!.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const POLL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function sleeper(): RetrievedPodData {
  const uid = randomUUID();
  return {
    pod: { metadata: { name: `bench-${uid.slice(0, 8)}`, namespace: 'bench', uid }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', command: ['sleep', '600'], resources: { limits: { cpu: '1', memory: '32Mi' } } }] } },
    container: null,
  };
}

interface Row { pods: number; rounds: number; squeuePerPoll: number; callsPerPoll: number; pollMsMedian: number; cachedStatusMsMedian: number; running: number; queued: number; submitSeconds: number }

async function main(): Promise<void> {
  execFileSync('bash', [path.join(import.meta.dirname, '..', '..', 'scripts', 'slurm.sh'), 'up'], { stdio: 'inherit' });
  const rows: Row[] = [];
  for (const n of SIZES) {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-slurm-bench-'));
    const ex = createSlurmExecutor({ name: 'bench', stateDir, pollIntervalMs: POLL_MS });
    const pods: Pod[] = [];
    try {
      const t0 = performance.now();
      for (const d of Array.from({ length: n }, sleeper)) {
        await ex.create(d);
        pods.push(d.pod);
      }
      const submitSeconds = (performance.now() - t0) / 1000;
      // Let the scheduler place what fits.
      await sleep(2500);
      const perPoll: number[] = [];
      const pollMs: number[] = [];
      const cachedMs: number[] = [];
      let last = await ex.status(pods);
      for (let r = 0; r < ROUNDS; r++) {
        await sleep(POLL_MS + 50);
        const before = ex.commands.count('squeue');
        const t1 = performance.now();
        const answers = await Promise.all([...pods.map((p) => ex.status([p])), ex.status(pods)]);
        pollMs.push(performance.now() - t1);
        perPoll.push(ex.commands.count('squeue') - before);
        last = answers.at(-1)!;
        const t2 = performance.now();
        await ex.status(pods);
        cachedMs.push(performance.now() - t2);
      }
      rows.push({
        pods: n, rounds: ROUNDS,
        squeuePerPoll: Math.max(...perPoll), callsPerPoll: n + 1,
        pollMsMedian: round(median(pollMs)), cachedStatusMsMedian: round(median(cachedMs), 2),
        running: last.filter((s) => s.containers[0]?.state.running).length,
        queued: last.filter((s) => s.containers[0]?.state.waiting?.reason === 'Pending').length,
        submitSeconds: round(submitSeconds, 2),
      });
    } finally {
      const ids = pods.map((p) => ex.jobIdOf(p.metadata.uid)).filter((x): x is string => !!x);
      if (ids.length) execFileSync('scancel', ids);
      await Promise.all(pods.map((p) => ex.delete(p).catch(() => undefined)));
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  }
  console.log('| tracked pods | status() calls per poll | squeue per poll | poll wall time (median ms) | status() from the shared poll (median ms) | running / queued | sbatch: s for all |');
  console.log('|---:|---:|---:|---:|---:|---|---:|');
  for (const r of rows) console.log(`| ${r.pods} | ${r.callsPerPoll} | ${r.squeuePerPoll} | ${r.pollMsMedian} | ${r.cachedStatusMsMedian} | ${r.running} / ${r.queued} | ${r.submitSeconds} |`);
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ bench: 'slurm', when: new Date().toISOString(), pollIntervalMs: POLL_MS, rows }, null, 2) + '\n');
}

await main();
