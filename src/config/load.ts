import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { fail } from '../errors/catalogue.js';
import { ConfigSchema, type Config, type Profile } from './schema.js';

/** The profile used when the config declares none: the system notebook on the local executor. */
export const DEFAULT_PROFILE = {
  name: 'default',
  displayName: 'Jupyter notebook',
  description: 'The system Jupyter notebook server on this machine.',
  default: true,
  executor: 'local',
  cores: { choices: [1, 2], default: 1 },
  memory: { choices: ['1G', '2G', '4G'], default: '2G' },
  env: {},
  allowedGroups: [],
} satisfies Profile;

/** Formats zod issues as `path: message` lines, naming unknown keys exactly. */
export function formatIssues(error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (path === '(top level)' ? k : `${path}.${k}`));
      return `  ${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}`;
    }
    return `  ${path}: ${issue.message}`;
  });
  return `${source} is invalid:\n${lines.join('\n')}`;
}

/** Validates a parsed config object; returns a deep-frozen Config or throws CONFIG_INVALID naming every problem. */
export function validateConfig(raw: unknown, source = 'config'): Config {
  const parsed = ConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw fail('CONFIG_INVALID', formatIssues(parsed.error, source));
  const cfg = parsed.data;
  const problems: string[] = [];

  const executorNames = new Set<string>();
  for (const [i, ex] of cfg.executors.entries()) {
    if (executorNames.has(ex.name)) problems.push(`  executors.${i}.name: duplicate executor "${ex.name}"`);
    executorNames.add(ex.name);
  }
  if (cfg.profiles.length === 0) cfg.profiles = [structuredClone(DEFAULT_PROFILE)];
  const profileNames = new Set<string>();
  for (const [i, p] of cfg.profiles.entries()) {
    if (profileNames.has(p.name)) problems.push(`  profiles.${i}.name: duplicate profile "${p.name}"`);
    profileNames.add(p.name);
    if (!executorNames.has(p.executor)) problems.push(`  profiles.${i}.executor: no executor named "${p.executor}" (have: ${[...executorNames].join(', ')})`);
    if (p.cores.default !== undefined && !p.cores.choices.includes(p.cores.default)) problems.push(`  profiles.${i}.cores.default: ${p.cores.default} is not one of the choices`);
    if (p.memory.default !== undefined && !p.memory.choices.includes(p.memory.default)) problems.push(`  profiles.${i}.memory.default: ${p.memory.default} is not one of the choices`);
    if (p.images?.default !== undefined && !p.images.choices.includes(p.images.default)) problems.push(`  profiles.${i}.images.default: ${p.images.default} is not one of the choices`);
    p.cores.default ??= p.cores.choices[0];
    p.memory.default ??= p.memory.choices[0];
    if (p.images) p.images.default ??= p.images.choices[0];
  }
  const defaults = cfg.profiles.filter((p) => p.default);
  if (defaults.length > 1) problems.push(`  profiles: more than one default profile (${defaults.map((p) => p.name).join(', ')})`);
  if (defaults.length === 0) cfg.profiles[0]!.default = true;
  if (cfg.auth.kind === 'oidc' && !cfg.auth.oidc) problems.push('  auth.oidc: required when auth.kind is "oidc"');
  if (cfg.auth.oidc?.clientSecret && cfg.auth.oidc.clientSecretFile) problems.push('  auth.oidc: give clientSecret or clientSecretFile, not both');

  if (problems.length) throw fail('CONFIG_INVALID', `${source} is invalid:\n${problems.join('\n')}`);
  return deepFreeze(cfg);
}

/** Reads and validates a YAML config file. A missing file or bad YAML is CONFIG_INVALID with the reason. */
export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fail('CONFIG_INVALID', `Cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw fail('CONFIG_INVALID', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  return validateConfig(raw, path);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
