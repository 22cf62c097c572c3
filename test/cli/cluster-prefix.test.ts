import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CLI, Platform } from '../helpers/platform.js';
import { closeWithClusters, model } from '../clusters/helpers.js';

/** `highrate cluster` with the short names a table shows: a real platform, real Dask scheduler. */
describe('highrate cluster with a prefix of the name', () => {
  let p: Platform;
  let alice: string;
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, 'cluster', ...args, '--url', p.base, '--token', alice], { timeout: 90_000 })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }));

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
    alice = await p.token('alice');
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('show, scale and stop take the 12 characters the portal used to show', async () => {
    const created = await run('create', '--wait');
    assert.equal(created.code, 0, created.stderr);
    const name = created.stdout.trim().split('\n').pop()!;
    assert.match(name, /^[0-9a-f]{32}$/);
    assert.ok(created.stderr.includes(`Dashboard: ${p.base}/clusters/${name}/status\n`), created.stderr);
    const short = name.slice(0, 12);

    const shown = await run('show', short);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(JSON.parse(shown.stdout).name, name);

    assert.deepEqual(await run('scale', short, '0'), { code: 0, stdout: 'Scaling to 0 workers.\n', stderr: '' });
    assert.deepEqual(await run('adapt', name.slice(0, 4), '--min', '0', '--max', '1'), { code: 0, stdout: 'Adaptive between 0 and 1 workers.\n', stderr: '' });
    assert.deepEqual((await model(p, alice, name)).adaptive, { minimum: 0, maximum: 1 });

    assert.deepEqual(await run('scale', name.slice(0, 3), '1'), {
      code: 1, stdout: '', stderr: `highrate cluster: The cluster name ${name.slice(0, 3)} is too short: give the full name or at least 4 characters of it.\n`,
    });
    const other = name.startsWith('ffff') ? '0000' : 'ffff';
    assert.deepEqual(await run('scale', `${other}0000`, '1'), {
      code: 1, stdout: '', stderr: `highrate cluster: No cluster named ${other}0000 or starting with it (\`highrate cluster list --all\` lists them).\n`,
    });

    assert.deepEqual(await run('stop', short), { code: 0, stdout: `Stopped ${name}.\n`, stderr: '' });
    assert.equal((await model(p, alice, name)).status, 'STOPPED');
  });
});
