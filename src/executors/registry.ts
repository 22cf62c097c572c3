import { join } from 'node:path';
import { HtcondorOptionsSchema, KubernetesOptionsSchema, SlurmOptionsSchema, type ExecutorConfig } from '../config/schema.js';
import { fail } from '../errors/catalogue.js';
import { LocalExecutor, probeBwrap } from './local/index.js';
import { createSlurmExecutor } from './slurm/index.js';
import { createHtcondorExecutor } from './htcondor/index.js';
import { InterlinkExecutor } from './interlink/index.js';
import type { Executor } from './types.js';

/**
 * One bubblewrap probe for all local executors (a child process: 50 ms idle, more under load).
 * The hub starts it first thing, so it runs while the store opens (issue 14).
 */
export function startBwrapProbe(configs: readonly ExecutorConfig[]): Promise<boolean> {
  return configs.some((c) => c.kind === 'local' && c.options.sandbox !== 'none') ? probeBwrap() : Promise.resolve(false);
}

/**
 * Builds the configured executors, each with its own state directory under `<data>/executors/`.
 * @param ctx.hiddenPaths more host paths pods must not see (the config file, secret files it names)
 * @param ctx.bwrapWorks the answer of `startBwrapProbe(configs)`, when the caller started it earlier
 */
export async function buildExecutors(configs: readonly ExecutorConfig[], ctx: { dataDir: string; hiddenPaths?: string[]; bwrapWorks?: Promise<boolean> }): Promise<Map<string, Executor>> {
  const out = new Map<string, Executor>();
  const bwrap = ctx.bwrapWorks ?? startBwrapProbe(configs);
  for (const c of configs) {
    switch (c.kind) {
      case 'local':
        out.set(c.name, new LocalExecutor({
          name: c.name,
          stateDir: join(ctx.dataDir, 'executors', c.name),
          sandbox: c.options.sandbox,
          bwrapWorks: await bwrap,
          cgroups: c.options.cgroups,
          pidsLimit: c.options.pidsLimit,
          // Pods never see the hub's data (store, secrets, other pods' state) nor its config.
          hiddenPaths: [ctx.dataDir, ...(ctx.hiddenPaths ?? [])],
        }));
        break;
      case 'slurm': {
        const o = c.slurm ?? SlurmOptionsSchema.parse({});
        const stateDir = o.stateDir ?? join(ctx.dataDir, 'executors', c.name);
        out.set(c.name, createSlurmExecutor({
          name: c.name,
          stateDir,
          ...(o.jobRoot ? { jobRoot: o.jobRoot } : {}),
          ...(o.jobFilesVisible !== undefined ? { jobFilesVisible: o.jobFilesVisible } : {}),
          partition: o.partition, account: o.account, qos: o.qos, timeLimit: o.timeLimit,
          extraSbatchFlags: o.extraSbatchFlags,
          containerRuntime: o.containerRuntime,
          sandbox: o.sandbox,
          runJobsAs: o.runJobsAs,
          hiddenPaths: [ctx.dataDir, ...(ctx.hiddenPaths ?? [])],
          pollIntervalMs: o.pollInterval * 1000,
          commandTimeoutMs: o.commandTimeout * 1000,
        }));
        break;
      }
      case 'htcondor': {
        const o = c.htcondor ?? HtcondorOptionsSchema.parse({});
        const stateDir = o.stateDir ?? join(ctx.dataDir, 'executors', c.name);
        out.set(c.name, createHtcondorExecutor({
          name: c.name,
          stateDir,
          ...(o.jobRoot ? { jobRoot: o.jobRoot } : {}),
          ...(o.jobFilesVisible !== undefined ? { jobFilesVisible: o.jobFilesVisible } : {}),
          schedd: o.schedd, pool: o.pool, universe: o.universe, containerImage: o.containerImage,
          requestDisk: o.requestDisk, accountingGroup: o.accountingGroup, extraSubmitLines: o.extraSubmitLines,
          containerRuntime: o.containerRuntime,
          sandbox: o.sandbox,
          runJobsAs: o.runJobsAs,
          hiddenPaths: [ctx.dataDir, ...(ctx.hiddenPaths ?? [])],
          pollIntervalMs: o.pollInterval * 1000,
          commandTimeoutMs: o.commandTimeout * 1000,
        }));
        break;
      }
      case 'kubernetes': {
        const o = c.kubernetes ?? KubernetesOptionsSchema.parse({});
        // Loaded only when configured: the Kubernetes client is 0.6 s of every hub start otherwise.
        const { KubernetesExecutor, loadKubeConfig } = await import('./kubernetes/index.js');
        out.set(c.name, new KubernetesExecutor({
          name: c.name,
          kubeConfig: loadKubeConfig(o),
          namespace: o.namespace,
          defaultImage: o.defaultImage,
          runAsNonRoot: o.runAsNonRoot, runAsUser: o.runAsUser, runAsGroup: o.runAsGroup, fsGroup: o.fsGroup,
          serviceAccountName: o.serviceAccountName,
          imagePullSecrets: o.imagePullSecrets,
          nodeSelector: o.nodeSelector,
          hostPath: o.hostPath,
          pollIntervalMs: o.pollInterval * 1000,
          requestTimeoutMs: o.requestTimeout * 1000,
        }));
        break;
      }
      case 'interlink': {
        const o = c.interlink;
        if (!o) throw fail('CONFIG_INVALID', `Executor "${c.name}" of kind interlink needs interlink.url.`);
        out.set(c.name, new InterlinkExecutor({
          name: c.name,
          url: o.url,
          target: o.target,
          tokenFile: o.tokenFile,
          tls: o.tls,
          timeoutMs: o.timeout * 1000,
          capabilities: o.capabilities,
        }));
        break;
      }
    }
    if (c.kind !== 'slurm' && c.slurm) throw fail('CONFIG_INVALID', `Executor "${c.name}" has slurm options but kind ${c.kind}.`);
    for (const k of ['htcondor', 'kubernetes', 'interlink'] as const) {
      if (c.kind !== k && c[k]) throw fail('CONFIG_INVALID', `Executor "${c.name}" has ${k} options but kind ${c.kind}.`);
    }
  }
  return out;
}
