import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/platform.js';
import type { ServerState } from '../fixtures/rucio-server/model.js';

export const RUCIO_MAIN = join(ROOT, 'dist', 'test', 'fixtures', 'rucio-server', 'main.js');

/** A Rucio test server as its own process, with its state file in a temp dir. */
export interface RucioProcess {
  url: string;
  child: ChildProcess;
  dir: string;
  stateFile: string;
  /** With `storage: true`: where files arriving at the facility RSE are written (`--storage-dir`). */
  storageDir?: string;
  stop(): Promise<void>;
}

/**
 * Starts `main.js` on a free port and waits for its `{"url": …}` line. `state` (optional) is
 * written as the state file first; `args` are extra flags. `stop()` kills it by PID and removes the dir.
 */
export async function startRucioProcess(opts: { args?: string[]; state?: ServerState; storage?: boolean } = {}): Promise<RucioProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'highrate-rucio-'));
  const stateFile = join(dir, 'state.json');
  if (opts.state) writeFileSync(stateFile, JSON.stringify(opts.state));
  const storageDir = opts.storage ? join(dir, 'storage') : undefined;
  const child = spawn(process.execPath, [RUCIO_MAIN, '--port', '0', '--state', stateFile, ...(storageDir ? ['--storage-dir', storageDir] : []), ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rucio test server did not start: ${err}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        clearTimeout(timer);
        try { resolve((JSON.parse(line!) as { url: string }).url); } catch (e) { reject(e); }
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`rucio test server exited ${code}: ${err}`)); });
  });
  return {
    url, child, dir, stateFile, storageDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
