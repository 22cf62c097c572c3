import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

/** Flags every command that touches a deployment shares. */
export const DEPLOYMENT_FLAGS = {
  'data-dir': { type: 'string', default: './highrate-data' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The config a command runs with: `--config FILE`, else `<data-dir>/config.yaml` when present,
 * else the embedded defaults; `overrides` (command-line flags) are applied before validation.
 */
export function resolveConfig(flags: { config?: string; 'data-dir'?: string }, overrides: (raw: Record<string, any>) => void = () => {}): { config: Config; dataDir: string; configFile?: string } {
  const dataDir = resolve(flags['data-dir'] ?? './highrate-data');
  const file = flags.config ?? (existsSync(join(dataDir, 'config.yaml')) ? join(dataDir, 'config.yaml') : undefined);
  const base = file ? structuredClone(loadConfigFile(file)) as unknown as Record<string, any> : {};
  overrides(base);
  return { config: validateConfig(base, file ?? 'the default configuration'), dataDir, ...(file ? { configFile: resolve(file) } : {}) };
}

export function usage(text: string): number {
  process.stdout.write(text.trimStart());
  return 0;
}
