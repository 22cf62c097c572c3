/**
 * Servers of users: the desired state the reconciler compares with what executors report.
 */
import type { Kysely } from 'kysely';
import { Aggregate, CHUNK, chunks } from './aggregate.js';
import { insertError } from './db-errors.js';
import { fromServerRow, serverPatchColumns, toServerRow } from './rows.js';
import type { Database } from './schema.js';
import type { ServerRow, ServerState } from './types.js';

export class Servers extends Aggregate {
  async getServer(user: string, name: string): Promise<ServerRow | null> {
    const row = await this.db.selectFrom('servers').selectAll()
      .where('user_name', '=', user).where('name', '=', name)
      .executeTakeFirst();
    return row ? toServerRow(row) : null;
  }

  async listServers(user: string): Promise<ServerRow[]> {
    const rows = await this.db.selectFrom('servers').selectAll()
      .where('user_name', '=', user).orderBy('name').execute();
    return rows.map(toServerRow);
  }

  /** Every requested user is a key, with [] when they have no server. */
  async listServersOf(users: string[]): Promise<Map<string, ServerRow[]>> {
    const out = new Map<string, ServerRow[]>();
    for (const u of users) out.set(u, []);
    if (out.size === 0) return out;
    const names = [...out.keys()];
    const readAll = async function readServersOf(db: Kysely<Database>) {
      for (const part of chunks(names)) {
        const rows = await db.selectFrom('servers').selectAll()
          .where('user_name', 'in', part).orderBy('user_name').orderBy('name').execute();
        for (const r of rows) out.get(r.user_name)!.push(toServerRow(r));
      }
    };
    if (names.length <= CHUNK) await readAll(this.db);
    else await this.tx('read', readAll);
    return out;
  }

  async listActiveServers(): Promise<ServerRow[]> {
    const rows = await this.db.selectFrom('servers').selectAll()
      .where('state', '<>', 'stopped').orderBy('user_name').orderBy('name').execute();
    return rows.map(toServerRow);
  }

  async putServer(row: ServerRow): Promise<void> {
    const values = fromServerRow(row);
    const { user_name: _u, name: _n, ...rest } = values;
    try {
      await this.db.insertInto('servers').values(values)
        .onConflict((oc) => oc.columns(['user_name', 'name']).doUpdateSet(rest))
        .execute();
    } catch (err) {
      throw insertError(err, `Server ${row.user}/${row.name}`, row.user);
    }
  }

  async transitionServer(user: string, name: string, from: ServerState, patch: Partial<ServerRow>): Promise<boolean> {
    // One UPDATE … WHERE state = from: atomic on both engines (PostgreSQL re-checks the WHERE
    // after waiting for a concurrent writer's row lock), so exactly one caller wins.
    const set = { state: from, ...serverPatchColumns(patch) };
    const r = await this.db.updateTable('servers').set(set)
      .where('user_name', '=', user).where('name', '=', name).where('state', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Sets the given fields; a missing server is left missing (no error). */
  async updateServer(user: string, name: string, patch: Partial<ServerRow>): Promise<void> {
    const set = serverPatchColumns(patch);
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('servers').set(set)
      .where('user_name', '=', user).where('name', '=', name)
      .execute();
  }

  async deleteServer(user: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('servers')
      .where('user_name', '=', user).where('name', '=', name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
