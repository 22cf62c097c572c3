/**
 * The audit log (migration 2): append-only, newest first, pruned by age.
 */
import { Aggregate } from './aggregate.js';
import { fromAuditRow, toAuditRow } from './rows.js';
import type { AuditQuery, AuditRow, NewAuditRow } from './types.js';

export class AuditLog extends Aggregate {
  async appendAudit(row: NewAuditRow): Promise<number> {
    const r = await this.db.insertInto('audit_log').values(fromAuditRow(row)).returning('id').executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRow[]> {
    let qb = this.db.selectFrom('audit_log').selectAll();
    if (q.beforeId !== undefined) qb = qb.where('id', '<', q.beforeId);
    if (q.actor !== undefined) qb = qb.where('actor', '=', q.actor);
    if (q.action !== undefined) {
      qb = q.action.endsWith('.')
        ? qb.where('action', '>=', q.action).where('action', '<', q.action.slice(0, -1) + '/')
        : qb.where('action', '=', q.action);
    }
    if (q.targetUser !== undefined) qb = qb.where('target_user', '=', q.targetUser);
    if (q.involving !== undefined) {
      const names = q.involving.length > 0 ? q.involving : [''];
      qb = qb.where((eb) => eb.or([eb('actor', 'in', names), eb('target_user', 'in', names)]));
    }
    if (q.outcome !== undefined) qb = qb.where('outcome', '=', q.outcome);
    if (q.since !== undefined) qb = qb.where('time', '>=', q.since);
    if (q.until !== undefined) qb = qb.where('time', '<', q.until);
    const rows = await qb.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(toAuditRow);
  }

  async deleteAuditBefore(time: string): Promise<number> {
    const r = await this.db.deleteFrom('audit_log').where('time', '<', time).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
