/**
 * The store's security tables (migration 2) on both backends, SQLite and a real PostgreSQL:
 * groups managed through the API, roles and assignments, service tokens, identities at external
 * issuers, and the audit log. Exact values, as the store's own behaviour suite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { log } from '../../src/log.js';
import { createStore, type KyselyStore } from '../../src/store/index.js';
import type { NewAuditRow, RoleRow } from '../../src/store/types.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let tmp = '';
let pgServer: TestPostgres | undefined;
let counter = 0;

before(async () => {
  log.setLevel('warn');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-security-store-'));
  pgServer = await startPostgres();
});
after(async () => {
  await pgServer?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const T = (n: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString();
const role = (name: string, source: RoleRow['source'], scopes: string[] = ['read:users']): RoleRow => ({ name, description: `${name} role`, scopes, source, created: T(0) });
const audit = (n: number, extra: Partial<NewAuditRow> = {}): NewAuditRow => ({
  time: T(n), actor: 'alice', actorKind: 'user', action: 'server.start', target: 'alice/', targetUser: 'alice', outcome: 'ok', code: null, detail: { n }, ip: '127.0.0.1', ...extra,
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`security tables on ${backend}`, () => {
    async function fresh(t: TestContext): Promise<KyselyStore> {
      const url = backend === 'sqlite' ? `sqlite://${path.join(tmp, `db${++counter}.sqlite`)}` : await pgServer!.createDatabase(`sec${++counter}`);
      const store = await createStore(url);
      t.after(() => store.close());
      await store.createUsers(['alice', 'bob', 'carol']);
      return store;
    }

    test('groups: API groups with properties and members; identity-provider groups from logins', async (t) => {
      const s = await fresh(t);
      await s.upsertUser('alice', { groups: ['/cms', '/cms/analysis'] });
      const made = await s.createGroup('lab', { properties: { room: 42 } });
      assert.deepEqual(made, { name: 'lab', properties: { room: 42 }, source: 'api', members: [], memberCount: 0 });
      await assert.rejects(s.createGroup('lab'), { code: 'CONFLICT', message: 'Group lab already exists.' });
      await s.addGroupMembers('lab', ['bob', 'alice', 'bob']);
      await assert.rejects(s.addGroupMembers('lab', ['bob', 'zed']), { code: 'USER_NOT_FOUND', message: 'No such user: zed' });
      await assert.rejects(s.addGroupMembers('nope', ['bob']), { code: 'GROUP_NOT_FOUND' });
      assert.deepEqual((await s.getGroup('lab'))!.members, ['alice', 'bob']);
      const all = await s.listGroups();
      assert.deepEqual(all.groups.map((g) => [g.name, g.source, g.memberCount]), [['/cms', 'idp', 1], ['/cms/analysis', 'idp', 1], ['lab', 'api', 2]]);
      assert.equal(all.total, 3);
      const page = await s.listGroups({ offset: 1, limit: 1, nameContains: 'CMS' });
      assert.deepEqual([page.groups.map((g) => g.name), page.total], [['/cms/analysis'], 2]);
      assert.deepEqual((await s.listGroups({ nameContains: '%' })).groups, [], 'LIKE wildcards are literal');
      await s.setGroupProperties('lab', { room: 43, tags: ['x'] });
      assert.deepEqual((await s.getGroup('lab'))!.properties, { room: 43, tags: ['x'] });
      await assert.rejects(s.setGroupProperties('nope', {}), { code: 'GROUP_NOT_FOUND' });
      assert.deepEqual(await s.apiGroupsAmong(['lab', '/cms', 'unknown']), ['lab']);
      await s.removeGroupMembers('lab', ['alice']);
      assert.deepEqual((await s.getUser('alice'))!.groups, ['/cms', '/cms/analysis']);
      assert.deepEqual((await s.getUser('bob'))!.groups, ['lab']);
      assert.equal(await s.deleteGroup('lab'), true);
      assert.equal(await s.deleteGroup('lab'), false);
      assert.deepEqual((await s.getUser('bob'))!.groups, []);
    });

    test('roles: config sync replaces config roles and assignments only; API ones stay', async (t) => {
      const s = await fresh(t);
      await s.syncDeclaredRoles([role('admin', 'builtin', ['*']), role('teach', 'config'), role('old', 'config')], [
        { role: 'teach', kind: 'group', principal: 'physics', source: 'config' },
        { role: 'admin', kind: 'user', principal: 'root', source: 'config' },
      ]);
      await s.putRole(role('mine', 'api', ['servers!user=alice']));
      await s.setRoleAssignments('mine', 'api', ['user', 'group'], [{ kind: 'user', principal: 'alice' }, { kind: 'group', principal: 'physics' }, { kind: 'user', principal: 'alice' }]);
      await s.setRoleAssignments('admin', 'api', ['user'], [{ kind: 'user', principal: 'bob' }]);
      // A restart with a changed config: "old" is gone, "teach" now also goes to a service.
      await s.syncDeclaredRoles([role('admin', 'builtin', ['*']), role('teach', 'config', ['read:users', 'list:users'])], [
        { role: 'teach', kind: 'group', principal: 'physics', source: 'config' },
        { role: 'teach', kind: 'service', principal: 'monitor', source: 'config' },
      ]);
      assert.deepEqual((await s.listRoles()).map((r) => [r.name, r.source, r.scopes]), [['admin', 'builtin', ['*']], ['mine', 'api', ['servers!user=alice']], ['teach', 'config', ['read:users', 'list:users']]]);
      assert.deepEqual((await s.listRoleAssignments()).map((a) => `${a.role} ${a.kind} ${a.principal} ${a.source}`), [
        'admin user bob api', 'mine group physics api', 'mine user alice api', 'teach group physics config', 'teach service monitor config',
      ]);
      await s.setRoleAssignments('mine', 'api', ['user'], []);
      assert.deepEqual((await s.listRoleAssignments()).filter((a) => a.role === 'mine').map((a) => a.kind), ['group'], 'only the given kinds are replaced');
      await assert.rejects(s.setRoleAssignments('ghost', 'api', ['user'], []), { code: 'ROLE_NOT_FOUND' });
      await s.deleteUser('bob');
      await s.deleteAssignmentsOf('group', 'physics');
      assert.deepEqual((await s.listRoleAssignments()).map((a) => `${a.role} ${a.principal} ${a.source}`), ['teach physics config', 'teach monitor config']);
      assert.equal(await s.deleteRole('teach'), true);
      assert.deepEqual((await s.listRoleAssignments()).length, 0, 'assignments go with their role');
    });

    test('service tokens and identities at issuers', async (t) => {
      const s = await fresh(t);
      const tok = { id: 'a1', service: 'culler', hash: 'h'.repeat(64), prefix: 'abcd', scopes: ['delete:servers'], note: 'n', created: T(1), expiresAt: null, lastActivity: null };
      await s.insertServiceToken(tok);
      await assert.rejects(s.insertServiceToken(tok), { code: 'CONFLICT' });
      assert.deepEqual(await s.getServiceTokenByHash('h'.repeat(64)), tok);
      await s.touchServiceToken('a1', T(5));
      assert.equal((await s.listServiceTokens('culler'))[0]!.lastActivity, T(5));
      assert.equal(await s.deleteServiceToken('monitor', 'a1'), false);
      assert.equal(await s.deleteServiceToken('culler', 'a1'), true);
      assert.equal(await s.getServiceTokenByHash('h'.repeat(64)), null);

      await s.linkIdentity('https://iam.example/', 'uuid-1', 'alice');
      await s.linkIdentity('https://iam.example/', 'uuid-1', 'bob');
      assert.equal(await s.userOfIdentity('https://iam.example/', 'uuid-1'), 'bob', 'relinked at the next login');
      assert.equal(await s.userOfIdentity('https://other.example/', 'uuid-1'), null);
      await assert.rejects(s.linkIdentity('https://iam.example/', 'uuid-2', 'nobody'), { code: 'USER_NOT_FOUND' });
      await s.deleteUser('bob');
      assert.equal(await s.userOfIdentity('https://iam.example/', 'uuid-1'), null, 'deleted with the user');
    });

    test('audit log: append-only ids, filters, pages and retention', async (t) => {
      const s = await fresh(t);
      const ids: number[] = [];
      ids.push(await s.appendAudit(audit(1)));
      ids.push(await s.appendAudit(audit(2, { actor: 'admin', action: 'user.update', target: 'bob', targetUser: 'bob', detail: { blocked: true } })));
      ids.push(await s.appendAudit(audit(3, { actor: 'bob', action: 'request.denied', outcome: 'denied', code: 'MISSING_SCOPE', targetUser: 'alice' })));
      ids.push(await s.appendAudit(audit(4, { action: 'server.stop' })));
      ids.push(await s.appendAudit(audit(5, { actor: '-', actorKind: 'anonymous', action: 'login', outcome: 'denied', targetUser: null, ip: null })));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, 5);
      // Each entry is named by its second (T(n)).
      const q = async (extra: Partial<Parameters<typeof s.queryAudit>[0]>) => (await s.queryAudit({ limit: 100, ...extra })).map((r) => new Date(r.time).getUTCSeconds());
      assert.deepEqual(await q({}), [5, 4, 3, 2, 1]);
      const first = (await s.queryAudit({ limit: 1, actor: 'admin' }))[0]!;
      assert.deepEqual(first, { id: ids[1], time: T(2), actor: 'admin', actorKind: 'user', action: 'user.update', target: 'bob', targetUser: 'bob', outcome: 'ok', code: null, detail: { blocked: true }, ip: '127.0.0.1' });
      assert.deepEqual(await q({ action: 'server.' }), [4, 1]);
      assert.deepEqual(await q({ action: 'server' }), []);
      assert.deepEqual(await q({ involving: ['bob'] }), [3, 2]);
      assert.deepEqual(await q({ involving: [] }), []);
      assert.deepEqual(await q({ targetUser: 'alice', outcome: 'denied' }), [3]);
      assert.deepEqual(await q({ since: T(2), until: T(4) }), [3, 2]);
      assert.deepEqual(await q({ beforeId: ids[2], limit: 1 }), [2]);
      assert.equal(await s.deleteAuditBefore(T(3)), 2);
      assert.deepEqual(await q({}), [5, 4, 3]);
    });
  });
}
