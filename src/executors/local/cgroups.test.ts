import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupOomKills, cgroupProcsFiles, detectCgroups, parseMountinfo, parseProcCgroup, readCgroupLimits, removePodCgroup } from './cgroups.js';
import { parseProcStat } from './procfs.js';

const root = mkdtempSync(join(tmpdir(), 'highrate-cgroups-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Real lines: a hybrid host (v1 cpu and memory, empty unified tree) and a pure v2 host.
const HYBRID = [
  '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory',
  '37 30 0:33 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids',
].join('\n');
const HYBRID_SELF = '12:pids:/user.slice\n4:memory:/user.slice/session-1.scope\n3:cpu,cpuacct:/user.slice\n0::/user.slice/session-1.scope\n';
const V2 = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

describe('parsing', () => {
  test('mountinfo: mount point (unescaped), type, super options', () => {
    const m = parseMountinfo(HYBRID);
    assert.deepEqual(m.map((x) => [x.mountPoint, x.fsType]), [
      ['/sys/fs/cgroup', 'tmpfs'], ['/sys/fs/cgroup/unified', 'cgroup2'], ['/sys/fs/cgroup/cpu,cpuacct', 'cgroup'],
      ['/sys/fs/cgroup/memory', 'cgroup'], ['/sys/fs/cgroup/my pids', 'cgroup'],
    ]);
    assert.deepEqual(m[2]!.superOptions, ['rw', 'cpu', 'cpuacct']);
  });

  test('/proc/self/cgroup: v1 controllers and the v2 path', () => {
    const c = parseProcCgroup(HYBRID_SELF);
    assert.equal(c.v1.get('cpu'), '/user.slice');
    assert.equal(c.v1.get('cpuacct'), '/user.slice');
    assert.equal(c.v1.get('memory'), '/user.slice/session-1.scope');
    assert.equal(c.v2, '/user.slice/session-1.scope');
    assert.deepEqual(parseProcCgroup('0::/\n'), { v1: new Map(), v2: '/' });
  });

  test('/proc/<pid>/stat with a command name holding spaces and parentheses', () => {
    const line = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615';
    assert.deepEqual(parseProcStat(line), { state: 'S', ppid: 1, pgrp: 4242, startTime: '987654' });
    assert.equal(parseProcStat('garbage'), null);
  });
});

describe('drivers on a fake cgroup file system', () => {
  test('v1: one directory per controller under the own cgroup, CFS quota and memory (+swap) limits', () => {
    const fs = join(root, 'v1');
    mkdirSync(join(fs, 'sys/fs/cgroup/cpu,cpuacct/user.slice'), { recursive: true });
    mkdirSync(join(fs, 'sys/fs/cgroup/memory/user.slice/session-1.scope'), { recursive: true });
    const d = detectCgroups({ name: 'local', mountinfo: HYBRID, selfCgroup: HYBRID_SELF, fsRoot: fs })!;
    assert.equal(d.version, 1);
    assert.equal(d.cpu && d.memory, true);
    const cg = d.create('pod-1', { cpuCores: 1.5, memoryBytes: 512 * 2 ** 20 });
    const cpuDir = join(fs, 'sys/fs/cgroup/cpu,cpuacct/user.slice/highrate-local/pod-1');
    const memDir = join(fs, 'sys/fs/cgroup/memory/user.slice/session-1.scope/highrate-local/pod-1');
    // the view: each directory at its hierarchy's mount point, as the sandbox shows it
    assert.deepEqual(cg, { version: 1, cpu: cpuDir, memory: memDir, view: [[cpuDir, '/sys/fs/cgroup/cpu,cpuacct'], [memDir, '/sys/fs/cgroup/memory']] });
    assert.equal(readFileSync(join(cg.cpu!, 'cpu.cfs_quota_us'), 'utf8'), '150000');
    assert.equal(readFileSync(join(cg.cpu!, 'cpu.cfs_period_us'), 'utf8'), '100000');
    assert.equal(readFileSync(join(cg.memory!, 'memory.limit_in_bytes'), 'utf8'), String(512 * 2 ** 20));
    assert.deepEqual(readCgroupLimits(cg), { cpuCores: 1.5, memoryBytes: 512 * 2 ** 20 });
    assert.deepEqual(cgroupProcsFiles(cg), [join(cg.cpu!, 'cgroup.procs'), join(cg.memory!, 'cgroup.procs')]);
    writeFileSync(join(cg.memory!, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    assert.equal(cgroupOomKills(cg), 2);
    // only the controllers with a limit get a directory
    const mem2 = join(fs, 'sys/fs/cgroup/memory/user.slice/session-1.scope/highrate-local/pod-2');
    assert.deepEqual(d.create('pod-2', { memoryBytes: 1000 }), { version: 1, memory: mem2, view: [[mem2, '/sys/fs/cgroup/memory']] });
    // the process limit goes to the pids hierarchy (its mount point with a space, unescaped)
    mkdirSync(join(fs, 'sys/fs/cgroup/my pids/user.slice'), { recursive: true });
    const withPids = detectCgroups({ name: 'local', mountinfo: HYBRID, selfCgroup: HYBRID_SELF, fsRoot: fs })!;
    assert.equal(withPids.pids, true);
    const pg = withPids.create('pod-4', {}, 4096);
    assert.equal(pg.pids, join(fs, 'sys/fs/cgroup/my pids/user.slice/highrate-local/pod-4'));
    assert.equal(readFileSync(join(pg.pids!, 'pids.max'), 'utf8'), '4096');
    assert.deepEqual(readCgroupLimits(pg), { pids: 4096 });
    // a configured parent replaces the own cgroup
    const p = detectCgroups({ name: 'x', parent: '/facility', mountinfo: HYBRID, selfCgroup: HYBRID_SELF, fsRoot: fs })!;
    assert.equal(p.create('pod-3', { cpuCores: 2 }).cpu, join(fs, 'sys/fs/cgroup/cpu,cpuacct/facility/highrate-x/pod-3'));
  });

  test('v2: one directory, controllers enabled for the children, cpu.max and memory.max', () => {
    const fs = join(root, 'v2');
    const top = join(fs, 'sys/fs/cgroup');
    mkdirSync(join(top, 'hub.service'), { recursive: true });
    writeFileSync(join(top, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(join(top, 'hub.service/cgroup.subtree_control'), '');
    const d = detectCgroups({ name: 'local', mountinfo: V2, selfCgroup: '0::/hub.service\n', fsRoot: fs })!;
    assert.equal(d.version, 2);
    assert.equal(readFileSync(join(top, 'hub.service/cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    writeFileSync(join(top, 'hub.service/cgroup.subtree_control'), 'cpu memory pids');
    mkdirSync(join(top, 'hub.service/highrate-local'));
    writeFileSync(join(top, 'hub.service/highrate-local/cgroup.subtree_control'), '');
    const cg = d.create('pod-1', { cpuCores: 0.5, memoryBytes: 2 ** 30 }, 100);
    const dir = join(top, 'hub.service/highrate-local/pod-1');
    assert.deepEqual(cg, { version: 2, cpu: dir, memory: dir, pids: dir, view: [[dir, '/sys/fs/cgroup']] });
    assert.equal(readFileSync(join(top, 'hub.service/highrate-local/cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8'), '100');
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '50000 100000');
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), String(2 ** 30));
    assert.deepEqual(readCgroupLimits(cg), { cpuCores: 0.5, memoryBytes: 2 ** 30, pids: 100 });
    assert.deepEqual(cgroupProcsFiles(cg), [join(dir, 'cgroup.procs')]);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    assert.equal(cgroupOomKills(cg), 1);
    assert.deepEqual(d.create('pod-2', {}), { version: 2 });
  });

  test('unavailable: no controllers, or nothing writable', () => {
    const fs = join(root, 'none');
    mkdirSync(join(fs, 'sys/fs/cgroup'), { recursive: true });
    writeFileSync(join(fs, 'sys/fs/cgroup/cgroup.controllers'), 'io rdma\n');
    assert.equal(detectCgroups({ name: 'l', mountinfo: V2, selfCgroup: '0::/\n', fsRoot: fs }), null);
    assert.equal(detectCgroups({ name: 'l', mountinfo: '', selfCgroup: '', fsRoot: fs }), null);
  });

  test('removal takes the pod directory and the emptied executor directory', () => {
    const fs = join(root, 'rm');
    mkdirSync(join(fs, 'sys/fs/cgroup/memory/user.slice/session-1.scope'), { recursive: true });
    const d = detectCgroups({ name: 'local', mountinfo: HYBRID, selfCgroup: HYBRID_SELF, fsRoot: fs })!;
    const cg = d.create('pod-1', { cpuCores: 1 });
    // real cgroup directories can be removed with their control files in them; plain ones cannot
    rmSync(join(cg.cpu!, 'cpu.cfs_quota_us'));
    rmSync(join(cg.cpu!, 'cpu.cfs_period_us'));
    assert.equal(removePodCgroup(cg), true);
    assert.equal(existsSync(cg.cpu!), false);
    assert.equal(existsSync(join(cg.cpu!, '..')), false);
    assert.equal(removePodCgroup(cg), true); // already gone
  });
});
