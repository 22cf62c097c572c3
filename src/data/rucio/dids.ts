import type { RucioCaller } from './client.js';
import type { Did, DidChild, DidFile, DidParent, DidSearchResult } from './types.js';

/** A DID's path segment: scope and name each percent-encoded (a `/` in a name becomes %2F), as the Python client's quote_plus. */
export function didPath(scope: string, name: string): string {
  return `${encodeURIComponent(scope)}/${encodeURIComponent(name)}`;
}

/**
 * Renders search filters as a Python literal: the server reads `filters` with `ast.literal_eval`
 * (`v1/dids.py` Search.get), so JSON's `true`/`false`/`null` would not parse.
 */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pythonLiteral(k)}: ${pythonLiteral(v)}`).join(', ')}}`;
}

export type SearchType = 'all' | 'collection' | 'dataset' | 'container' | 'file';

/** The DID endpoints (`/dids/...`). */
export class Dids {
  constructor(private readonly rucio: RucioCaller) {}

  /**
   * `GET /dids/{scope}/dids/search`: DIDs of one scope whose name matches `name` (`*` wildcards;
   * a wildcard in the scope is not allowed by Rucio). With `long`, each line has type and size.
   */
  async *search(scope: string, opts: { name?: string; type?: SearchType; limit?: number; filters?: Array<Record<string, unknown>> } = {}): AsyncGenerator<DidSearchResult> {
    const filters = opts.filters ?? [{ name: opts.name ?? '*' }];
    const query: Record<string, string> = { type: opts.type ?? 'collection', long: 'true', filters: pythonLiteral(filters) };
    if (opts.limit !== undefined) query.limit = String(opts.limit);
    yield* this.rucio.stream<DidSearchResult>('GET', `dids/${encodeURIComponent(scope)}/dids/search`, { query });
  }

  /** `GET /dids/{scope}/{name}`; with `dynamicDepth` the server sums sizes of files or datasets below. */
  get(scope: string, name: string, opts: { dynamicDepth?: 'FILE' | 'DATASET' } = {}): Promise<Did> {
    return this.rucio.json<Did>('GET', `dids/${didPath(scope, name)}`, { query: opts.dynamicDepth ? { dynamic_depth: opts.dynamicDepth } : undefined });
  }

  /** `GET /dids/{scope}/{name}/files`: every file below, recursively. */
  files(scope: string, name: string): AsyncGenerator<DidFile> {
    return this.rucio.stream<DidFile>('GET', `dids/${didPath(scope, name)}/files`);
  }

  /** `GET /dids/{scope}/{name}/dids`: the direct children of a collection. */
  content(scope: string, name: string): AsyncGenerator<DidChild> {
    return this.rucio.stream<DidChild>('GET', `dids/${didPath(scope, name)}/dids`);
  }

  /** `GET /dids/{scope}/{name}/parents`. */
  parents(scope: string, name: string): AsyncGenerator<DidParent> {
    return this.rucio.stream<DidParent>('GET', `dids/${didPath(scope, name)}/parents`);
  }

  /** `GET /dids/{scope}/{name}/meta` (`plugin`: DID_COLUMN by default, JSON, ALL). */
  meta(scope: string, name: string, plugin?: 'DID_COLUMN' | 'JSON' | 'ALL'): Promise<Record<string, unknown>> {
    return this.rucio.json('GET', `dids/${didPath(scope, name)}/meta`, { query: plugin ? { plugin } : undefined });
  }
}
