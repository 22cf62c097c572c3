import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { fail } from '../errors/catalogue.js';
import { ConfigSchema, type Config, type Profile } from './schema.js';
import { validateScopes } from '../auth/scopes.js';
import { BUILTIN_ROLE_NAMES } from '../auth/roles/builtin-roles.js';

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
  if (cfg.storage.tokenSource === 'oidc' && cfg.auth.kind !== 'oidc') problems.push('  storage.tokenSource: "oidc" needs auth.kind "oidc" (the issuer that gives storage tokens); use "hub" with the embedded IdP');
  if (cfg.auth.oidc?.clientSecret && cfg.auth.oidc.clientSecretFile) problems.push('  auth.oidc: give clientSecret or clientSecretFile, not both');

  problems.push(...securityProblems(cfg, executorNames, profileNames));
  problems.push(...clusterProblems(cfg, executorNames));

  if (problems.length) throw fail('CONFIG_INVALID', `${source} is invalid:\n${problems.join('\n')}`);
  return deepFreeze(cfg);
}

/** The `clusters:` section against the executors, and its defaults filled in. */
function clusterProblems(cfg: Config, executorNames: Set<string>): string[] {
  const c = cfg.clusters;
  const out: string[] = [];
  const sched = cfg.executors.find((e) => e.name === c.schedulerExecutor);
  if (!sched) out.push(`  clusters.schedulerExecutor: no executor named "${c.schedulerExecutor}" (have: ${[...executorNames].join(', ')})`);
  else if (sched.kind !== 'local') out.push(`  clusters.schedulerExecutor: "${c.schedulerExecutor}" is a ${sched.kind} executor; schedulers must run on this host (kind local)`);
  for (const [i, e] of c.options.workerExecutors.entries()) {
    if (!executorNames.has(e)) out.push(`  clusters.options.workerExecutors.${i}: no executor named "${e}" (have: ${[...executorNames].join(', ')})`);
  }
  const cores = c.options.workerCores;
  if (cores.min > cores.max) out.push(`  clusters.options.workerCores: min ${cores.min} is above max ${cores.max}`);
  if (cores.default < cores.min || cores.default > cores.max) out.push(`  clusters.options.workerCores.default: ${cores.default} is outside ${cores.min}..${cores.max}`);
  const mem = c.options.workerMemory;
  if (mem.default !== undefined && !mem.choices.includes(mem.default)) out.push(`  clusters.options.workerMemory.default: ${mem.default} is not one of the choices`);
  mem.default ??= mem.choices[0];
  const images = c.options.images;
  if (images?.default !== undefined && !images.choices.includes(images.default)) out.push(`  clusters.options.images.default: ${images.default} is not one of the choices`);
  if (images) images.default ??= images.choices[0];
  if (c.options.maxWorkers.default > c.options.maxWorkers.max) out.push(`  clusters.options.maxWorkers.default: ${c.options.maxWorkers.default} is above max ${c.options.maxWorkers.max}`);
  return out;
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

/** Cross-checks of roles, services, quotas and access tokens: every name they use must exist. */
function securityProblems(cfg: Config, executors: Set<string>, profiles: Set<string>): string[] {
  const problems: string[] = [];
  const roleNames = new Set<string>(BUILTIN_ROLE_NAMES);
  const serviceNames = new Set<string>();
  for (const [i, svc] of cfg.services.entries()) {
    if (serviceNames.has(svc.name)) problems.push(`  services.${i}.name: duplicate service "${svc.name}"`);
    serviceNames.add(svc.name);
  }
  const declared = new Set<string>();
  for (const [i, role] of cfg.roles.entries()) {
    if (declared.has(role.name)) problems.push(`  roles.${i}.name: duplicate role "${role.name}"`);
    declared.add(role.name);
    roleNames.add(role.name);
    if (BUILTIN_ROLE_NAMES.has(role.name) && role.scopes !== undefined) problems.push(`  roles.${i}.scopes: the scopes of the built-in role "${role.name}" cannot be changed; only assign it`);
    if (!BUILTIN_ROLE_NAMES.has(role.name) && role.scopes === undefined) problems.push(`  roles.${i}.scopes: required for role "${role.name}"`);
    try {
      if (role.scopes) validateScopes(role.scopes);
    } catch (err) {
      problems.push(`  roles.${i}.scopes: ${(err as Error).message}`);
    }
    for (const s of role.services) if (!serviceNames.has(s)) problems.push(`  roles.${i}.services: no service named "${s}"`);
  }
  for (const [i, svc] of cfg.services.entries()) {
    for (const r of svc.roles) if (!roleNames.has(r)) problems.push(`  services.${i}.roles: no role named "${r}"`);
    // The hub itself answers under /services/dask-gateway/ (the clusters' API).
    if (svc.url && svc.name === 'dask-gateway' && cfg.clusters.enabled) problems.push(`  services.${i}.url: /services/dask-gateway/ is the clusters' API; name the service otherwise`);
    try {
      validateScopes(svc.oauthClientAllowedScopes);
    } catch (err) {
      problems.push(`  services.${i}.oauthClientAllowedScopes: ${(err as Error).message}`);
    }
  }
  const quotaEntries = [['quotas.default', cfg.quotas.default] as const,
    ...Object.entries(cfg.quotas.groups).map(([g, q]) => [`quotas.groups.${g}`, q] as const),
    ...Object.entries(cfg.quotas.users).map(([u, q]) => [`quotas.users.${u}`, q] as const)];
  for (const [path, q] of quotaEntries) {
    for (const p of q?.profiles ?? []) if (!profiles.has(p)) problems.push(`  ${path}.profiles: no profile named "${p}"`);
    for (const e of q?.executors ?? []) if (!executors.has(e)) problems.push(`  ${path}.executors: no executor named "${e}"`);
  }
  const at = cfg.auth.oidc?.accessTokens;
  if (at) {
    try {
      validateScopes(at.scopes);
    } catch (err) {
      problems.push(`  auth.oidc.accessTokens.scopes: ${(err as Error).message}`);
    }
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
