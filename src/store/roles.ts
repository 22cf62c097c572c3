/**
 * Roles and who holds them (migration 2): built-in, declared in the config, or made through the API.
 */
import { fail } from '../errors/catalogue.js';
import { Aggregate, chunks } from './aggregate.js';
import { fromRoleRow, toRoleAssignmentRow, toRoleRow } from './rows.js';
import type { PrincipalKind, RoleAssignmentRow, RoleRow } from './types.js';

export class Roles extends Aggregate {
  async listRoles(): Promise<RoleRow[]> {
    const rows = await this.db.selectFrom('roles').selectAll().orderBy('name').execute();
    return rows.map(toRoleRow);
  }

  async listRoleAssignments(): Promise<RoleAssignmentRow[]> {
    const rows = await this.db.selectFrom('role_assignments').selectAll()
      .orderBy('role_name').orderBy('kind').orderBy('principal').orderBy('source').execute();
    return rows.map(toRoleAssignmentRow);
  }

  async putRole(row: RoleRow): Promise<void> {
    const values = fromRoleRow(row);
    const { name: _n, created: _c, ...rest } = values;
    await this.db.insertInto('roles').values(values).onConflict((oc) => oc.column('name').doUpdateSet(rest)).execute();
  }

  async deleteRole(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('roles').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setRoleAssignments(role: string, source: RoleAssignmentRow['source'], kinds: PrincipalKind[], assignments: Array<{ kind: PrincipalKind; principal: string }>): Promise<void> {
    if (kinds.length === 0) return;
    const rows = dedupeAssignments(assignments.map((a) => ({ role_name: role, kind: a.kind, principal: a.principal, source })));
    await this.tx('write', async function setAssignmentsInTransaction(db) {
      const exists = await db.selectFrom('roles').select('name').where('name', '=', role).executeTakeFirst();
      if (!exists) throw fail('ROLE_NOT_FOUND', `No such role: ${role}`);
      await db.deleteFrom('role_assignments').where('role_name', '=', role).where('source', '=', source).where('kind', 'in', kinds).execute();
      for (const part of chunks(rows)) await db.insertInto('role_assignments').values(part).execute();
    });
  }

  async syncDeclaredRoles(roles: RoleRow[], assignments: RoleAssignmentRow[]): Promise<void> {
    const declared = roles.filter((r) => r.source === 'config').map((r) => r.name);
    const rows = dedupeAssignments(assignments.map((a) => ({ role_name: a.role, kind: a.kind, principal: a.principal, source: 'config' })));
    await this.tx('write', async function syncRolesInTransaction(db) {
      let stale = db.deleteFrom('roles').where('source', '=', 'config');
      if (declared.length > 0) stale = stale.where('name', 'not in', declared);
      await stale.execute();
      for (const role of roles) {
        const values = fromRoleRow(role);
        const { name: _n, created: _c, ...rest } = values;
        await db.insertInto('roles').values(values).onConflict((oc) => oc.column('name').doUpdateSet(rest)).execute();
      }
      await db.deleteFrom('role_assignments').where('source', '=', 'config').execute();
      for (const part of chunks(rows)) await db.insertInto('role_assignments').values(part).execute();
    });
  }

  async deleteAssignmentsOf(kind: PrincipalKind, principal: string): Promise<void> {
    await this.db.deleteFrom('role_assignments').where('kind', '=', kind).where('principal', '=', principal).where('source', '=', 'api').execute();
  }
}

/** One row per (role, kind, principal, source): the primary key. */
function dedupeAssignments<T extends { role_name: string; kind: string; principal: string; source: string }>(rows: T[]): T[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = `${r.role_name}\0${r.kind}\0${r.principal}\0${r.source}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
