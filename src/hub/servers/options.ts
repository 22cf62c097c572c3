import type { Profile } from '../../config/schema.js';
import { fail } from '../../errors/catalogue.js';
import type { ExecutorCapabilities } from '../../executors/types.js';

/** Options a server was started with, validated against its profile. */
export interface ServerOptions {
  profile: string;
  cores: number;
  memory: string;
  image?: string;
}

const KNOWN = new Set(['profile', 'cores', 'memory', 'image']);

/**
 * Reads the start request body: JupyterHub ≤5 sends the options themselves, 6.0 wraps them as
 * `{user_options: {...}}` (with an optional `display_name`). An empty body reuses `previous`.
 */
export function optionsFromBody(body: Record<string, unknown> | undefined, previous: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!body || Object.keys(body).length === 0) return previous ?? {};
  if ('user_options' in body) {
    const extra = Object.keys(body).filter((k) => k !== 'user_options' && k !== 'display_name');
    if (extra.length) throw fail('INVALID_OPTIONS', `Unknown field${extra.length > 1 ? 's' : ''} beside user_options: ${extra.join(', ')}`);
    const uo = body.user_options;
    if (uo === null || uo === undefined) return previous ?? {};
    if (typeof uo !== 'object' || Array.isArray(uo)) throw fail('INVALID_OPTIONS', 'user_options must be an object.');
    return uo as Record<string, unknown>;
  }
  return body;
}

/**
 * Validates options against the allowed profiles: every value must be one the administrator
 * offers (as SWAN checks its form server-side). Missing values take the profile's defaults.
 */
export function validateOptions(raw: Record<string, unknown>, profiles: readonly Profile[], ctx: { groups: readonly string[]; capabilities: (executor: string) => ExecutorCapabilities | undefined }): { options: ServerOptions; profile: Profile } {
  const unknown = Object.keys(raw).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw fail('INVALID_OPTIONS', `Unknown option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Allowed: ${[...KNOWN].join(', ')}.`);

  let profile: Profile | undefined;
  if (raw.profile === undefined) profile = profiles.find((p) => p.default) ?? profiles[0];
  else if (typeof raw.profile !== 'string') throw fail('INVALID_OPTIONS', 'profile must be a string.');
  else profile = profiles.find((p) => p.name === raw.profile);
  if (!profile) throw fail('INVALID_OPTIONS', `No such profile: ${String(raw.profile).slice(0, 100)}. Available: ${profiles.map((p) => p.name).join(', ')}.`);
  if (profile.allowedGroups.length && !profile.allowedGroups.some((g) => ctx.groups.includes(g))) {
    throw fail('FORBIDDEN', `Profile ${profile.name} is only for members of: ${profile.allowedGroups.join(', ')}.`);
  }

  let cores = profile.cores.default!;
  if (raw.cores !== undefined) {
    const n = typeof raw.cores === 'string' && raw.cores.trim() !== '' ? Number(raw.cores) : raw.cores;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw fail('INVALID_OPTIONS', 'cores must be a number.');
    if (!profile.cores.choices.includes(n)) throw fail('INVALID_OPTIONS', `cores must be one of ${profile.cores.choices.join(', ')} for profile ${profile.name}.`);
    cores = n;
  }
  let memory = profile.memory.default!;
  if (raw.memory !== undefined) {
    if (typeof raw.memory !== 'string' || !profile.memory.choices.includes(raw.memory)) {
      throw fail('INVALID_OPTIONS', `memory must be one of ${profile.memory.choices.join(', ')} for profile ${profile.name}.`);
    }
    memory = raw.memory;
  }
  const options: ServerOptions = { profile: profile.name, cores, memory };
  const honoursImages = ctx.capabilities(profile.executor)?.images ?? false;
  if (raw.image !== undefined) {
    if (!profile.images || !honoursImages) throw fail('INVALID_OPTIONS', `Profile ${profile.name} does not offer a choice of image.`);
    if (typeof raw.image !== 'string' || !profile.images.choices.includes(raw.image)) {
      throw fail('INVALID_OPTIONS', `image must be one of ${profile.images.choices.join(', ')}.`);
    }
    options.image = raw.image;
  } else if (profile.images && honoursImages) {
    options.image = profile.images.default;
  }
  return { options, profile };
}

/** The profile as the start form shows it (highrate's `GET /hub/api/profiles`). */
export function profileModel(p: Profile, honoursImages: boolean) {
  return {
    name: p.name,
    display_name: p.displayName ?? p.name,
    description: p.description,
    default: p.default,
    executor: p.executor,
    options: {
      cores: { choices: p.cores.choices, default: p.cores.default },
      memory: { choices: p.memory.choices, default: p.memory.default },
      ...(p.images && honoursImages ? { image: { choices: p.images.choices, default: p.images.default } } : {}),
    },
  };
}
