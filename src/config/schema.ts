import { z } from 'zod';

/**
 * The configuration schema: one typed, validated, frozen tree. Every field has its default and
 * help text here; docs/config.md is generated from this file (`highrate config docs`). Unknown
 * keys are errors, so a typo never silently does nothing.
 */

const seconds = (def: number, help: string) => z.number().int().min(0).default(def).describe(help);
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-", starting with a letter or digit');
const memoryQuantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(K|M|G|T|Ki|Mi|Gi|Ti)?$/, 'must be a memory size like "512M", "4G" or "2Gi"');

export const ProfileSchema = z.strictObject({
  name: name.describe('Identifier used in the API (`{"profile": "<name>"}`).'),
  displayName: z.string().min(1).max(200).optional().describe('Shown in the start form; defaults to the name.'),
  description: z.string().max(2000).default('').describe('Shown under the profile in the start form.'),
  default: z.boolean().default(false).describe('The profile chosen when a request names none.'),
  executor: name.default('local').describe('Which configured executor runs servers of this profile.'),
  cores: z.strictObject({
    choices: z.array(z.number().positive().max(1024)).min(1).default([1, 2]).describe('Cores a user may choose.'),
    default: z.number().positive().optional().describe('Preselected cores; defaults to the first choice.'),
  }).prefault({}).describe('CPU cores (a limit enforced where the executor can).'),
  memory: z.strictObject({
    choices: z.array(memoryQuantity).min(1).default(['1G', '2G', '4G']).describe('Memory sizes a user may choose.'),
    default: memoryQuantity.optional().describe('Preselected memory; defaults to the first choice.'),
  }).prefault({}).describe('Memory limit (enforced where the executor can).'),
  images: z.strictObject({
    choices: z.array(z.string().min(1).max(500)).min(1).describe('Container images a user may choose.'),
    default: z.string().optional().describe('Preselected image; defaults to the first choice.'),
  }).optional().describe('Images, offered only where the executor honours images.'),
  command: z.array(z.string()).min(1).optional().describe('The notebook server command; default: the system `jupyter notebook` (`/usr/bin/python3 -m notebook`).'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Extra environment variables for servers of this profile.'),
  allowedGroups: z.array(z.string()).default([]).describe('Only members of these groups may use the profile; empty: everyone.'),
  startTimeout: z.number().int().min(1).optional().describe('Overrides hub.startTimeout for servers of this profile, seconds.'),
});

export const ExecutorSchema = z.strictObject({
  name: name.describe('Name profiles refer to.'),
  kind: z.enum(['local']).describe('Implementation: local (processes on this host).'),
  options: z.strictObject({
    sandbox: z.enum(['auto', 'bwrap', 'none']).default('auto').describe('Per-pod mount and PID namespaces with bubblewrap; auto uses it when installed.'),
    cgroups: z.enum(['auto', 'off']).default('auto').describe('Enforce cores and memory with cgroups when the machine allows.'),
  }).prefault({}),
});

export const OidcSchema = z.strictObject({
  issuer: z.url().describe('The issuer URL, e.g. https://iam.example.org/ (INDIGO-IAM, Keycloak realm, CILogon).'),
  clientId: z.string().min(1).describe('OAuth client id registered at the issuer.'),
  clientSecret: z.string().optional().describe('Client secret; prefer clientSecretFile or HIGHRATE_OIDC_CLIENT_SECRET.'),
  clientSecretFile: z.string().optional().describe('File holding the client secret.'),
  scopes: z.array(z.string()).default(['openid', 'profile', 'email']).describe('Scopes to request; IAM: add "wlcg.groups".'),
  usernameClaim: z.string().default('preferred_username').describe('Claim giving the username (normalised to lowercase).'),
  groupsClaim: z.string().default('groups').describe('Claim listing groups: IAM "wlcg.groups", Keycloak/others "groups".'),
  fetchUserinfo: z.boolean().default(true).describe('Also read claims from the userinfo endpoint (groups are merged from the verified ID token and userinfo).'),
});

export const AuthSchema = z.strictObject({
  kind: z.enum(['embedded', 'oidc']).default('embedded').describe('embedded: the built-in OpenID Provider with local accounts; oidc: an external issuer.'),
  oidc: OidcSchema.optional().describe('Required when kind is oidc.'),
  allowedGroups: z.array(z.string()).default([]).describe('Only members of these groups may log in; empty: anyone the issuer authenticates.'),
  adminGroups: z.array(z.string()).default([]).describe('Members of these groups are admins (checked at every login).'),
  adminUsers: z.array(z.string()).default(['admin']).describe('These users are admins.'),
  sessionMaxAge: seconds(14 * 24 * 3600, 'Lifetime of a login session, seconds.'),
});

export const CullerSchema = z.strictObject({
  idleTimeout: seconds(3600, 'Stop servers with no proxied traffic and no reported activity for this long, seconds; 0: never.'),
  maxAge: seconds(0, 'Stop servers running longer than this, seconds; 0: never.'),
  every: z.number().int().min(1).default(60).describe('How often the culler checks, seconds.'),
});

export const HubSchema = z.strictObject({
  ip: z.string().default('127.0.0.1').describe('Address the public proxy listens on.'),
  port: z.number().int().min(1).max(65535).default(8000).describe('Public port (the proxy); the route API listens on port + 1.'),
  hubPort: z.number().int().min(0).max(65535).default(8081).describe('Port of the hub process on 127.0.0.1 (0: any free port).'),
  publicUrl: z.url().optional().describe('URL users reach the platform at; default http://<ip>:<port>.'),
  db: z.string().optional().describe('Store URL: sqlite:///path (default <dataDir>/highrate.sqlite) or postgres://user@host/db.'),
  allowNamedServers: z.boolean().default(true).describe('Users may run named servers besides their default one.'),
  namedServerLimitPerUser: z.number().int().min(0).default(5).describe('Named servers per user; 0: no limit.'),
  startTimeout: seconds(120, 'A server not ready after this long fails to start, seconds.'),
  reconcileInterval: z.number().int().min(1).default(30).describe('How often servers and routes are reconciled with executors and the proxy, seconds.'),
  concurrentSpawnLimit: z.number().int().min(0).default(100).describe('Spawns in progress at once; more get 429. 0: no limit.'),
});

export const ConfigSchema = z.strictObject({
  hub: HubSchema.prefault({}),
  auth: AuthSchema.prefault({}),
  culler: CullerSchema.prefault({}),
  executors: z.array(ExecutorSchema).default([{ name: 'local', kind: 'local', options: { sandbox: 'auto', cgroups: 'auto' } }]).describe('Where workloads run.'),
  profiles: z.array(ProfileSchema).default([]).describe('What users can start; default: one profile running the system notebook server on the local executor.'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type Profile = z.infer<typeof ProfileSchema>;
export type ExecutorConfig = z.infer<typeof ExecutorSchema>;
