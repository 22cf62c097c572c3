import type { Config } from '../config/schema.js';
import type { Executor } from '../executors/types.js';
import type { Store } from '../store/types.js';
import type { ProxyClient } from '../proxy/index.js';
import type { ServerManager } from './servers/manager.js';
import type { HubPart } from './parts.js';
import type { LoginFlow } from './login.js';
import type { Rbac } from '../auth/index.js';
import type { QuotaService } from './quota/index.js';
import type { AuditLog } from './audit/index.js';

/** Everything a request handler may use; built once by the composition root (src/platform/start.ts). */
export interface Hub {
  readonly config: Config;
  readonly store: Store;
  readonly executors: ReadonlyMap<string, Executor>;
  readonly proxy: ProxyClient;
  readonly servers: ServerManager;
  /** The parts plugged into the hub (Dask clusters): their API routes, mounts and reconcile. */
  readonly parts: readonly HubPart[];
  /** WLCG storage tokens (`issue(user, groups)`) and the embedded XRootD's endpoints (src/storage). */
  readonly storage?: import('../storage/index.js').StorageService;
  readonly login: LoginFlow;
  /** Roles, services and external access tokens: what a credential may do. */
  readonly rbac: Rbac;
  /** Per-user limits, checked at every start and scale; other parts register their usage here. */
  readonly quota: QuotaService;
  /** The audit log (store + structured log lines). */
  readonly audit: AuditLog;
  /** JupyterHub's Prometheus metrics (`/hub/metrics`); absent in hubs built without them (tests). */
  readonly metrics?: import('./metrics.js').HubMetrics;
  /** Where users reach the platform, without a trailing slash, e.g. http://127.0.0.1:8000 */
  readonly publicUrl: string;
  /** Where the proxy reaches the hub. */
  readonly hubUrl: string;
  /** The token the proxy presents to the hub's authorize endpoint (and the hub to the proxy's API). */
  readonly proxyToken: string;
  /** Directory of the built portal (index.html and assets). */
  readonly uiDir: string;
  readonly dataDir: string;
  readonly version: string;
  /** The proxy's route API, e.g. http://127.0.0.1:8001 (`PATCH /hub/api/proxy` compares against it). */
  readonly proxyApiUrl?: string;
  /**
   * Shuts the hub down after `POST /hub/api/shutdown` has been answered: with `servers`, every
   * server is stopped first; with `proxy`, the proxy too. Absent: the API answers 501.
   */
  readonly shutdown?: (opts: { proxy: boolean; servers: boolean }) => void;
  /** Handles requests under the embedded IdP's path, when the embedded IdP runs. */
  readonly idpHandler?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
}
