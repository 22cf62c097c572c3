import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restrictedSecurity } from '../security.js';
import type { Container, Pod } from '../types.js';
import { Accounts, unreachable, type Account } from './accounts.js';
import { chooseJobUser, podIdentity, type JobUserInput } from './job-user.js';

const ALICE: Account = { name: 'alice', uid: 200555, gid: 200555, groups: [200555, 5000] };
const accounts = new Accounts(async (uid) => (uid === ALICE.uid ? ALICE : uid === 65534 ? { name: 'nobody', uid: 65534, gid: 65534, groups: [65534] } : null));

function pod(sec: ReturnType<typeof restrictedSecurity> | null, more: Partial<Container>[] = [{}], volumes: Pod['spec']['volumes'] = []): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: '00000000-0000-4000-8000-000000000001' },
    spec: {
      ...(sec ? { securityContext: sec.pod } : {}),
      volumes,
      containers: more.map((m, i) => ({ name: `c${i}`, command: ['true'], ...(sec ? { securityContext: sec.container } : {}), ...m }) as Container),
    },
  };
}

describe('podIdentity: the job runs as the containers\' user, resolved as the sandbox resolves it', () => {
  test('the restricted profile: its uid and gid; fsGroup equal to the gid adds no group', () => {
    assert.deepEqual(podIdentity(pod(restrictedSecurity({ uid: 200555, gid: 200555 }))), { who: { uid: 200555, gid: 200555, groups: [] }, groups: [] });
  });
  test('no securityContext: nobody, as a switching sandbox defaults it; a container\'s runAsUser wins over the pod\'s', () => {
    assert.deepEqual(podIdentity(pod(null)), { who: { uid: 65534, gid: 65534, groups: [] }, groups: [] });
    const p = pod(restrictedSecurity({ uid: 200555, gid: 200555, groups: [5000] }), [{}, { securityContext: { runAsUser: 1001 } } as Partial<Container>]);
    assert.deepEqual(podIdentity(p), { why: 'its containers run as different users (c0: 200555:200555, c1: 1001:200555), and a job runs as one' });
  });
});

describe('chooseJobUser', () => {
  const root = mkdtempSync(join(tmpdir(), 'highrate-job-user-'));
  const open = join(root, 'open');
  const closed = join(root, 'closed');
  mkdirSync(join(open, 'jobs'), { recursive: true });
  mkdirSync(join(closed, 'jobs'), { recursive: true });
  chmodSync(root, 0o711);
  chmodSync(open, 0o711);
  chmodSync(join(open, 'jobs'), 0o711);
  chmodSync(closed, 0o700);
  const input = (over: Partial<JobUserInput>): JobUserInput => ({
    mode: 'user', option: 'slurm.runJobsAs', executor: 'Executor "hpc"', pod: pod(restrictedSecurity({ uid: 200555, gid: 200555 })),
    accounts, jobRoot: join(open, 'jobs'), ...over,
  });
  const after = () => rmSync(root, { recursive: true, force: true });

  test('a user with an account: the job is theirs, with the account\'s groups', async () => {
    assert.deepEqual(await chooseJobUser(input({})), { user: { name: 'alice', uid: 200555, gid: 200555, groups: [200555, 5000] } });
    // Asking for a group of the account is fine; the job's group is the pod's.
    const p = pod(restrictedSecurity({ uid: 200555, gid: 5000, groups: [200555] }));
    assert.deepEqual(await chooseJobUser(input({ pod: p })), { user: { name: 'alice', uid: 200555, gid: 5000, groups: [200555, 5000] } });
  });

  test('a uid without an account: refused in user mode naming both fixes; auto falls back to the executor\'s account', async () => {
    const p = pod(restrictedSecurity({ uid: 200777, gid: 200777 }));
    await assert.rejects(chooseJobUser(input({ pod: p })), {
      code: 'POD_SECURITY_UNENFORCEABLE',
      message: 'Executor "hpc" runs each job as its pod\'s user (slurm.runJobsAs: user), but uid 200777 has no account on this host (getent passwd 200777 finds none): '
        + 'Slurm and HTCondor run jobs only for users they can resolve. Give the platform\'s users accounts known to the batch system (pods.identity: accounts, '
        + 'with the same accounts on the controller and the nodes), or set slurm.runJobsAs: executor (jobs run as highrate\'s own account; the sandbox still runs each container as the pod\'s user).',
    });
    assert.deepEqual(await chooseJobUser(input({ mode: 'auto', pod: p })), { executor: 'uid 200777 has no account on this host (getent passwd 200777 finds none): Slurm and HTCondor run jobs only for users they can resolve' });
    assert.deepEqual(await chooseJobUser(input({ mode: 'executor', pod: p })), { executor: null });
  });

  test('groups the account does not have, and HTCondor\'s primary group only', async () => {
    const other = pod(restrictedSecurity({ uid: 200555, gid: 200555, groups: [6000] }));
    await assert.rejects(chooseJobUser(input({ pod: other })), { code: 'POD_SECURITY_UNENFORCEABLE', message: /asks? for group 6000, which account alice is not in .*Add alice to it, or set slurm\.runJobsAs: executor/ });
    const secondary = pod(restrictedSecurity({ uid: 200555, gid: 5000 }));
    await assert.rejects(chooseJobUser(input({ pod: secondary, primaryGroupOnly: true, option: 'htcondor.runJobsAs' })), {
      code: 'POD_SECURITY_UNENFORCEABLE', message: /its group 5000 is not the primary group of account alice \(200555\).*Run the pod with runAsGroup 200555, or set htcondor\.runJobsAs: executor/,
    });
  });

  test('a job directory or hostPath the user cannot reach', async () => {
    await assert.rejects(chooseJobUser(input({ jobRoot: join(closed, 'jobs') })), {
      code: 'POD_SECURITY_UNENFORCEABLE', message: new RegExp(`its job directory cannot be reached: ${closed} \\(mode 0700, owner 0:0\\) is not searchable by uid 200555\\. Make jobRoot`),
    });
    const home = pod(restrictedSecurity({ uid: 200555, gid: 200555 }), [{}], [{ name: 'home', hostPath: { path: join(closed, 'homes', 'alice') } }]);
    assert.deepEqual(await chooseJobUser(input({ mode: 'auto', pod: home })), { executor: `its hostPath volume "home" (${join(closed, 'homes', 'alice')}) cannot be reached: ${closed} (mode 0700, owner 0:0) is not searchable by uid 200555` });
    after();
  });

  test('unreachable: owner, group and other bits; missing paths are not judged', () => {
    const who = { uid: 200555, groups: [5000] };
    assert.equal(unreachable('/nonexistent/x/y', who), null);
    assert.equal(unreachable('/usr/bin/env', who), null);
    assert.match(unreachable('/root/x', who) ?? '', /^\/root \(mode 07\d0, owner 0:0\) is not searchable by uid 200555$/);
  });
});
