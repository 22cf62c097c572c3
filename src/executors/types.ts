/**
 * The executor contract. It *is* interLink's plugin API (create, status, logs, delete, ping), typed:
 * pods in, pod statuses out. Field names of the wire types follow interLink's Go structs exactly
 * (pkg/interlink/types.go) so `highrate plugin serve` can put any executor on the wire unchanged.
 *
 * State, before/during/after a create:
 * - before `create` resolves, `status` of that UID returns nothing for it;
 * - after `create`, `status` returns the pod with containers `waiting` (queued, pulling, init
 *   containers running) until a container runs, then `running`, then `terminated` with exit codes;
 * - after `delete`, `status` no longer returns the pod (or returns it terminated while it stops);
 * - an executor persists what it needs to find its pods again: a new process of the same executor
 *   with the same options sees the pods of the old one (the hub restarts; workloads keep running).
 */

// ---- Kubernetes core/v1 subset (camelCase JSON as the API server sends it) ----

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/** Kubernetes' security fields (core/v1); security.ts says what executors do with them. */
export interface SeccompProfile {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhostProfile?: string;
}

export interface CapabilitiesSpec {
  add?: string[];
  drop?: string[];
}

/** k8s PodSecurityContext (the subset that has a meaning off Kubernetes too). */
export interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  fsGroup?: number;
  supplementalGroups?: number[];
  seccompProfile?: SeccompProfile;
}

/** k8s SecurityContext of a container. */
export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: CapabilitiesSpec;
  readOnlyRootFilesystem?: boolean;
  seccompProfile?: SeccompProfile;
}

export interface ResourceRequirements {
  /** Quantities as Kubernetes writes them: cpu "1", "500m"; memory "4G", "512Mi", "1073741824". */
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  resources?: ResourceRequirements;
  ports?: { containerPort: number; name?: string; protocol?: string }[];
  /** Kubernetes' SecurityContext; see security.ts for what executors do with it. */
  securityContext?: SecurityContext;
}

export interface KeyToPath { key: string; path: string; mode?: number }

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  projected?: { sources: unknown[]; defaultMode?: number };
  hostPath?: { path: string; type?: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  /** Kubernetes' PodSecurityContext; see security.ts. */
  securityContext?: PodSecurityContext;
}

export interface Pod {
  apiVersion?: 'v1';
  kind?: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: { phase?: PodPhase; reason?: string; message?: string };
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ConfigMap {
  metadata: { name: string; namespace?: string; uid?: string };
  data?: Record<string, string>;
  /** base64 values */
  binaryData?: Record<string, string>;
}

export interface Secret {
  metadata: { name: string; namespace?: string; uid?: string };
  /** base64 values, as on the wire */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

export interface ContainerStateWaiting { reason?: string; message?: string }
export interface ContainerStateRunning { startedAt?: string }
export interface ContainerStateTerminated {
  exitCode: number;
  signal?: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** k8s V1ContainerStatus, the subset interLink plugins fill. */
export interface ContainerStatus {
  name: string;
  state: { waiting?: ContainerStateWaiting; running?: ContainerStateRunning; terminated?: ContainerStateTerminated };
  lastState?: ContainerStatus['state'];
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  started?: boolean;
}

// ---- interLink wire types (pkg/interlink/types.go), field names exactly as Go's JSON tags ----

/** interLink `PodCreateRequests`: what the virtual kubelet sends to the interLink API. */
export interface PodCreateRequests {
  pod: Pod;
  configmaps: ConfigMap[] | null;
  secrets: Secret[] | null;
  projectedvolumesmaps: ConfigMap[] | null;
  jobscriptURL?: string;
}

/** interLink `RetrievedContainer`. */
export interface RetrievedContainer {
  name: string;
  configMaps: ConfigMap[] | null;
  projectedvolumemaps: ConfigMap[] | null;
  secrets: Secret[] | null;
  emptyDirs: string[] | null;
}

/** interLink `RetrievedPodData`: what interLink ≥ 0.5 sends to a plugin's `/create` (one object). */
export interface RetrievedPodData {
  pod: Pod;
  container: RetrievedContainer[] | null;
  jobConfig?: unknown;
  jobScript?: string;
}

/** interLink `CreateStruct`: the plugin's answer to `/create`. */
export interface CreateStruct { PodUID: string; PodJID: string }

/** interLink `PodStatus`. */
export interface PodStatus {
  name: string;
  UID: string;
  namespace: string;
  JID: string;
  containers: ContainerStatus[];
  initContainers: ContainerStatus[];
}

/** interLink `ContainerLogOpts`. Tail and Bytes are mutually exclusive; so are SinceSeconds and SinceTime. */
export interface ContainerLogOpts {
  Tail?: number;
  Bytes?: number;
  Timestamps?: boolean;
  Follow?: boolean;
  Previous?: boolean;
  SinceSeconds?: number;
  /** RFC 3339; Go's zero time "0001-01-01T00:00:00Z" means unset. */
  SinceTime?: string;
}

/** interLink `LogStruct`: the body of `/getLogs`. */
export interface LogStruct {
  Namespace: string;
  PodUID: string;
  PodName: string;
  ContainerName: string;
  Opts: ContainerLogOpts;
}

/** interLink `PingResponse` (0.6.2): the plugin's answer to `GET /status` with `[]`. */
export interface PingResponse {
  status?: string;
  resources?: {
    cpu?: string;
    memory?: string;
    pods?: string;
    accelerators?: { resourceType: string; available: string }[];
  };
  taints?: { key: string; value?: string; effect: string }[];
}

// ---- The interface every executor implements ----

/** What an executor can honour; the hub shows only choices an executor honours. */
export interface ExecutorCapabilities {
  /** Runs images through a container runtime (apptainer, podman, Kubernetes); false: host processes. */
  images: boolean;
  /** Enforces cpu limits (cgroups, batch allocation). */
  cpuLimits: boolean;
  /** Enforces memory limits. */
  memoryLimits: boolean;
  /** Workloads listen somewhere the hub cannot predict and must call back with their address. */
  remoteAddress: boolean;
  /** Volumes appear at their mountPath (a mount namespace or a container runtime); false: host processes see them at the executor's paths. */
  mountPaths: boolean;
}

export interface Executor {
  /** The configured name (e.g. "local", "slurm-gpu"). */
  readonly name: string;
  /** The implementation: local, slurm, htcondor, kubernetes, interlink. */
  readonly kind: string;
  readonly capabilities: ExecutorCapabilities;

  /** Submits a pod; resolves when the backend accepted it (not when it runs). Idempotent per pod UID. */
  create(req: RetrievedPodData): Promise<CreateStruct>;
  /** Statuses of the given pods in one call (one batch query to the backend). Unknown pods are omitted. */
  status(pods: Pod[]): Promise<PodStatus[]>;
  /** A container's log as a byte stream; with `Follow` it ends when the container terminates. */
  logs(req: LogStruct, signal?: AbortSignal): Promise<AsyncIterable<Buffer>>;
  /** Stops and forgets a pod. Deleting an unknown pod is not an error. */
  delete(pod: Pod): Promise<void>;
  /** Health and capacity. Throws if the backend is unreachable. */
  ping(): Promise<PingResponse>;
  /** Releases timers and connections; running pods keep running. */
  close?(): Promise<void>;
}
