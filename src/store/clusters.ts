/**
 * Dask clusters (migration 3), with dask-gateway's states.
 */
import { Aggregate } from './aggregate.js';
import { clusterPatchColumns, fromClusterRow, toClusterRow } from './cluster-rows.js';
import { insertError } from './db-errors.js';
import type { ClustersTable } from './schema.js';
import type { ClusterRow, ClusterStatus, ListClustersQuery } from './types.js';

export class Clusters extends Aggregate {
  async getCluster(name: string): Promise<ClusterRow | null> {
    const row = await this.db.selectFrom('clusters').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toClusterRow(row) : null;
  }

  async listClusters(q: ListClustersQuery = {}): Promise<ClusterRow[]> {
    if (q.statuses && q.statuses.length === 0) return [];
    const rows = await this.db.selectFrom('clusters').selectAll()
      .$if(q.user !== undefined, (qb) => qb.where('user_name', '=', q.user!))
      .$if(q.statuses !== undefined, (qb) => qb.where('status', 'in', q.statuses!))
      .orderBy('created').orderBy('name')
      .execute();
    return rows.map(toClusterRow);
  }

  async insertCluster(row: ClusterRow): Promise<void> {
    try {
      await this.db.insertInto('clusters').values(fromClusterRow(row)).execute();
    } catch (err) {
      throw insertError(err, `Cluster ${row.name}`, row.user);
    }
  }

  async updateCluster(name: string, patch: Partial<ClusterRow>): Promise<void> {
    const set = clusterPatchColumns(patch);
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('clusters').set(set).where('name', '=', name).execute();
  }

  async transitionCluster(name: string, from: ClusterStatus[], patch: Partial<ClusterRow>): Promise<boolean> {
    if (from.length === 0) return false;
    // One UPDATE … WHERE status IN (…): exactly one of two racing writers wins (see transitionServer).
    const set: Partial<ClustersTable> = clusterPatchColumns(patch);
    // An empty patch still needs a SET clause; name = name changes nothing.
    if (Object.keys(set).length === 0) set.name = name;
    const r = await this.db.updateTable('clusters').set(set)
      .where('name', '=', name).where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteClustersEndedBefore(when: string): Promise<number> {
    const r = await this.db.deleteFrom('clusters')
      .where('status', 'in', ['STOPPED', 'FAILED']).where('stopped', 'is not', null).where('stopped', '<', when)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
