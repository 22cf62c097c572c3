import { tinyServerCommand } from '../fixtures/tiny-server.js';
/**
 * Roles, groups, services and admin actions through the API of a real platform: JupyterHub's
 * RBAC (roles of scopes with !user=/!group=/!server= filters, assigned to users, groups and
 * services), with highrate's guarantees: nobody grants what they do not hold, services get only
 * their roles' scopes, admins act as themselves, and every change is audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { http } from '../helpers/http.js';
import { Platform } from '../helpers/platform.js';


describe('roles, groups, services and admin actions', () => {
  let p: Platform;
  let admin: string;
  const tok = {} as Record<string, string>;

  before(async () => {
    p = await Platform.start({
      users: [{ name: 'alice', groups: ['physics'] }, { name: 'bob', groups: ['chemistry'] }, { name: 'teacher' }, { name: 'manager' }, { name: 'newcomer', groups: ['admins'] }],
      config: {
        auth: { adminGroups: ['admins'] },
        hub: { namedServerLimitPerUser: 0 },
        culler: { idleTimeout: 0 },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
        roles: [
          { name: 'monitoring', description: 'read-only view for dashboards', scopes: ['list:users', 'read:users:activity', 'read:servers', 'read:metrics'] },
          { name: 'role-manager', scopes: ['admin:roles', 'read:users', 'list:users'], users: ['manager'] },
          { name: 'admin', users: ['teacher-lead'] },
        ],
        services: [
          { name: 'culler', description: 'idle culler', roles: ['idle-culler'] },
          { name: 'monitor', roles: ['monitoring'] },
        ],
      },
    });
    admin = await p.token('admin');
    for (const u of ['alice', 'bob']) {
      await p.login(u);
      tok[u] = await p.token(u);
    }
    tok.teacher = await p.token('teacher');
    tok.manager = await p.token('manager');
    for (const u of ['alice', 'bob']) {
      const r = await p.api('POST', `/hub/api/users/${u}/server`, { token: tok[u]! }, {});
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => { await p?.close(); });

  test('roles from the config and the built-in ones are listed with their holders', async () => {
    const roles = (await p.api('GET', '/hub/api/roles', { token: admin })).json();
    const byName = Object.fromEntries(roles.map((r: any) => [r.name, r]));
    assert.deepEqual(Object.keys(byName).sort(), ['admin', 'idle-culler', 'monitoring', 'role-manager', 'user']);
    assert.equal(byName.admin.source, 'builtin');
    // teacher-lead by assignment, admin by the admin flag (as the Users list shows its roles).
    assert.deepEqual(byName.admin.users, ['admin', 'teacher-lead']);
    assert.deepEqual(byName['idle-culler'].scopes, ['list:users', 'read:users:activity', 'read:servers', 'delete:servers']);
    assert.deepEqual(byName['idle-culler'].services, ['culler']);
    assert.deepEqual(byName.monitoring.services, ['monitor']);
    assert.equal(byName.monitoring.source, 'config');
    const patch = await p.api('PATCH', '/hub/api/roles/monitoring', { token: admin }, { users: ['alice'] });
    assert.equal(patch.status, 409);
    assert.equal(patch.json().message, 'Role monitoring is declared in the config file; change it there.');
  });

  test('a role with !group= filters: an instructor sees and stops only her group members\' servers', async () => {
    const created = await p.api('POST', '/hub/api/roles/instructor', { token: admin }, {
      description: 'teaches physics',
      scopes: ['admin-ui', 'list:users!group=physics', 'read:users!group=physics', 'admin:servers!group=physics', 'access:servers!group=physics'],
      users: ['teacher'],
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json().users, ['teacher']);
    const me = (await p.api('GET', '/hub/api/user', { token: tok.teacher! })).json();
    assert.deepEqual(me.roles, ['instructor', 'user']);
    assert.ok(me.scopes.includes('admin:servers!group=physics'));
    const listed = (await p.api('GET', '/hub/api/users', { token: tok.teacher! })).json();
    assert.deepEqual(listed.map((u: any) => u.name), ['alice'], 'only physics members');
    assert.equal((await p.api('GET', '/user/alice/', { token: tok.teacher! })).status, 200, 'access:servers!group=physics at the proxy');
    assert.equal((await p.api('GET', '/user/bob/', { token: tok.teacher! })).status, 403);
    assert.equal((await p.api('DELETE', '/hub/api/users/bob/server', { token: tok.teacher! })).status, 403);
    assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', { token: tok.teacher! })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/users/bob', { token: tok.teacher! })).status, 403);
    assert.equal((await p.api('POST', '/hub/api/roles/mine', { token: tok.teacher! }, { scopes: ['read:users'] })).status, 403, 'no admin:roles');
    const audit = (await p.api('GET', '/hub/api/audit?action=server.stop&user=alice', { token: admin })).json().items;
    assert.equal(audit[0].actor, 'teacher');
    assert.equal(audit[0].target, 'alice/');
    assert.equal(audit[0].target_user, 'alice');
  });

  test('nobody grants what they do not hold: admin:roles alone cannot mint admins or wider roles', async () => {
    const ok = await p.api('POST', '/hub/api/roles/readers', { token: tok.manager! }, { scopes: ['read:users!group=physics'], users: ['bob'] });
    assert.equal(ok.status, 201, ok.text);
    const wider = await p.api('POST', '/hub/api/roles/wider', { token: tok.manager! }, { scopes: ['admin:users'] });
    assert.equal(wider.status, 403);
    assert.equal(wider.json().message, 'Not creating a role with admin:users: it exceeds your own permissions.');
    const selfAdmin = await p.api('PATCH', '/hub/api/roles/admin', { token: tok.manager! }, { users: ['manager'] });
    assert.equal(selfAdmin.status, 403);
    assert.equal(selfAdmin.json().message, 'Only an administrator can change who holds the admin role.');
    const viaUser = await p.api('PATCH', '/hub/api/users/manager', { token: tok.manager! }, { admin: true });
    assert.equal(viaUser.status, 403);
    const culler = await p.api('PATCH', '/hub/api/roles/idle-culler', { token: tok.manager! }, { users: ['manager'] });
    assert.equal(culler.status, 403, 'delete:servers is not the manager\'s to give');
    assert.equal((await p.api('GET', '/hub/api/user', { token: tok.manager! })).json().admin, false);
    const scopesChange = await p.api('PATCH', '/hub/api/roles/admin', { token: admin }, { scopes: ['read:users'] });
    assert.equal(scopesChange.status, 409);
    assert.equal((await p.api('DELETE', '/hub/api/roles/user', { token: admin })).status, 409);
    assert.equal((await p.api('DELETE', '/hub/api/roles/readers', { token: admin })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/roles/readers', { token: admin })).status, 404);
  });

  test('groups: created through the API, members hold the group\'s roles, and logins keep API memberships', async () => {
    const g = await p.api('POST', '/hub/api/groups/lab-42', { token: admin }, { users: ['bob'], properties: { room: '42' } });
    assert.equal(g.status, 201, g.text);
    assert.deepEqual(g.json().users, ['bob']);
    assert.equal(g.json().source, 'api');
    assert.equal((await p.api('POST', '/hub/api/roles/lab-access', { token: admin }, { scopes: ['access:servers!user=alice'], groups: ['lab-42'] })).status, 201);
    assert.equal((await p.api('POST', '/hub/api/users/alice/server', { token: tok.alice! }, {})).status, 201);
    assert.equal((await p.api('GET', '/user/alice/', { token: tok.bob! })).status, 200, 'bob through lab-42');
    await p.login('bob'); // the IdP says chemistry only; lab-42 is managed here and stays
    assert.deepEqual((await p.api('GET', '/hub/api/users/bob', { token: admin })).json().groups, ['chemistry', 'lab-42']);
    // Membership of an identity-provider group changed here lasts only until the next login.
    assert.equal((await p.api('POST', '/hub/api/groups/physics/users', { token: admin }, { users: ['bob'] })).status, 200);
    assert.deepEqual((await p.api('GET', '/hub/api/users/bob', { token: admin })).json().groups, ['chemistry', 'lab-42', 'physics']);
    await p.login('bob');
    assert.deepEqual((await p.api('GET', '/hub/api/users/bob', { token: admin })).json().groups, ['chemistry', 'lab-42']);
    const removed = await p.api('DELETE', '/hub/api/groups/lab-42/users', { token: admin }, { users: ['bob'] });
    assert.deepEqual(removed.json().users, []);
    // The proxy may reuse an "allowed" answer for up to 60 s; the hub's own answer changes at once.
    const decision = await http('POST', `${p.hub!.hub.hubUrl}/hub/api/proxy/authorize`, {
      headers: { authorization: `token ${p.hub!.hub.proxyToken}` }, body: { credential: { kind: 'token', value: tok.bob }, user: 'alice', server: '' },
    });
    assert.deepEqual(decision.json(), { authenticated: true, allowed: false, name: 'bob' });
    const list = (await p.api('GET', '/hub/api/groups', { token: admin })).json();
    assert.deepEqual(list.map((x: any) => [x.name, x.source, x.member_count]), [['chemistry', 'idp', 1], ['lab-42', 'api', 0], ['physics', 'idp', 1]]);
    assert.equal((await p.api('GET', '/hub/api/groups/lab-42', { token: tok.bob! })).status, 403, 'users hold no read:groups');
    assert.equal((await p.api('DELETE', '/hub/api/groups/lab-42', { token: admin })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/roles/lab-access', { token: admin })).json().groups.length, 0, 'assignments go with the group');
  });

  test('services get tokens with only their roles\' scopes: the culler stops servers, the monitor only reads', async () => {
    const services = (await p.api('GET', '/hub/api/services', { token: admin })).json();
    assert.deepEqual(Object.keys(services), ['culler', 'monitor']);
    assert.deepEqual(services.culler.roles, ['idle-culler']);
    const issued = await p.api('POST', '/hub/api/services/culler/tokens', { token: admin }, { note: 'cull' });
    assert.equal(issued.status, 201, issued.text);
    const culler = issued.json().token;
    const monitor = (await p.api('POST', '/hub/api/services/monitor/tokens', { token: admin }, {})).json().token;
    const me = (await p.api('GET', '/hub/api/user', { token: culler })).json();
    assert.equal(me.kind, 'service');
    assert.equal(me.name, 'culler');
    assert.deepEqual(me.scopes, ['delete:servers', 'list:users', 'read:servers', 'read:users:activity', 'read:users:name']);
    // What jupyterhub-idle-culler does: list ready users with activity, stop an idle server.
    const ready = await p.api('GET', '/hub/api/users?state=ready', { token: culler });
    assert.equal(ready.status, 200);
    assert.ok(ready.json().some((u: any) => u.name === 'alice' && u.servers[''].ready));
    assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', { token: culler })).status, 204);
    // ...and nothing else.
    assert.equal((await p.api('POST', '/hub/api/users/alice/server', { token: culler }, {})).status, 403);
    assert.equal((await p.api('GET', '/hub/api/users/alice/tokens', { token: culler })).status, 403);
    assert.equal((await p.api('POST', '/hub/api/users', { token: culler }, { usernames: ['x'] })).status, 403);
    assert.equal((await p.api('GET', '/user/bob/', { token: culler })).status, 403, 'no access:servers');
    assert.equal((await p.api('GET', '/hub/api/audit', { token: culler })).status, 403);
    // The monitor reads, never stops.
    assert.equal((await p.api('GET', '/hub/api/users', { token: monitor })).status, 200);
    assert.equal((await p.api('DELETE', '/hub/api/users/bob/server', { token: monitor })).status, 403);
    // A service token cannot be made wider than the service's roles.
    const wide = await p.api('POST', '/hub/api/services/monitor/tokens', { token: admin }, { scopes: ['delete:servers'] });
    assert.equal(wide.status, 403);
    const narrow = await p.api('POST', '/hub/api/services/monitor/tokens', { token: admin }, { scopes: ['list:users'] });
    assert.equal(narrow.status, 201);
    assert.equal((await p.api('GET', '/hub/api/users?state=ready', { token: narrow.json().token })).json()[0].servers, undefined, 'list only: no server models');
    assert.equal((await p.api('POST', '/hub/api/services/nope/tokens', { token: admin }, {})).status, 404);
    assert.equal((await p.api('POST', '/hub/api/services/culler/tokens', { token: tok.alice! }, {})).status, 403);
    // Revoked: refused at once.
    const tokens = (await p.api('GET', '/hub/api/services/culler/tokens', { token: admin })).json().api_tokens;
    assert.equal((await p.api('DELETE', `/hub/api/services/culler/tokens/${tokens[0].id}`, { token: admin })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/user', { token: culler })).status, 403);
    const audit = (await p.api('GET', '/hub/api/audit?actor=service:culler&action=server.stop', { token: admin })).json().items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_kind, 'service');
  });

  test('admins block users and grant admin with their own identity; every action is audited', async () => {
    const blocked = await p.api('PATCH', '/hub/api/users/bob', { token: admin }, { blocked: true });
    assert.equal(blocked.status, 200);
    assert.equal(blocked.json().blocked, true);
    assert.equal((await p.api('GET', '/hub/api/user', { token: tok.bob! })).status, 403, 'his tokens stop working');
    await assert.rejects(p.login('bob'), /login of bob failed/, 'and he cannot log in');
    assert.equal((await p.api('PATCH', '/hub/api/users/bob', { token: admin }, { blocked: false })).status, 200);
    assert.equal((await p.api('GET', '/hub/api/user', { token: tok.bob! })).status, 200);

    const granted = await p.api('PATCH', '/hub/api/users/alice', { token: admin }, { admin: true });
    assert.equal(granted.json().admin, true);
    assert.deepEqual(granted.json().roles, ['admin', 'user']);
    // alice is not in the admin group: her login recomputes the flag, the API's grant stays.
    await p.login('alice');
    assert.equal((await p.api('GET', '/hub/api/user', { token: tok.alice! })).json().admin, true);
    assert.deepEqual((await p.api('GET', '/hub/api/roles/admin', { token: admin })).json().users, ['admin', 'alice', 'teacher-lead']);
    assert.equal((await p.api('PATCH', '/hub/api/users/alice', { token: admin }, { admin: false })).status, 200);
    assert.equal((await p.api('GET', '/hub/api/user', { token: tok.alice! })).json().admin, false);
    // The admin group at login grants admin.
    await p.login('newcomer');
    assert.equal((await p.api('GET', '/hub/api/users/newcomer', { token: admin })).json().admin, true);

    const self = await p.api('PATCH', '/hub/api/users/admin', { token: admin }, { admin: false });
    assert.equal(self.status, 400);
    assert.equal(self.json().message, 'You cannot remove your own admin rights or block yourself.');

    const entries = (await p.api('GET', '/hub/api/audit?action=user.update&actor=admin', { token: admin })).json().items;
    assert.deepEqual(entries.map((e: any) => [e.target, e.detail.blocked ?? null, e.detail.admin ?? null]), [
      ['alice', null, false], ['alice', null, true], ['bob', false, null], ['bob', true, null],
    ]);
    for (const e of entries) {
      assert.equal(e.actor, 'admin');
      assert.equal(e.actor_kind, 'user');
      assert.equal(e.outcome, 'ok');
    }
  });

  test('the audit log is queryable: filters, newest first, pages, and denied requests', async () => {
    const denied = await p.api('GET', '/hub/api/users/alice/tokens', { token: tok.bob! });
    assert.equal(denied.status, 403);
    const deniedEntries = (await p.api('GET', '/hub/api/audit?action=request.denied&actor=bob', { token: admin })).json().items;
    assert.equal(deniedEntries[0].target, 'GET /hub/api/users/alice/tokens');
    assert.equal(deniedEntries[0].target_user, 'alice');
    assert.equal(deniedEntries[0].code, 'MISSING_SCOPE');
    const all = (await p.api('GET', '/hub/api/audit?limit=500', { token: admin })).json().items;
    assert.ok(all.length > 20, `${all.length} entries`);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].id > all[i].id, 'newest first');
    const first = (await p.api('GET', '/hub/api/audit?limit=5', { token: admin })).json();
    assert.equal(first.items.length, 5);
    const second = (await p.api('GET', `/hub/api/audit?limit=5&before=${first._pagination.next.before}`, { token: admin })).json();
    assert.deepEqual([...first.items, ...second.items].map((e: any) => e.id), all.slice(0, 10).map((e: any) => e.id));
    const servers = (await p.api('GET', '/hub/api/audit?action=server.&limit=500', { token: admin })).json().items;
    assert.ok(servers.length > 0 && servers.every((e: any) => e.action.startsWith('server.')));
    const logins = (await p.api('GET', '/hub/api/audit?action=login&user=bob', { token: admin })).json().items;
    assert.ok(logins.some((e: any) => e.outcome === 'ok') && logins.some((e: any) => e.outcome === 'denied'), 'his logins and the refused one while blocked');
    const minted = await p.api('POST', '/hub/api/users/alice/tokens', { token: tok.alice! }, { note: 'for the audit', scopes: ['read:users!user=alice'] });
    const issued = (await p.api('GET', '/hub/api/audit?action=token.issue', { token: admin })).json().items;
    assert.equal(issued[0].target, minted.json().id);
    assert.equal(issued[0].actor, 'alice');
    assert.deepEqual(issued[0].detail.scopes, ['read:users!user=alice']);
    assert.ok(issued.some((e: any) => e.actor === 'cli' && e.actor_kind === 'system' && e.target_user === 'teacher'), 'tokens from `highrate token issue` too');
    assert.equal(JSON.stringify(issued).includes(minted.json().token), false);
    assert.equal(JSON.stringify(issued).includes(tok.alice!), false, 'tokens are never in the log');
    const since = (await p.api('GET', `/hub/api/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: admin })).json().items;
    assert.deepEqual(since, []);
  });

  test('the admin portal\'s activity view lists running servers with owner, age, activity and resources', async () => {
    assert.equal((await p.api('POST', '/hub/api/users/bob/servers/analysis', { token: tok.bob! }, {})).status, 201);
    const act = (await p.api('GET', '/hub/api/admin/activity', { token: admin })).json();
    const row = act.servers.find((s: any) => s.user === 'bob' && s.name === 'analysis');
    assert.equal(row.state, 'running');
    assert.equal(row.cores, 1);
    assert.equal(row.memory_bytes, 1e9);
    assert.equal(row.stop_url, '/hub/api/users/bob/servers/analysis');
    assert.ok(row.started && row.last_activity);
    assert.equal((await http('DELETE', `${p.base}${row.stop_url}`, { headers: { authorization: `token ${admin}` } })).status, 204);
    assert.equal((await p.api('GET', '/hub/api/admin/activity', { token: tok.bob! })).status, 403);
  });
});
