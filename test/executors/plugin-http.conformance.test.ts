import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExecutorConformance } from '../../src/executors/conformance/index.js';
import { InterlinkExecutor } from '../../src/executors/interlink/index.js';
import { LocalExecutor } from '../../src/executors/local/index.js';
import { isAlive, readProcStat } from '../../src/executors/local/procfs.js';
import type { SecurityExpectations } from '../../src/executors/conformance/index.js';
import type { Executor, ExecutorCapabilities, Pod } from '../../src/executors/types.js';
import { startPluginProcess, type PluginProcess } from './plugin-http.helpers.js';

/**
 * The executor conformance suite over the wire, twice:
 * 1. interlink executor (target "api", as the virtual kubelet calls interLink) → HTTP over TCP →
 *    `highrate plugin serve --api` (a real process) → local executor;
 * 2. interlink executor (target "plugin", as interLink calls its plugin) → HTTP over a unix
 *    socket → `highrate plugin serve` → local executor.
 *
 * What only the backend can tell (cgroup limits, whether processes still run) is read from the
 * plugin's state directory by a second LocalExecutor used as an inspector (a new process of the
 * same executor sees the pods of the old one; cgroups "off" so it creates nothing).
 */

const root = mkdtempSync(join(tmpdir(), 'highrate-plugin-conformance-'));
const plugins: PluginProcess[] = [];
after(async () => {
  await Promise.all(plugins.map((p) => p.stop()));
  rmSync(root, { recursive: true, force: true });
});

/** What the plugin's local executor will enforce here (same detection, own throwaway state). */
function localCapabilities(): ExecutorCapabilities {
  const probe = new LocalExecutor({ name: 'local', stateDir: join(root, 'probe'), sandbox: 'auto', cgroups: 'auto' });
  return probe.capabilities;
}

/** What of a pod's securityContext it enforces: bubblewrap all of the restricted context; the host sandbox not the root or seccomp. */
function localSecurity(): SecurityExpectations {
  const bwrap = new LocalExecutor({ name: 'local', stateDir: join(root, 'probe'), sandbox: 'auto', cgroups: 'off' }).sandboxKind === 'bwrap';
  const runAsUser = process.getuid!() === 0 ? 200777 : process.getuid!();
  return { runAsUser, seccomp: bwrap, readOnlyRoot: bwrap, ownPidNamespace: bwrap };
}

function variant(title: string, dataDir: string, start: () => Promise<PluginProcess>, target: 'api' | 'plugin') {
  // A fresh inspector per look: an executor reads the pods directory once, on first use.
  const inspect = (uid: string) => new LocalExecutor({ name: 'local', stateDir: join(dataDir, 'executors', 'local'), sandbox: 'none', cgroups: 'off' }).inspect(uid);
  runExecutorConformance({
    name: title,
    newExecutor: async (): Promise<Executor> => {
      const p = await start();
      plugins.push(p);
      return new InterlinkExecutor({ name: `wire-${target}`, url: p.url, target, capabilities: { ...localCapabilities(), images: false, remoteAddress: false } });
    },
    skip: {},
    observeLimits: async (_ex: Executor, pod: Pod) => inspect(pod.metadata.uid)?.limits ?? {},
    watchRunning: async (_ex: Executor, pod: Pod) => {
      const procs = (inspect(pod.metadata.uid)?.processes ?? []).map((pid) => ({ pid, start: readProcStat(pid)?.startTime ?? null }));
      return async () => procs.some((p) => isAlive(p.pid, p.start));
    },
    bulk: { pods: 50, total: 1000, budgetMs: 1000 },
    security: localSecurity(),
  });
}

const tcpData = join(root, 'tcp');
variant('interlink (api) → HTTP → plugin serve --api → local', tcpData,
  () => startPluginProcess(['--executor', 'local', '--listen', '127.0.0.1:0', '--api', '--data-dir', tcpData]), 'api');

const unixData = join(root, 'unix');
variant('interlink (plugin) → unix socket → plugin serve → local', unixData,
  () => startPluginProcess(['--executor', 'local', '--listen', `unix:${join(root, 'plugin.sock')}`, '--data-dir', unixData]), 'plugin');
