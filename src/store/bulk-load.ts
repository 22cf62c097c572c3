/**
 * Facility-sized seeding: many users, groups and servers with multi-row inserts.
 */
import { sql } from 'kysely';
import { Aggregate, chunks } from './aggregate.js';
import { fromBool, fromServerRow } from './rows.js';
import type { ServerRow, UserRow } from './types.js';

export class BulkLoad extends Aggregate {
  /**
   * Seeds many users (with their groups) and servers in one transaction with multi-row
   * inserts. For benchmarks and load tests only; not part of Store.
   */
  async bulkInsertForBench(users: UserRow[], servers: ServerRow[]): Promise<void> {
    await this.tx('write', async function bulkInsert(db) {
      for (const part of chunks(users)) {
        await db.insertInto('users').values(part.map((u) => ({
          name: u.name, admin: fromBool(u.admin), blocked: fromBool(u.blocked), created: u.created, last_activity: u.lastActivity,
        }))).execute();
      }
      const groups = [...new Set(users.flatMap((u) => u.groups))];
      for (const part of chunks(groups)) {
        await db.insertInto('groups').values(part.map((name) => ({ name })))
          .onConflict((oc) => oc.column('name').doNothing()).execute();
      }
      const memberships = users.flatMap((u) => [...new Set(u.groups)].map((g) => ({ user_name: u.name, group_name: g })));
      for (const part of chunks(memberships)) await db.insertInto('user_groups').values(part).execute();
      for (const part of chunks(servers)) await db.insertInto('servers').values(part.map(fromServerRow)).execute();
    });
    // Statistics and visibility maps as autovacuum would leave them after such a load (it
    // vacuums after 1,000 inserts since PostgreSQL 13), so plans measured right after seeding
    // are the plans a running facility gets. VACUUM cannot run inside a transaction.
    await sql.raw(this.backend === 'postgres' ? 'vacuum analyze' : 'analyze').execute(this.db);
  }
}
