import { z } from 'zod';

/**
 * The configuration schema: one typed, validated, frozen tree. Every field has its default and
 * help text here; docs/config.md is generated from this file (`highrate config docs`). Unknown
 * keys are errors, so a typo never silently does nothing.
 */

const seconds = (def: number, help: string) => z.number().int().min(0).default(def).describe(help);
const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and "-", starting with a letter or digit');
const memoryQuantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(K|M|G|T|Ki|Mi|Gi|Ti)?$/, 'must be a memory size like "512M", "4G" or "2Gi"');

/**
 * What an administrator may loosen of the restricted securityContext the hub writes into every pod
 * (docs/security.md): explicit in the config, never silent. Executors refuse what they cannot run.
 */
export const SecurityRelaxSchema = z.strictObject({
  readOnlyRootFilesystem: z.boolean().optional().describe('false: the container may write its root file system (Kubernetes images that write outside their volumes; the local executor\'s root is the host\'s and stays read-only).'),
  allowPrivilegeEscalation: z.boolean().optional().describe('true: setuid programs in the image work (sudo in an image); executors that always set no_new_privs still do.'),
  seccompProfile: z.strictObject({
    type: z.enum(['RuntimeDefault', 'Unconfined']).describe('Unconfined: no seccomp filter (executors that filter every container refuse such pods).'),
  }).optional().describe('The seccomp profile.'),
  capabilities: z.strictObject({
    add: z.array(z.string().regex(/^[A-Z_]+$/, 'must be a capability name like NET_BIND_SERVICE')).optional().describe('Capabilities to add back after dropping ALL (executors refuse what their configuration does not allow).'),
  }).optional().describe('Linux capabilities.'),
}).describe('Loosens the securityContext of the pods (notebook: per profile; Dask: clusters.securityContext).');

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
  command: z.array(z.string()).min(1).optional().describe('The notebook server command; default: `jupyterhub-singleuser --ip={ip} --port={port}` (Debian\'s jupyterhub package, or the image\'s), or Debian\'s `jupyter notebook` where jupyterhub-singleuser is not installed. Placeholders: {ip} and {port} (where to listen: on batch executors filled on the node), {base_url}, {home}, {user}, {server}.'),
  auth: z.enum(['jupyterhub', 'token']).optional().describe('How servers of this profile authenticate users. jupyterhub: the server is JupyterHub-aware (jupyterhub-singleuser, or an image that runs it) and checks each request with the hub (OAuth for browsers); the proxy passes users\' credentials through. token: the server knows one token (JUPYTER_TOKEN), which the proxy sends in place of the user\'s credential after checking it. Unset: jupyterhub when the command (or the default command) runs jupyterhub-singleuser, else token. With token and no command, servers run Debian\'s plain `jupyter notebook`.'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Extra environment variables for servers of this profile.'),
  allowedGroups: z.array(z.string()).default([]).describe('Only members of these groups may use the profile; empty: everyone.'),
  startTimeout: z.number().int().min(1).optional().describe('Overrides hub.startTimeout for servers of this profile, seconds.'),
  startTimeoutIncludesQueue: z.boolean().optional().describe('Overrides hub.startTimeoutIncludesQueue for servers of this profile.'),
  securityContext: SecurityRelaxSchema.optional().describe('Loosens the restricted securityContext of this profile\'s servers (docs/security.md); unset: fully restricted.'),
});

/** A Slurm executor: each workload is one sbatch job running the pod supervisor (src/executors/slurm/). */
export const SlurmOptionsSchema = z.strictObject({
  partition: z.string().regex(/^[^\s]+$/).optional().describe('sbatch --partition; default: the cluster\'s default partition.'),
  account: z.string().regex(/^[^\s]+$/).optional().describe('sbatch --account.'),
  qos: z.string().regex(/^[^\s]+$/).optional().describe('sbatch --qos.'),
  timeLimit: z.string().regex(/^(\d+-)?\d+(:\d+){0,2}$/, 'must be a Slurm time: minutes, "H:MM:SS" or "D-HH:MM:SS"').optional().describe('sbatch --time for every job; default: the partition\'s limit.'),
  extraSbatchFlags: z.array(z.string().min(1).regex(/^[^\n\r]+$/)).default([]).describe('More sbatch flags, one `#SBATCH` line each, e.g. "--gres=gpu:1"; cpus and memory from the workload\'s limits come after them and win.'),
  containerRuntime: z.enum(['none', 'apptainer', 'singularity', 'podman']).default('none').describe('Runs each container\'s image with this runtime on the node; none: containers are host processes of the node (images not honoured).'),
  sandbox: z.enum(['auto', 'none', 'bwrap']).default('auto').describe('With containerRuntime none: bwrap runs each container in bubblewrap on the node (volumes at their mountPath, a read-only root, the seccomp filter; needs bwrap on the nodes); none: host processes (pods asking for readOnlyRootFilesystem or a seccomp profile, as the hub\'s do, are refused); auto: bwrap when /usr/bin/bwrap exists on the hub\'s machine, else none.'),
  runJobsAs: z.enum(['auto', 'user', 'executor']).default('auto').describe('Who each job runs as. user: the pod\'s user (sbatch --uid/--gid; needs highrate to run as root, an account Slurm knows for the uid, and a jobRoot users can reach), pods that cannot are refused; executor: highrate\'s own account (as root: root on the node, the sandbox switches each container to its user); auto: user for the pods that can, executor for the others (docs/slurm.md).'),
  pollInterval: z.number().min(0.2).max(600).default(2).describe('One squeue for all jobs at most this often, seconds; callers in between share its answer.'),
  commandTimeout: z.number().int().min(1).max(600).default(30).describe('A Slurm command not done after this long counts as a controller outage (last known states are kept), seconds.'),
  stateDir: z.string().regex(/^\//, 'must be an absolute path').optional().describe('Where job records live; default <data>/executors/<name>.'),
  jobRoot: z.string().regex(/^\/[A-Za-z0-9._/+-]+$/, 'must be an absolute path of letters, digits and . _ / + -').optional().describe('Where jobs run (job directories and output files); must exist on the nodes. Default <stateDir>/jobs, for one machine or a shared file system.'),
  jobFilesVisible: z.boolean().optional().describe('Whether the hub can read the job directories (shared file system); default: when jobRoot exists on the hub\'s machine. Without them exit codes come from Slurm and logs are empty.'),
});

/** An HTCondor executor: each workload is one job running the pod supervisor (src/executors/htcondor/). */
export const HtcondorOptionsSchema = z.strictObject({
  schedd: z.string().regex(/^[^\s]+$/).optional().describe('The schedd to submit to and query (`-name`); default: the local one.'),
  pool: z.string().regex(/^[^\s]+$/).optional().describe('The central manager (`-pool`); default: the configured one.'),
  universe: z.enum(['vanilla', 'container']).default('vanilla').describe('vanilla: the pod supervisor runs on the execute node; container: HTCondor\'s container universe with containerImage.'),
  containerImage: z.string().regex(/^[^\s]+$/).optional().describe('The image of the container universe (docker://…, a .sif path).'),
  containerRuntime: z.enum(['none', 'apptainer', 'singularity', 'podman']).default('none').describe('In the vanilla universe: runs each container\'s image with this runtime on the node; none: host processes.'),
  sandbox: z.enum(['auto', 'none', 'bwrap']).default('auto').describe('With containerRuntime none: bwrap runs each container in bubblewrap on the node (volumes at their mountPath, a read-only root, the seccomp filter; needs bwrap on the nodes); none: host processes (pods asking for readOnlyRootFilesystem or a seccomp profile are refused); auto: bwrap when /usr/bin/bwrap exists on the hub\'s machine, else none.'),
  runJobsAs: z.enum(['auto', 'user', 'executor']).default('auto').describe('Who each job runs as. user: the pod\'s user (+Owner; needs highrate to run as root, the schedd\'s QUEUE_SUPER_USER_MAY_IMPERSONATE to match the account, and the account\'s primary group as the pod\'s group), pods that cannot are refused; executor: highrate\'s own account; auto: user for the pods that can, executor for the others (docs/slurm.md).'),
  requestDisk: z.string().regex(/^[0-9]+[KMGT]?$/, 'must be like "2G" or a number of KiB').optional().describe('request_disk of every job.'),
  accountingGroup: z.string().regex(/^[^\s"\\]+$/).optional().describe('+AccountingGroup of every job.'),
  extraSubmitLines: z.array(z.string().min(1).regex(/^[^\n\r]+$/)).default([]).describe('More submit commands, e.g. "requirements = (OpSysAndVer == \\"AlmaLinux9\\")"; request_cpus/request_memory from the workload\'s limits come after them and win.'),
  pollInterval: z.number().min(0.2).max(600).default(2).describe('One condor_q for all jobs at most this often, seconds.'),
  commandTimeout: z.number().int().min(1).max(600).default(30).describe('An HTCondor command not done after this long counts as a schedd outage (last known states are kept), seconds.'),
  stateDir: z.string().regex(/^\//, 'must be an absolute path').optional().describe('Where job records and submit files live; default <data>/executors/<name>.'),
  jobRoot: z.string().regex(/^\/[A-Za-z0-9._/+-]+$/, 'must be an absolute path of letters, digits and . _ / + -').optional().describe('Where jobs run (job directories, output files, event logs); a file system shared with the execute nodes. Default <stateDir>/jobs.'),
  jobFilesVisible: z.boolean().optional().describe('Whether the hub can read the job directories; default: when jobRoot exists on the hub\'s machine.'),
});

/** A Kubernetes executor: workloads are pods in one namespace (src/executors/kubernetes/). */
export const KubernetesOptionsSchema = z.strictObject({
  namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label').default('default').describe('Namespace of the pods, their Secrets and ConfigMaps.'),
  kubeconfig: z.string().optional().describe('kubeconfig file; default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account.'),
  context: z.string().optional().describe('kubeconfig context; default: its current context.'),
  inCluster: z.boolean().default(false).describe('Use the pod\'s service account (the hub runs in the cluster) instead of a kubeconfig.'),
  defaultImage: z.string().min(1).optional().describe('Image for containers that name none (Kubernetes needs one), e.g. quay.io/jupyter/base-notebook.'),
  runAsNonRoot: z.boolean().default(true).describe('Pods refuse to run as root (securityContext.runAsNonRoot), whatever the pod asks.'),
  runAsUser: z.number().int().min(0).optional().describe('securityContext.runAsUser of pods that name none (the hub\'s pods carry their user\'s uid).'),
  runAsGroup: z.number().int().min(0).optional().describe('securityContext.runAsGroup of pods that name none.'),
  fsGroup: z.number().int().min(0).optional().describe('securityContext.fsGroup of pods that name none.'),
  serviceAccountName: z.string().optional().describe('Service account of the pods (its token is not mounted).'),
  imagePullSecrets: z.array(z.string().min(1)).default([]).describe('Names of Secrets for pulling images.'),
  nodeSelector: z.record(z.string(), z.string()).default({}).describe('nodeSelector of every pod.'),
  hostPath: z.enum(['refuse', 'emptyDir', 'allow']).default('refuse').describe('hostPath volumes of workloads (notebook pods mount the user\'s home as one): refuse them, replace them with an emptyDir (not persistent), or allow them (nodes you trust users with).'),
  pollInterval: z.number().min(0.2).max(600).default(2).describe('One pod list for all workloads at most this often, seconds.'),
  requestTimeout: z.number().min(1).max(600).default(30).describe('Deadline of every Kubernetes API call, seconds (a followed log: until it starts); past it the call fails with 504 EXECUTOR_TIMEOUT instead of hanging.'),
});

/** An interlink executor: a client of an interLink API, or straight of an interLink plugin (src/executors/interlink/). */
export const InterlinkOptionsSchema = z.strictObject({
  url: z.string().regex(/^(https?:\/\/[^\s]+|unix:\/\/\/[^\s]+)$/, 'must be http://HOST:PORT, https://HOST:PORT or unix:///PATH').describe('Where interLink (or the plugin) listens.'),
  target: z.enum(['api', 'plugin']).default('api').describe('api: talk to interLink\'s API as the virtual kubelet does; plugin: talk to a plugin as interLink does.'),
  tokenFile: z.string().optional().describe('File with the bearer token, read on every call (a refresher may rewrite it), sent as "Authorization: Bearer <contents>".'),
  tls: z.strictObject({
    caFile: z.string().optional().describe('CA certificate (PEM) to trust.'),
    certFile: z.string().optional().describe('Client certificate (PEM), for mTLS.'),
    keyFile: z.string().optional().describe('Client key (PEM), for mTLS.'),
  }).optional().describe('TLS for https:// URLs.'),
  timeout: z.number().int().min(1).max(3600).default(120).describe('A call without an answer after this long fails, seconds (the virtual kubelet waits 120).'),
  capabilities: z.strictObject({
    images: z.boolean().default(true).describe('The far end runs images.'),
    cpuLimits: z.boolean().default(true).describe('The far end enforces cpu limits.'),
    memoryLimits: z.boolean().default(true).describe('The far end enforces memory limits.'),
  }).prefault({}).describe('What the far end honours (it cannot be asked).'),
});

/** `highrate plugin serve`: bearer tokens required when `auth` is set (what oauth2-proxy does in front of interLink). */
export const PluginSchema = z.strictObject({
  auth: z.strictObject({
    issuer: z.url().describe('Token issuer (iss); its discovery document names the key set.'),
    audience: z.array(z.string().min(1)).min(1).describe('Accepted token audiences (interLink deployments: "interlink" or "users").'),
    groupsClaim: z.string().default('groups').describe('Claim listing the token\'s groups (IAM: "wlcg.groups").'),
    allowedGroups: z.array(z.string()).default([]).describe('Only tokens with one of these groups; empty: any valid token.'),
    jwksUri: z.url().optional().describe('The issuer\'s key set, instead of discovering it.'),
  }).optional().describe('Bearer JWT authentication of plugin requests.'),
});

export const ExecutorSchema = z.strictObject({
  name: name.describe('Name profiles refer to.'),
  kind: z.enum(['local', 'slurm', 'htcondor', 'kubernetes', 'interlink']).describe('Implementation: local (processes on this host), slurm (one batch job per workload; options under `slurm`), htcondor (one HTCondor job per workload; `htcondor`), kubernetes (pods in a namespace; `kubernetes`), interlink (a remote site through interLink; `interlink`).'),
  options: z.strictObject({
    sandbox: z.enum(['auto', 'bwrap', 'none']).default('auto').describe('Per-pod mount and PID namespaces with bubblewrap; auto uses it when installed.'),
    cgroups: z.enum(['auto', 'off']).default('auto').describe('Enforce cores and memory with cgroups when the machine allows.'),
    pidsLimit: z.number().int().min(0).default(4096).describe('Processes and threads a pod may have at once (pids cgroup), so a fork bomb stays in its pod; 0: no limit.'),
  }).prefault({}).describe('Options of a `kind: local` executor.'),
  slurm: SlurmOptionsSchema.optional().describe('Options of a `kind: slurm` executor.'),
  htcondor: HtcondorOptionsSchema.optional().describe('Options of a `kind: htcondor` executor.'),
  kubernetes: KubernetesOptionsSchema.optional().describe('Options of a `kind: kubernetes` executor.'),
  interlink: InterlinkOptionsSchema.optional().describe('Options of a `kind: interlink` executor (url is required).'),
});

/**
 * API access with the issuer's own JWT access tokens (INDIGO-IAM issues JWTs): a bearer token is
 * verified against the issuer's JWKS (signature, iss, exp, and aud against `audiences`), its
 * groups claim must pass `auth.allowedGroups`, and it acts as the user it names.
 */
export const AccessTokensSchema = z.strictObject({
  audiences: z.array(z.string().min(1)).default([]).describe('Accepted `aud` values of JWT access tokens; empty: such tokens are not accepted.'),
  scopes: z.array(z.string()).default([]).describe("highrate scopes a JWT access token is limited to; empty: all of its owner's permissions."),
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
  accessTokens: AccessTokensSchema.prefault({}).describe("The issuer's JWT access tokens as API credentials."),
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

/** Token buckets on the hub API (src/hub/api/rate-limit.ts); rates are requests per second, bursts the bucket size. */
export const ApiRateLimitSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Whether the hub API is rate limited at all.'),
  userRate: z.number().positive().default(50).describe('Sustained requests per second of one user or service (all its tokens and sessions together).'),
  userBurst: z.number().int().min(1).default(100).describe('Requests one user or service may make at once before userRate applies.'),
  ipRate: z.number().positive().default(20).describe('Sustained requests per second from one client address (X-Forwarded-For\'s last entry) without a valid credential; loopback and the OAuth code exchange count only globally.'),
  ipBurst: z.number().int().min(1).default(100).describe('Burst of one client address without a valid credential.'),
  globalRate: z.number().positive().default(2000).describe('Sustained requests per second of everyone not exempt, together (a ceiling near what one hub serves; the per-user limits are what protects from one client).'),
  globalBurst: z.number().int().min(1).default(4000).describe('Burst of everyone not exempt, together.'),
  exempt: z.array(z.enum(['admins', 'services'])).default(['admins', 'services']).describe('Callers no limit applies to: admins (operators\' scripts, bulk user management) and services (the idle culler, monitoring), both configured by the operator. The proxy\'s own edge checks (`POST /hub/api/proxy/authorize` with the proxy\'s token) are always exempt.'),
  maxBuckets: z.number().int().min(100).default(10000).describe('Per-user and per-address buckets kept in memory; past it the least recently used is dropped (idle ones are dropped as soon as they are full again).'),
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
  startTimeoutIncludesQueue: z.boolean().default(false).describe('Whether time spent queued in a batch system counts against startTimeout; default: the clock starts when the job runs.'),
  reconcileInterval: z.number().int().min(1).default(30).describe('How often servers and routes are reconciled with executors and the proxy, seconds.'),
  concurrentSpawnLimit: z.number().int().min(0).default(100).describe('Starts in progress at once (JupyterHub\'s concurrent_spawn_limit); more get 429 SPAWN_LIMIT with Retry-After and a place in a first-come queue (`position` in the body, shown by the portal). 0: no limit.'),
  activeServerLimit: z.number().int().min(0).default(0).describe('Servers not fully stopped (starting, running or stopping) at once, all users together (JupyterHub\'s active_server_limit); more starts get 429 ACTIVE_SERVER_LIMIT. 0: no limit.'),
  spawnRetryAfterMin: seconds(5, 'Shortest Retry-After of a start refused by concurrentSpawnLimit, seconds; the hub suggests more the further back in the queue (JupyterHub\'s spawn_throttle_retry_range is 30-60 without a queue).'),
  spawnRetryAfterMax: seconds(60, 'Longest Retry-After of a refused start (spawn or active-server limit), seconds.'),
  apiRateLimit: ApiRateLimitSchema.prefault({}).describe('Request rate limits on the hub API (`/hub/api/`): token buckets per user or service, per client address for requests without a valid credential, and one for all; past one, 429 RATE_LIMITED with Retry-After.'),
});

const quotaCount = (help: string) => z.number().int().min(0).optional().describe(help);

/** Limits for one user; unset fields do not limit. Group entries apply to each member, not to the group as a whole. */
export const QuotaSchema = z.strictObject({
  maxServers: quotaCount('Servers running or starting at once.'),
  maxClusters: quotaCount('Dask clusters at once.'),
  maxCores: z.number().min(0).optional().describe('Cores across all servers and clusters.'),
  maxMemory: memoryQuantity.optional().describe('Memory across all servers and clusters, e.g. "64G".'),
  profiles: z.array(name).optional().describe('Profiles that may be started; unset: all.'),
  executors: z.array(name).optional().describe('Executors that may run workloads; unset: all.'),
});

export const GroupTotalSchema = z.strictObject({
  maxServers: quotaCount('Servers all members run at once, together.'),
  maxClusters: quotaCount('Dask clusters of all members at once, together.'),
  maxCores: z.number().min(0).optional().describe('Cores across all members\' servers and clusters.'),
  maxMemory: memoryQuantity.optional().describe('Memory across all members\' servers and clusters, e.g. "1T".'),
});

export const QuotasSchema = z.strictObject({
  default: QuotaSchema.optional().describe('Limits for everyone without a user or group entry for a field.'),
  groupTotals: z.record(z.string().min(1), GroupTotalSchema).default({}).describe('Limits on what all members of a group use together (each member\'s own limits apply as well); a member\'s use counts in every group they are in.'),
  groups: z.record(z.string().min(1), QuotaSchema).default({}).describe('Limits for members of a group; a member of several gets the most generous value of each field.'),
  users: z.record(z.string().min(1), QuotaSchema).default({}).describe('Limits for one user; each field set here wins over group and default.'),
});

export const RoleSchema = z.strictObject({
  name: z.string().regex(/^[a-z](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, 'must be lowercase letters, digits, ".", "_" and "-", starting with a letter').describe('Role name.'),
  description: z.string().max(1000).default('').describe('What the role is for.'),
  scopes: z.array(z.string()).optional().describe('Scopes the role grants (JupyterHub grammar, filters allowed); leave out to only assign a built-in role.'),
  users: z.array(z.string()).default([]).describe('Users holding the role.'),
  groups: z.array(z.string()).default([]).describe('Groups whose members hold the role.'),
  services: z.array(z.string()).default([]).describe('Services holding the role.'),
});

export const ServiceSchema = z.strictObject({
  name: z.string().regex(/^[a-z](?:[a-z0-9._-]{0,62}[a-z0-9])?$/, 'must be lowercase letters, digits, ".", "_" and "-", starting with a letter').describe('Service name.'),
  description: z.string().max(1000).default('').describe('What the service does.'),
  roles: z.array(z.string()).default([]).describe('Roles the service holds; its tokens never exceed them.'),
  url: z.string().url().regex(/^https?:\/\//, 'must be an http or https URL').optional().describe('Where the service listens: the proxy routes /services/<name>/ there (no edge check: the service authenticates users itself, e.g. with JupyterHub\'s HubOAuth).'),
  oauthRedirectUri: z.string().regex(/^(\/|https?:\/\/)/, 'must be a path or an http(s) URL').optional().describe('Makes the service an OAuth client of the hub (client id service-<name>, its secret any of its tokens), returning here; default with url: /services/<name>/oauth_callback.'),
  oauthClientAllowedScopes: z.array(z.string()).default([]).describe('Scopes the service\'s OAuth tokens may hold besides access:services!service=<name> and the identify scopes (each only if the user holds it).'),
});

export const AuditSchema = z.strictObject({
  retentionDays: z.number().int().min(1).default(180).describe('Audit entries older than this are deleted, days.'),
  deniedPerMinute: z.number().int().min(1).default(60).describe('Denied requests recorded per actor per minute; the rest are counted in one summary entry.'),
});

/** Dask clusters as a service (the dask-gateway API); per-user cluster, core and memory limits are in `quotas`. */
export const ClustersSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Offer Dask clusters: the dask-gateway API at /services/dask-gateway/, the Dask TLS port and the Clusters page.'),
  daskPort: z.number().int().min(0).max(65535).default(8786).describe('TLS port that routes Dask connections to schedulers by SNI (`daskgateway-<cluster>`) without terminating TLS; served by the proxy process, so connections outlive hub restarts; 0: any free port.'),
  daskIp: z.string().optional().describe('Address the Dask port listens on; default hub.ip.'),
  proxyAddress: z.string().regex(/^[^\s/]+:[0-9]{1,5}$/, 'must be host:port').optional().describe('host:port where clients and workers on other executors reach the Dask port; default the public URL\'s host and the Dask port.'),
  schedulerExecutor: name.default('local').describe('Executor that runs schedulers; it must run pods on this host (kind local).'),
  python: z.string().min(1).default('/usr/bin/python3').describe('Python with `distributed` on the executors\' hosts: pods run `<python> -m distributed.cli.dask_scheduler` and `dask_worker`.'),
  scheduler: z.strictObject({
    cores: z.number().positive().max(1024).default(1).describe('Cores of each scheduler.'),
    memory: memoryQuantity.default('2G').describe('Memory of each scheduler.'),
  }).prefault({}).describe('Resources of each scheduler (counted in quotas).'),
  options: z.strictObject({
    workerCores: z.strictObject({
      min: z.number().int().min(1).default(1).describe('Fewest cores per worker a user may ask for.'),
      max: z.number().int().min(1).max(1024).default(4).describe('Most cores per worker a user may ask for.'),
      default: z.number().int().min(1).default(1).describe('Cores per worker when the user asks for none.'),
    }).prefault({}).describe('Cores (and threads) per worker: the `worker_cores` option.'),
    workerMemory: z.strictObject({
      choices: z.array(memoryQuantity).min(1).default(['1G', '2G', '4G']).describe('Memory sizes per worker a user may choose.'),
      default: memoryQuantity.optional().describe('Preselected memory; defaults to the first choice.'),
    }).prefault({}).describe('Memory per worker: the `worker_memory` option.'),
    images: z.strictObject({
      choices: z.array(z.string().min(1).max(500)).min(1).describe('Images a user may choose for workers.'),
      default: z.string().optional().describe('Preselected image; defaults to the first choice.'),
    }).optional().describe('Worker images: the `image` option (honoured where the worker executor runs images).'),
    workerExecutors: z.array(name).default([]).describe('Executors a user may put workers on (the `worker_executor` option), first is the default; empty: the scheduler executor only.'),
    maxWorkers: z.strictObject({
      default: z.number().int().min(0).default(10).describe('Most workers of a cluster when the user asks for no limit.'),
      max: z.number().int().min(0).default(50).describe('Highest `max_workers` a user may ask for.'),
    }).prefault({}).describe('Workers per cluster: the `max_workers` option; scale and adapt are clamped to it, as dask-gateway\'s cluster_max_workers.'),
  }).prefault({}).describe('What users choose when they create a cluster (dask-gateway cluster options).'),
  idleTimeout: seconds(1800, 'Stop a cluster that ran no task for this long, seconds; 0: never.'),
  maxLifetime: seconds(24 * 3600, 'Stop a cluster this long after it was created, seconds; 0: never.'),
  startTimeout: z.number().int().min(1).default(60).describe('A scheduler not answering after this long fails the cluster, seconds.'),
  workerStartTimeout: z.number().int().min(1).default(60).describe('A worker not connected to its scheduler after this long counts as a failed start and is replaced, seconds.'),
  workerStartFailureLimit: z.number().int().min(1).default(3).describe('This many worker start failures in a row fail the cluster, with the last reason.'),
  adaptive: z.strictObject({
    period: z.number().min(0.2).max(60).default(3).describe('How often adaptive clusters read the scheduler\'s desired worker count, seconds.'),
    scaleDownWindow: z.number().int().min(1).max(100).default(3).describe('Scale down only to the largest of this many last targets (hysteresis; up is immediate).'),
  }).prefault({}).describe('Adaptive scaling.'),
  workerProfiling: z.boolean().default(false).describe('Run Dask\'s statistical profiler in workers (it samples every worker thread every 10 ms, for the Profile page of Dask\'s own dashboard; off, compute-bound work runs about 5% faster).'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Extra environment variables for schedulers and workers (e.g. DASK_ configuration); they win over highrate\'s own.'),
  securityContext: SecurityRelaxSchema.optional().describe('Loosens the restricted securityContext of schedulers and workers (docs/security.md); unset: fully restricted.'),
});

/** Rucio: the Data page, `/hub/api/data/` and `highrate data` (docs/data.md). */
export const RucioSchema = z.strictObject({
  url: z.string().url().describe('The Rucio server, e.g. https://rucio.example.org'),
  authUrl: z.string().url().optional().describe('Rucio\'s auth server when it is a separate host (its `auth_host`); default: url.'),
  vo: z.string().regex(/^[a-z0-9]{1,3}$/).default('def').describe('Rucio\'s VO (`X-Rucio-VO`) on multi-VO servers.'),
  facilityRse: z.string().min(1).describe('The RSE of this facility: "make available here" adds a rule to it.'),
  site: z.string().optional().describe('The facility\'s site name (`client_location.site`): replicas on RSEs of this site are listed first.'),
  auth: z.enum(['userpass', 'x509', 'oidc']).default('userpass').describe('How the hub authenticates to Rucio. userpass and x509: one identity of the hub, which Rucio associates with each user\'s account; the hub logs in per account (`X-Rucio-Account`), so every call carries the user\'s own permissions and quota. oidc: a JWT per user read from tokenFile.'),
  username: z.string().optional().describe('auth userpass: the identity\'s username.'),
  passwordFile: z.string().optional().describe('auth userpass: file holding the password (first line).'),
  certFile: z.string().optional().describe('auth x509: PEM client certificate.'),
  keyFile: z.string().optional().describe('auth x509: PEM private key.'),
  tokenFile: z.string().optional().describe('auth oidc: file holding the JWT (audience rucio), `{user}` replaced by the platform user, e.g. /var/lib/highrate/tokens/{user}.jwt.'),
  caFile: z.string().optional().describe('PEM CA bundle for a Rucio server whose certificate the system does not trust.'),
  accounts: z.record(z.string(), z.string().regex(/^[a-z0-9_-]{1,25}$/)).default({}).describe('Platform user → Rucio account; users not listed use their own name.'),
  ruleLifetime: seconds(7 * 86400, 'Lifetime of the rules "make available here" adds, seconds (0: none).'),
  schemes: z.array(z.string().regex(/^[a-z0-9]+$/)).min(1).default(['root', 'https', 'davs']).describe('Protocols of the replica URLs shown and handed to notebooks, in order of preference.'),
  timeout: seconds(30, 'How long a Rucio call may take, seconds.'),
}).superRefine((r, ctx) => {
  const need = { userpass: ['username', 'passwordFile'], x509: ['certFile', 'keyFile'], oidc: ['tokenFile'] }[r.auth] as Array<keyof typeof r>;
  for (const k of need) if (!r[k]) ctx.addIssue({ code: 'custom', path: [k], message: `auth ${r.auth} needs ${String(k)}` });
});

export const DataSchema = z.strictObject({
  rucio: RucioSchema.optional().describe('The Rucio server; unset: no Rucio (the data API answers 404).'),
});

/** Who the pods run as: each platform user is a Unix user of their own (docs/security.md). */
export const PodsSchema = z.strictObject({
  identity: z.enum(['auto', 'range', 'accounts', 'hub']).default('auto').describe('range: each user gets a uid of uidRange, recorded and never reused; accounts: the host\'s account of the same name (getent passwd: /etc/passwd, LDAP, SSSD), for facilities whose users have accounts; hub: every pod runs as the hub\'s own user (a single-user machine: users are NOT isolated from each other); auto: range when highrate runs as root, else hub.'),
  uidRange: z.strictObject({
    min: z.number().int().min(1000).max(4294967294).default(200000).describe('Lowest uid handed out.'),
    max: z.number().int().min(1000).max(4294967294).default(299999).describe('Highest uid handed out.'),
  }).prefault({}).describe('uids (and equal gids) for identity range; ids the host already uses (passwd, group, subuid) are skipped.'),
  minAccountUid: z.number().int().min(1).default(1000).describe('With identity accounts: accounts below this uid (system accounts, root) are refused.'),
}).refine((p) => p.uidRange.min <= p.uidRange.max, { message: 'uidRange.min must not exceed uidRange.max', path: ['uidRange'] });

const storagePath = z.string().min(1).regex(/^(\/[A-Za-z0-9._{}-]+)*\/?$/, 'must be an absolute path of letters, digits and . _ - (and {user}), without ".."').refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

/** URL schemes of storage elements the hub can probe (root:// with XRootD's client, the others over HTTP). */
export const STORAGE_ELEMENT_SCHEMES = ['root:', 'roots:', 'https:', 'davs:'] as const;

/** A storage element the hub watches for the Resources page (docs/storage.md, "Other storage elements"). */
export const StorageElementSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits and _ . - (at most 63)').refine((n) => n !== 'embedded', '"embedded" is the hub\'s own storage element').describe('Name shown on the Resources page.'),
  url: z.string().refine((u) => {
    try {
      const p = new URL(u);
      return (STORAGE_ELEMENT_SCHEMES as readonly string[]).includes(p.protocol) && p.hostname !== '' && !p.username && !p.password && !p.search && !p.hash;
    } catch {
      return false;
    }
  }, 'must be root://host[:port][/path], roots://, https:// or davs://host[:port][/path], without user, password, query or fragment (never put a token in a URL)').describe('The element: root://host:port/path (probed with xrdfs query config version), https:// or davs://host:port/path (probed with PROPFIND depth 0). Default ports: 1094 for root, 443 for https and davs.'),
  kind: z.enum(['xrootd', 'dcache', 'eos', 'xcache', 'webdav']).optional().describe('What software it is (informational, shown on the Resources page).'),
  caFile: z.string().regex(/^\//, 'must be an absolute path').optional().describe('PEM file of the CA(s) its TLS certificate is checked against; default: /etc/grid-security/certificates when present, else the system CAs.'),
  checkPath: storagePath.optional().describe('For https/davs: the path the probe asks for (default: the URL\'s path). Any HTTP answer, 401 and 403 included, counts as reachable.'),
});

/** Storage: WLCG tokens for users and pods, and the embedded XRootD storage element (docs/storage.md). */
export const StorageSchema = z.strictObject({
  embedded: z.boolean().optional().describe('Run an XRootD storage element over storage.root with `highrate up` (root:// and https:// on storage.port, WLCG token authorisation). Default: true when /usr/bin/xrootd is installed, else false.'),
  port: z.number().int().min(1).max(65535).default(1094).describe('Port of the embedded XRootD (root:// and https:// on the same port).'),
  host: z.string().regex(/^[A-Za-z0-9.-]+$/).optional().describe('Host name in the embedded storage\'s URLs and TLS certificate; default: the host of hub.publicUrl, else 127.0.0.1.'),
  root: z.string().regex(/^\//, 'must be an absolute path').optional().describe('Directory the embedded XRootD serves; default <data>/storage.'),
  audience: z.string().min(1).default('https://wlcg.cern.ch/jwt/v1/any').describe('The `aud` of issued storage tokens (WLCG profile; "https://wlcg.cern.ch/jwt/v1/any" is accepted by every WLCG storage element).'),
  acceptAudiences: z.array(z.string().min(1)).default([]).describe('More audiences the embedded XRootD accepts, besides its own URL (https://<host>:<port>) and the WLCG "any" audience.'),
  tokenLifetime: z.number().int().min(2).max(6 * 3600).default(1200).describe('Lifetime of storage tokens, seconds (WLCG profile: short-lived access tokens).'),
  refreshAt: z.number().gt(0).lt(1).default(0.5).describe('Token files in pods are rewritten once this fraction of their token\'s lifetime has passed.'),
  publicPath: storagePath.default('/public').describe('Every user\'s tokens may read under this path.'),
  userPath: storagePath.default('/user/{user}').describe('Each user\'s tokens may read, create and modify under this path ({user}: the username).'),
  tokenSource: z.enum(['hub', 'oidc']).default('hub').describe('Who issues storage tokens. hub: the hub signs them with the embedded IdP\'s key (storage elements trust that key; the embedded XRootD does). oidc: the external issuer of auth.oidc (INDIGO-IAM) issues them, for sites whose storage trusts the IAM: at each login the hub gets a refresh token with the storage scopes (see oidcExchange), kept sealed in the store, and refreshes storage tokens from it asking for the scopes of this policy and storage.audience (the IAM\'s scope policies have the last word; its token lifetime applies, not tokenLifetime). The embedded XRootD then trusts the issuer\'s keys. Needs auth.kind oidc.'),
  oidcExchange: z.boolean().default(true).describe('With tokenSource oidc: at login, exchange the user\'s access token for a refresh token (RFC 8693 token exchange with offline_access; enable the token-exchange grant for the hub\'s client at the IAM). false: keep the login\'s own refresh token instead (add offline_access to auth.oidc.scopes).'),
  groups: z.record(z.string().min(1), z.strictObject({
    read: z.array(storagePath).default([]).describe('Paths members may read.'),
    write: z.array(storagePath).default([]).describe('Paths members may read, create and modify.'),
  })).default({}).describe('Extra paths per group (group name → paths; {user} allowed).'),
  elements: z.array(StorageElementSchema).default([]).refine((els) => new Set(els.map((e) => e.name)).size === els.length, 'element names must be unique').describe('Other storage elements (by URL) whose health the hub probes and the Resources page shows, beside the embedded one.'),
  probeInterval: z.number().int().min(5).max(3600).default(60).describe('Seconds between health probes of storage elements (the Resources page can also ask for one now).'),
  probeTimeout: z.number().int().min(1).max(60).default(5).describe('A storage element that has not answered a probe within this many seconds is unreachable (the probe is killed).'),
  probeSlowMs: z.number().int().min(1).default(2000).describe('A storage element answering a probe slower than this many milliseconds is degraded.'),
});

/**
 * Deadlines the hub gives the proxy it starts (issue 14: every hop has one). The proxy run alone
 * (`highrate proxy`, configurable-http-proxy's flags) has none of them unless given, as CHP.
 */
export const ProxySchema = z.strictObject({
  targetTimeout: seconds(60, 'A target (the hub, a server, a dashboard) that sends no response head within this long of a request gets the client a 504 PROXY_TARGET_TIMEOUT, and its connection is dropped, seconds; 0: never. Only the wait for the head is timed: streamed bodies (event streams, downloads) and WebSockets may last. 60 s as nginx\'s proxy_read_timeout, which Jupyter servers commonly run behind; the hub\'s own slowest answer (a start) comes within 10 s. Raise it for servers with slower requests (e.g. nbconvert to PDF of a large notebook).'),
  connectTimeout: seconds(10, 'Give up connecting to a target after this long (503), seconds; 0: the system\'s own (about 2 minutes).'),
  wsPingInterval: seconds(30, 'WebSocket keep-alive, seconds: a peer (browser or server) silent for half of this is pinged; one silent for all of it is gone, and the proxy closes the other side (close 1001). Also keeps NAT and load-balancer idle timers from cutting quiet kernels. 0: off.'),
});

export const ConfigSchema = z.strictObject({
  hub: HubSchema.prefault({}),
  proxy: ProxySchema.prefault({}).describe('Deadlines of the proxy the hub starts (towards the hub, servers and dashboards) and WebSocket keep-alive.'),
  auth: AuthSchema.prefault({}),
  culler: CullerSchema.prefault({}),
  executors: z.array(ExecutorSchema).default([{ name: 'local', kind: 'local', options: { sandbox: 'auto', cgroups: 'auto', pidsLimit: 4096 } }]).describe('Where workloads run.'),
  profiles: z.array(ProfileSchema).default([]).describe('What users can start; default: one profile running the system notebook server on the local executor.'),
  roles: z.array(RoleSchema).default([]).describe('Roles (named lists of scopes) and who holds them; built in: admin, user, idle-culler.'),
  services: z.array(ServiceSchema).default([]).describe('API clients that are not users (an idle culler, monitoring); tokens are issued at /hub/api/services/<name>/tokens.'),
  quotas: QuotasSchema.prefault({}).describe('Per-user limits, checked at every start and scale.'),
  audit: AuditSchema.prefault({}).describe('The audit log.'),
  clusters: ClustersSchema.prefault({}).describe('Dask clusters as a service (dask-gateway API, SNI port, adaptive scaling).'),
  pods: PodsSchema.prefault({}).describe('Who pods run as (Unix identities of platform users).'),
  plugin: PluginSchema.prefault({}).describe('`highrate plugin serve` (an executor as an interLink plugin).'),
  data: DataSchema.prefault({}).describe('Data management: Rucio.'),
  storage: StorageSchema.prefault({}).describe('WLCG storage tokens and the embedded XRootD storage element.'),
});

export type Config = z.infer<typeof ConfigSchema>;
export type StorageElementConfig = z.infer<typeof StorageElementSchema>;
export type Profile = z.infer<typeof ProfileSchema>;
export type ExecutorConfig = z.infer<typeof ExecutorSchema>;
export type QuotaConfig = z.infer<typeof QuotaSchema>;
export type GroupTotalConfig = z.infer<typeof GroupTotalSchema>;
export type RoleConfig = z.infer<typeof RoleSchema>;
export type ServiceConfig = z.infer<typeof ServiceSchema>;
export type ClustersConfig = z.infer<typeof ClustersSchema>;
export type PodsConfig = z.infer<typeof PodsSchema>;
export type SecurityRelax = z.infer<typeof SecurityRelaxSchema>;
export type RucioConfig = z.infer<typeof RucioSchema>;
export type StorageConfig = z.infer<typeof StorageSchema>;
