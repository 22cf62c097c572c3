import type { RucioCaller } from './client.js';
import type { NewRule, ReplicaLock, Rule } from './types.js';

/** The replication rule endpoints (`/rules/...`, `/accounts/{a}/rules`). */
export class Rules {
  constructor(private readonly rucio: RucioCaller) {}

  /** `POST /rules/` → the new rule ids (201 with a JSON list). 409 InsufficientAccountLimit, DuplicateRule…; 404 DataIdentifierNotFound. */
  add(rule: NewRule): Promise<string[]> {
    return this.rucio.json<string[]>('POST', 'rules/', { json: rule });
  }

  /** `GET /rules/{id}`; 404 RuleNotFound. Any authenticated account may read any rule. */
  get(id: string): Promise<Rule> {
    return this.rucio.json<Rule>('GET', `rules/${encodeURIComponent(id)}`);
  }

  /**
   * `DELETE /rules/{id}`. The server requires a JSON object body (`json_parameters()` is not
   * optional there: an empty body is a 400), as the Python client's `{"purge_replicas": …}`.
   * Someone else's rule: 401 AccessDenied.
   */
  async delete(id: string, purgeReplicas = false): Promise<void> {
    await this.rucio.json<unknown>('DELETE', `rules/${encodeURIComponent(id)}`, { json: { purge_replicas: purgeReplicas } });
  }

  /** `GET /rules/{id}/locks`: one lock per file and RSE, each REPLICATING, OK or STUCK. */
  locks(id: string): AsyncGenerator<ReplicaLock> {
    return this.rucio.stream<ReplicaLock>('GET', `rules/${encodeURIComponent(id)}/locks`);
  }

  /** `GET /accounts/{account}/rules`, other query args are filters (`state`, `scope`, `name`…). */
  ofAccount(account: string, filters: Record<string, string> = {}): AsyncGenerator<Rule> {
    return this.rucio.stream<Rule>('GET', `accounts/${encodeURIComponent(account)}/rules`, { query: filters });
  }

  /** `GET /rules/` with filters as query args. */
  list(filters: Record<string, string> = {}): AsyncGenerator<Rule> {
    return this.rucio.stream<Rule>('GET', 'rules/', { query: filters });
  }
}
