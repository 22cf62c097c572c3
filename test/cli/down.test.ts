/**
 * `highrate down` against a real `highrate up` process: it stops the Dask clusters, the notebook
 * servers, the proxy and the hub (or, with --keep-servers, leaves servers running for the next
 * `highrate up`), waits for the hub to exit, and leaves no token behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { freePort, gw, stopAllClusters, waitRunning } from '../clusters/helpers.js';
import { tinyServerCommand } from '../fixtures/tiny-server.js';
import { CLI, Platform } from '../helpers/platform.js';
import { pidAlive as alive } from '../helpers/processes.js';

/** Runs the CLI to its end (asynchronously: the hub under test shares nothing with it). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function exitCode(p: Platform): Promise<number | null> {
  const child = p.child!;
  return child.exitCode ?? await new Promise<number | null>((resolve) => child.once('exit', resolve));
}


async function waitGone(pid: number, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

describe('highrate down', () => {
  const platforms: Platform[] = [];
  after(async () => {
    for (const p of platforms) await p.close();
  });

  /** A platform as its own process; hub port `0`: any free one (down then finds the hub through the proxy's record). */
  const start = async (opts: { daskPort?: number; hubPort?: number } = {}) => {
    const hubPort = opts.hubPort ?? await freePort();
    const daskPort = opts.daskPort;
    const p = await Platform.start({
      process: true,
      users: [{ name: 'alice' }],
      config: {
        hub: { hubPort },
        clusters: daskPort ? { daskPort, idleTimeout: 0 } : { enabled: false },
        profiles: [{ name: 'tiny', default: true, command: tinyServerCommand() }],
      },
    });
    platforms.push(p);
    return { p, hubPort };
  };

  test('--help says what it stops and what stays; bad usage is refused before anything is asked', async () => {
    const help = await run(['down', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: highrate down \[options\]\n\nStops the platform `highrate up` started from this data directory: every Dask cluster, every\nnotebook server, then the proxy, the embedded storage element and the hub\./);
    assert.match(help.stdout, /^  --keep-servers {5}leave notebook servers and Dask clusters running/m);
    const extra = await run(['down', 'now']);
    assert.equal(extra.status, 2);
    assert.match(extra.stdout, /^Usage: highrate down/);
    const timeout = await run(['down', '--timeout', '0']);
    assert.equal(timeout.status, 1);
    assert.equal(timeout.stderr, 'highrate down: --timeout must be a positive number of seconds.\n');
  });

  test('with nothing running: exit 1, saying where it looked and what to do', async () => {
    const { p, hubPort } = await start();
    await p.killHub();
    const r = await run(['down', '--data-dir', p.dataDir, '--config', p.configFile]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, `highrate down: No hub answers at http://127.0.0.1:${hubPort} (hub.hubPort of ${p.dataDir}), so there is nothing to ask. If a proxy or servers were left running, \`highrate up\` finds them again; then run \`highrate down\`.\n`);
    assert.equal(r.stdout, '');
  });

  test('stops a Dask cluster, a server, the proxy and the hub (on any hub port); the token it used is gone', async () => {
    const { p } = await start({ daskPort: await freePort(), hubPort: 0 });
    const alice = await p.token('alice');
    await p.startServer('alice', alice, {});
    const cluster = (await gw(p, 'POST', '/api/v1/clusters/', alice, { cluster_options: {} })).json().name as string;
    try {
      assert.equal((await waitRunning(p, alice, cluster)).status, 'RUNNING');
      const store = await p.openStore();
      const row = (await store.getServer('alice', ''))!;
      await store.close();
      const pod = p.podPid(row);
      const proxy = p.proxyPid();
      assert.ok(alive(pod) && alive(proxy));

      const r = await run(['down', '--data-dir', p.dataDir, '--config', p.configFile]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.deepEqual(lines.slice(0, 2), ['Stopping 1 Dask cluster(s)…', 'Stopping the notebook servers, the proxy, the storage element and the hub…']);
      assert.match(lines[2]!, /^Stopped in \d+\.\d s\.$/);
      assert.equal(lines.length, 3);
      assert.equal(await exitCode(p), 0, p.output);
      assert.equal(await waitGone(proxy), true, 'the proxy was stopped');
      assert.equal(await waitGone(pod), true, 'the server\'s process was stopped');

      const after = await p.openStore();
      try {
        assert.equal((await after.getServer('alice', ''))?.state, 'stopped');
        assert.equal((await after.getCluster(cluster))?.status, 'STOPPED');
        for (const user of ['admin', 'alice']) {
          assert.deepEqual((await after.listTokens(user)).filter((t) => t.note.includes('highrate down')), [], 'the token down issued is deleted');
        }
      } finally {
        await after.close();
      }
    } finally {
      if (p.child?.exitCode === null) await stopAllClusters(p, await p.token('admin'));
    }
  });

  test('--keep-servers: the server keeps running, the proxy and the hub stop; the next `highrate up` finds the server', async () => {
    const { p } = await start();
    const alice = await p.token('alice');
    await p.startServer('alice', alice, {});
    const store = await p.openStore();
    const row = (await store.getServer('alice', ''))!;
    await store.close();
    const pod = p.podPid(row);
    const proxy = p.proxyPid();

    const r = await run(['down', '--keep-servers', '--data-dir', p.dataDir, '--config', p.configFile]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.split('\n')[0], 'Stopping the proxy, the storage element and the hub; notebook servers and Dask clusters keep running…');
    assert.equal(await exitCode(p), 0, p.output);
    assert.equal(await waitGone(proxy), true, 'the proxy was stopped');
    assert.equal(alive(pod), true, 'the server is still running');

    // A fixed hub port: the new hub takes over where the old one was (the proxy is started anew).
    await p.startProcess();
    const model = (await p.api('GET', '/hub/api/users/alice', { token: alice })).json();
    assert.equal(model.servers['']?.ready, true, JSON.stringify(model));
    const reply = await p.api('GET', '/user/alice/', { token: alice });
    assert.equal(reply.status, 200, reply.text);
  });
});
