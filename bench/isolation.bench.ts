/**
 * What isolation costs, side by side in one run: the default notebook server's pod (Debian's
 * `jupyter notebook`, as the hub builds it) from create to answering HTTP,
 * - on the local executor with the full sandbox (bubblewrap, the pod's uid through setpriv, no
 *   capabilities, seccomp, read-only root, private /tmp, cgroups with a pids limit), and
 * - the same command on the host executor (no sandbox; the same uid, no securityContext asked).
 * Rounds alternate the order; medians are compared. Target: ≤ 50 ms more with the sandbox.
 * Usage: node dist/bench/isolation.bench.js [--json FILE]
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipBench } from './skip.js';
import { validateConfig } from '../src/config/load.js';
import { LocalExecutor } from '../src/executors/local/index.js';
import type { RetrievedPodData } from '../src/executors/types.js';
import { freePort } from '../src/http/ports.js';
import { waitForHttp } from '../src/hub/servers/readiness.js';
import { notebookPod, PLAIN_NOTEBOOK_COMMAND } from '../src/hub/servers/workload.js';
import { ROOT } from '../test/helpers/platform.js';

const ROUNDS = 9;
const UID = 299_990;
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

function pod(sandboxed: boolean, home: string, port: number, token: string): RetrievedPodData {
  const profile = validateConfig({}).profiles[0]!;
  const data = notebookPod({
    user: 'bench', server: '', options: { profile: profile.name, cores: 1, memory: '2G' }, profile, port, upstreamToken: token,
    homeDir: home, identity: { uid: UID, gid: UID }, mountPaths: sandboxed, publicUrl: 'http://127.0.0.1:1',
    defaultCommand: PLAIN_NOTEBOOK_COMMAND, hubCredentials: { apiToken: 'bench-api-token', clientId: 'jupyterhub-user-bench' },
  });
  if (!sandboxed) {
    // The same command and user, asking for nothing a host process cannot have.
    delete data.pod.spec.securityContext;
    data.pod.spec.securityContext = { runAsUser: UID, runAsGroup: UID };
    delete data.pod.spec.containers[0]!.securityContext;
  }
  return data;
}

/** ms from create() to the server answering its API with its token. */
async function startOnce(ex: LocalExecutor, sandboxed: boolean, home: string): Promise<number> {
  const port = await freePort();
  const token = `bench-${Math.random().toString(36).slice(2)}`;
  const data = pod(sandboxed, home, port, token);
  const t0 = performance.now();
  await ex.create(data);
  const ok = await waitForHttp(`http://127.0.0.1:${port}/user/bench/api`, { authorization: `token ${token}` }, AbortSignal.timeout(60_000));
  const ms = performance.now() - t0;
  await ex.delete(data.pod);
  if (!ok) throw new Error(`the ${sandboxed ? 'sandboxed' : 'host'} notebook did not answer`);
  return ms;
}

async function main(): Promise<void> {
  const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
  if (process.getuid?.() !== 0) skipBench('isolation', 'it runs pods as other uids: run it as root');
  // Outside /tmp, as a real data directory would be (the sandbox hides it with its own tmpfs).
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const tmp = mkdtempSync(join(ROOT, '.tmp', 'bench-isolation-'));
  const results: Record<string, number> = {};
  try {
    // The host executor's notebook reaches its home through this directory (the sandboxed one gets it bound).
    chmodSync(tmp, 0o711);
    const home = join(tmp, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, UID, UID);
    const sandboxed = new LocalExecutor({ name: 'bench-sandboxed', stateDir: join(tmp, 'sandboxed'), sandbox: 'bwrap', cgroups: 'auto' });
    const host = new LocalExecutor({ name: 'bench-host', stateDir: join(tmp, 'host'), sandbox: 'none', cgroups: 'auto' });
    const withSandbox: number[] = [];
    const onHost: number[] = [];
    // One warm-up each (page cache), then alternate which goes first.
    await startOnce(sandboxed, true, home);
    await startOnce(host, false, home);
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        withSandbox.push(await startOnce(sandboxed, true, home));
        onHost.push(await startOnce(host, false, home));
      } else {
        onHost.push(await startOnce(host, false, home));
        withSandbox.push(await startOnce(sandboxed, true, home));
      }
    }
    results.sandboxedMedianMs = median(withSandbox);
    results.hostMedianMs = median(onHost);
    results.isolationCostMs = results.sandboxedMedianMs - results.hostMedianMs;
    // The differences of paired rounds, for the spread.
    const pairs = withSandbox.map((w, i) => w - onHost[i]!).sort((a, b) => a - b);
    results.pairedDiffMinMs = pairs[0]!;
    results.pairedDiffMaxMs = pairs.at(-1)!;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const ok = results.isolationCostMs! <= 50;
  process.stdout.write('\n### Isolation\n\n| measure | sandboxed | host executor | difference | target | met |\n|---|---|---|---|---|---|\n');
  process.stdout.write(`| default notebook: create → answering, median of ${ROUNDS} | ${results.sandboxedMedianMs!.toFixed(0)} ms | ${results.hostMedianMs!.toFixed(0)} ms | ${results.isolationCostMs!.toFixed(0)} ms (paired rounds ${results.pairedDiffMinMs!.toFixed(0)} … ${results.pairedDiffMaxMs!.toFixed(0)}) | ≤ 50 ms | ${ok ? 'yes' : 'no'} |\n`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
