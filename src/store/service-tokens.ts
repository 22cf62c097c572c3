/**
 * API tokens of services (migration 2); the services themselves are declared in the config.
 */
import { fail } from '../errors/catalogue.js';
import { Aggregate } from './aggregate.js';
import { constraintKind } from './db-errors.js';
import { fromServiceTokenRow, toServiceTokenRow } from './rows.js';
import type { ServiceTokenRow } from './types.js';

export class ServiceTokens extends Aggregate {
  async insertServiceToken(row: ServiceTokenRow): Promise<void> {
    try {
      await this.db.insertInto('service_tokens').values(fromServiceTokenRow(row)).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', 'A token with this id or hash already exists.', { cause: err });
      throw err;
    }
  }

  async getServiceTokenByHash(hash: string): Promise<ServiceTokenRow | null> {
    const row = await this.db.selectFrom('service_tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row ? toServiceTokenRow(row) : null;
  }

  async listServiceTokens(service: string): Promise<ServiceTokenRow[]> {
    const rows = await this.db.selectFrom('service_tokens').selectAll().where('service_name', '=', service).orderBy('created').orderBy('id').execute();
    return rows.map(toServiceTokenRow);
  }

  async deleteServiceToken(service: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('service_tokens').where('service_name', '=', service).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async touchServiceToken(id: string, when: string): Promise<void> {
    await this.db.updateTable('service_tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }
}
