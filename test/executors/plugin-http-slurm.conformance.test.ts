import { after, before } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import { InterlinkExecutor } from '../../src/executors/interlink/index.js';
import type { Executor, Pod } from '../../src/executors/types.js';
import { ensureSlurm, jobState } from '../helpers/slurm.js';
import { startPluginProcess, type PluginProcess } from './plugin-http.helpers.js';

/**
 * The conformance suite over the wire onto real Slurm: interlink executor (target "api") → HTTP →
 * `highrate plugin serve --api --executor slurm` (a real process) → Slurm executor → sbatch on
 * the development Slurm (scripts/slurm.sh). Every pod is a real job; containers run in bubblewrap
 * on the node. As in slurm.conformance.test.ts, Slurm allocates whole CPUs, so the suite's 500m
 * cannot be observed as 0.5 cores.
 */

const dir = mkdtempSync(join(tmpdir(), 'highrate-plugin-slurm-'));
let plugin: PluginProcess | undefined;
before(() => ensureSlurm());
after(async () => {
  await plugin?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const LIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING']);

runExecutorConformance({
  name: 'interlink (api) → HTTP → plugin serve --api → slurm',
  newExecutor: async (): Promise<Executor> => {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, stringify({
      executors: [
        { name: 'local', kind: 'local' },
        { name: 'slurm', kind: 'slurm', slurm: { sandbox: 'bwrap', pollInterval: 0.5 } },
      ],
    }));
    plugin = await startPluginProcess(['--executor', 'slurm', '--listen', '127.0.0.1:0', '--api', '--config', config, '--data-dir', join(dir, 'data')]);
    // What the Slurm executor honours: limits (as allocations), no images (bwrap runs host processes).
    return new InterlinkExecutor({ name: 'wire-slurm', url: plugin.url, capabilities: { images: false, cpuLimits: true, memoryLimits: true, remoteAddress: true } });
  },
  skip: {
    limits: 'Slurm allocates whole CPUs (500m becomes --cpus-per-task=1); slurm.test.ts checks the allocation in scontrol show job',
  },
  timeoutScale: 1.5,
  watchRunning: async (ex: Executor, pod: Pod) => {
    const [st] = await ex.status([pod]);
    const jid = st!.JID;
    return async () => LIVE.has(jobState(jid) ?? '');
  },
  bulk: { pods: 10, total: 1000, budgetMs: 1000 },
});
