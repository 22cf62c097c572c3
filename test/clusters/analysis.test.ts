import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execute, openChannels, startKernel } from '../helpers/kernel.js';
import { Platform, ROOT } from '../helpers/platform.js';
import { closeWithClusters, daskProcesses, gw } from './helpers.js';

const NOTEBOOK = join(ROOT, 'examples', 'agc-histograms.ipynb');

/** The code cells of a notebook, in order. */
function codeCells(path: string): string[] {
  const nb = JSON.parse(readFileSync(path, 'utf8'));
  return nb.cells.filter((c: any) => c.cell_type === 'code').map((c: any) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

/**
 * After the notebook: the same analysis in the kernel's own process, plain numpy over the same
 * chunks, beside the histogram the notebook saved from the Dask cluster. Prints one JSON line.
 */
const LOCAL_CELL = [
  'import json',
  'local_start = time.perf_counter()',
  'local = sum(process(DATA, a, b) for a, b in chunks)',
  'local_seconds = time.perf_counter() - local_start',
  'saved = np.load(os.path.expanduser("~/agc-data/mass-histogram.npy"))',
  'print(json.dumps({"cluster": cluster.name, "dask": saved.tolist(), "local": local.tolist(), "dtype": str(saved.dtype),',
  '  "dask_seconds": dask_seconds, "local_seconds": local_seconds, "chunks": len(chunks),',
  '  "png": os.path.getsize(os.path.expanduser("~/agc-data/mass-histogram.png"))}))',
].join('\n');

/**
 * examples/agc-histograms.ipynb top to bottom in a real kernel of a real notebook server, on a
 * 2-worker cluster it creates with `dask_gateway.Gateway()`: its histogram equals the same
 * computation done in one process, and its cluster is gone at the end.
 */
describe('the example analysis notebook', () => {
  let p: Platform;

  before(async () => {
    p = await Platform.start({ config: { clusters: { daskPort: 0, idleTimeout: 0 } }, users: [{ name: 'alice' }] });
  });
  after(async () => {
    await closeWithClusters(p);
  });

  test('runs on 2 workers and fills the same histogram as plain numpy', async () => {
    const token = await p.token('alice');
    const auth = { authorization: `token ${token}` };
    await p.startServer('alice', token);

    const kernel = await startKernel(p.base, '/user/alice/', auth);
    const ws = await openChannels(p.base, '/user/alice/', kernel, auth);
    try {
      const printed: string[] = [];
      for (const cell of codeCells(NOTEBOOK)) printed.push(await execute(ws, cell, 120_000));
      assert.match(printed.join(''), /events selected from 2,000,000 in [\d.]+ s on 2 workers/);
      const out = JSON.parse((await execute(ws, LOCAL_CELL, 120_000)).trim());
      assert.equal(out.chunks, 10);
      assert.equal(out.dtype, 'int64');
      assert.equal(out.dask.length, 150);
      assert.deepEqual(out.dask, out.local);
      const selected = out.dask.reduce((a: number, b: number) => a + b, 0);
      assert.ok(selected > 100_000 && selected < 2_000_000, `selected ${selected}`);
      assert.ok(out.png > 10_000, `the plot is ${out.png} bytes`);

      // The notebook's last cell shut its cluster down.
      assert.equal((await gw(p, 'GET', `/api/v1/clusters/${out.cluster}`, token)).json().status, 'STOPPED');
      assert.deepEqual(daskProcesses(out.cluster), []);
    } finally {
      ws.close();
    }
    assert.equal((await p.api('DELETE', '/hub/api/users/alice/server', { token })).status, 204);
  });
});
