import { join } from 'node:path';
import type { ExecutorConfig } from '../config/schema.js';
import { LocalExecutor } from './local/index.js';
import type { Executor } from './types.js';

/** Builds the configured executors, each with its own state directory under `<data>/executors/`. */
export async function buildExecutors(configs: readonly ExecutorConfig[], ctx: { dataDir: string }): Promise<Map<string, Executor>> {
  const out = new Map<string, Executor>();
  for (const c of configs) {
    switch (c.kind) {
      case 'local':
        out.set(c.name, new LocalExecutor({
          name: c.name,
          stateDir: join(ctx.dataDir, 'executors', c.name),
          sandbox: c.options.sandbox,
          cgroups: c.options.cgroups,
          // Pods never see the hub's data (store, secrets, other pods' state).
          hiddenPaths: [ctx.dataDir],
        }));
        break;
    }
  }
  return out;
}
