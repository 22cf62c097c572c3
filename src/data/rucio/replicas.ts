import type { RucioCaller } from './client.js';
import type { FileReplicas } from './types.js';

/** The replica endpoints (`/replicas/...`). */
export class Replicas {
  constructor(private readonly rucio: RucioCaller) {}

  /**
   * `POST /replicas/list`: the files of `dids` (collections are resolved to files) with their
   * PFNs, restricted to `schemes` (`root`, `davs`, `https`…) and RSEs of `rseExpression`. The
   * answer is a json-stream, one file per line, read as it arrives. An unknown DID is a 400
   * DataIdentifierNotFound here (not 404 as on /dids).
   */
  list(dids: Array<{ scope: string; name: string }>, opts: { schemes?: string[]; rseExpression?: string; allStates?: boolean; clientLocation?: { site?: string } } = {}): AsyncGenerator<FileReplicas> {
    const body: Record<string, unknown> = { dids };
    if (opts.schemes) body.schemes = opts.schemes;
    if (opts.rseExpression) body.rse_expression = opts.rseExpression;
    if (opts.allStates) body.all_states = true;
    if (opts.clientLocation) body.client_location = opts.clientLocation;
    return this.rucio.stream<FileReplicas>('POST', 'replicas/list', { json: body });
  }
}
