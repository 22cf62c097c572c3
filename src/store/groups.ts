/**
 * Groups (migration 2): from the identity provider (re-synced at every login) or made through
 * the API, with properties and members.
 */
import { sql } from 'kysely';
import { fail } from '../errors/catalogue.js';
import { Aggregate, chunks } from './aggregate.js';
import { constraintKind } from './db-errors.js';
import type { GroupRow } from './types.js';
import { pageBounds } from './user-query.js';

export class Groups extends Aggregate {
  async listGroups(q: { offset?: number; limit?: number; nameContains?: string } = {}): Promise<{ groups: GroupRow[]; total: number }> {
    const { offset, limit } = pageBounds(q);
    const pattern = q.nameContains ? '%' + q.nameContains.replace(/[\\%_]/g, (c) => '\\' + c) + '%' : null;
    const like = sql.raw(this.backend === 'postgres' ? 'ilike' : 'like');
    return this.tx('read', async function listGroupsInTransaction(db) {
      const filtered = <T extends { where: any }>(qb: T): T => (pattern === null ? qb : qb.where(sql<boolean>`${sql.ref('groups.name')} ${like} ${pattern} escape '\\'`));
      const count = await filtered(db.selectFrom('groups')).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      let page = filtered(db.selectFrom('groups'))
        .selectAll('groups')
        .select(sql<number | string>`(select count(*) from user_groups ug where ug.group_name = groups.name)`.as('member_count'))
        .orderBy('groups.name');
      if (limit !== undefined || offset > 0) page = page.limit(limit ?? Number.MAX_SAFE_INTEGER).offset(offset);
      const rows = await page.execute();
      return { groups: rows.map((r) => groupRow(r, [], Number(r.member_count))), total: Number(count.n) };
    });
  }

  async getGroup(name: string): Promise<GroupRow | null> {
    return this.tx('read', async function getGroupInTransaction(db) {
      const row = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) return null;
      const members = await db.selectFrom('user_groups').select('user_name').where('group_name', '=', name).orderBy('user_name').execute();
      return groupRow(row, members.map((m) => m.user_name), members.length);
    });
  }

  async createGroup(name: string, opts: { properties?: Record<string, unknown>; source?: GroupRow['source'] } = {}): Promise<GroupRow> {
    const row = { name, properties: JSON.stringify(opts.properties ?? {}), source: opts.source ?? 'api' };
    try {
      await this.db.insertInto('groups').values(row).execute();
    } catch (err) {
      if (constraintKind(err) === 'unique') throw fail('CONFLICT', `Group ${name} already exists.`, { cause: err });
      throw err;
    }
    return groupRow(row, [], 0);
  }

  async deleteGroup(name: string): Promise<boolean> {
    const r = await this.tx('write', async function deleteGroupInTransaction(db) {
      await db.deleteFrom('role_assignments').where('kind', '=', 'group').where('principal', '=', name).where('source', '=', 'api').execute();
      return db.deleteFrom('groups').where('name', '=', name).executeTakeFirst();
    });
    return Number(r.numDeletedRows) > 0;
  }

  async setGroupProperties(name: string, properties: Record<string, unknown>): Promise<void> {
    const r = await this.db.updateTable('groups').set({ properties: JSON.stringify(properties) }).where('name', '=', name).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw fail('GROUP_NOT_FOUND', `No such group: ${name}`);
  }

  async addGroupMembers(group: string, users: string[]): Promise<void> {
    const unique = [...new Set(users)];
    await this.tx('write', async function addMembersInTransaction(db) {
      const g = await db.selectFrom('groups').select('name').where('name', '=', group).executeTakeFirst();
      if (!g) throw fail('GROUP_NOT_FOUND', `No such group: ${group}`);
      const found = new Set<string>();
      for (const part of chunks(unique)) {
        for (const r of await db.selectFrom('users').select('name').where('name', 'in', part).execute()) found.add(r.name);
      }
      const missing = unique.find((u) => !found.has(u));
      if (missing !== undefined) throw fail('USER_NOT_FOUND', `No such user: ${missing}`);
      for (const part of chunks(unique)) {
        await db.insertInto('user_groups').values(part.map((u) => ({ user_name: u, group_name: group })))
          .onConflict((oc) => oc.columns(['user_name', 'group_name']).doNothing()).execute();
      }
    });
  }

  async removeGroupMembers(group: string, users: string[]): Promise<void> {
    const unique = [...new Set(users)];
    await this.tx('write', async function removeMembersInTransaction(db) {
      const g = await db.selectFrom('groups').select('name').where('name', '=', group).executeTakeFirst();
      if (!g) throw fail('GROUP_NOT_FOUND', `No such group: ${group}`);
      for (const part of chunks(unique)) {
        await db.deleteFrom('user_groups').where('group_name', '=', group).where('user_name', 'in', part).execute();
      }
    });
  }

  async apiGroupsAmong(names: string[]): Promise<string[]> {
    const unique = [...new Set(names)];
    const out: string[] = [];
    for (const part of chunks(unique)) {
      const rows = await this.db.selectFrom('groups').select('name').where('source', '=', 'api').where('name', 'in', part).execute();
      out.push(...rows.map((r) => r.name));
    }
    return out.sort();
  }
}

function groupRow(r: { name: string; properties?: string; source?: string }, members: string[], memberCount: number): GroupRow {
  let properties: Record<string, unknown> = {};
  try {
    properties = r.properties ? JSON.parse(r.properties) as Record<string, unknown> : {};
  } catch { /* written only by this store as JSON; an unreadable value shows as {} */ }
  return { name: r.name, properties, source: r.source === 'api' ? 'api' : 'idp', members, memberCount };
}
