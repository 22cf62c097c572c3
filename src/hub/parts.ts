import type { Router } from '../http/router.js';
import type { RequestContext } from './request.js';

/**
 * A part the composition root plugs into the hub (today: Dask clusters). The hub owns this
 * interface and the part implements it, so no hub module imports a part: the hub routes
 * requests to it and asks it to reconcile, knowing nothing of what it serves.
 */
export interface HubPart {
  /** Adds its endpoints to the hub API (`/hub/api/...`); authenticated and rate-limited as every API call. */
  registerApi?(api: Router<RequestContext>): void;
  /** Path prefixes it answers itself outside the hub API (its own API's error format, its own pages). */
  readonly mounts?: readonly PartMount[];
  /** Brings its proxy routes and workloads in line with the store at once (`POST /hub/api/proxy`). */
  reconcile?(): Promise<void>;
}

export interface PartMount {
  /** `/services/x` serves `/services/x` and everything under `/services/x/`. */
  readonly prefix: string;
  handle(ctx: RequestContext): Promise<void>;
}

/** The mount of `parts` that serves `path`, if any. */
export function mountFor(parts: readonly HubPart[], path: string): PartMount | undefined {
  for (const part of parts) {
    for (const m of part.mounts ?? []) if (path === m.prefix || path.startsWith(m.prefix + '/')) return m;
  }
  return undefined;
}
