import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

type Up = (argv: string[]) => Promise<number>;

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = resolve(here, '..', '..', '..');
const bundleDir = join(here, '..', 'up-bundle');

/**
 * The entry of the bundled `highrate up` (scripts/bundle-up.mjs, run by `npm run build`) when
 * it was built from the dist files as they are now; null when it is absent or any of its inputs
 * is newer (a `tsc` run after the bundle: the bundle would run yesterday's code).
 */
export function freshUpBundle(dir = bundleDir): string | null {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { entry: string; inputs: string[] };
    const entry = join(dir, manifest.entry);
    const built = statSync(entry).mtimeMs;
    for (const f of manifest.inputs) if (statSync(join(packageRoot, f)).mtimeMs > built) return null;
    return entry;
  } catch {
    return null;
  }
}

export type CodeCacheState = 'accepted' | 'rejected' | 'absent';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface CompiledBundle {
  exports: Record<string, unknown>;
  /** What V8 made of the code cache found beside the bundle. */
  cache: CodeCacheState;
  /** The cache file for this bundle's exact source (its name holds the source's SHA-256). */
  cacheFile: string;
  /**
   * Writes V8's code cache of everything compiled so far (write it once the hub has started:
   * the functions a start runs are then in it). Atomic (a temporary file renamed); other caches
   * of the bundle are removed. False when the directory is not writable (an installation owned
   * by another user): the bundle then runs without a cache, as before.
   */
  saveCache(): boolean;
}

/**
 * Runs the CommonJS bundle `entry` with V8's code cache (Node 20 has no compile cache for ES
 * modules; `vm.Script` takes cached data). A restarted hub then neither parses nor compiles the
 * bundle's ≈ 4 MB again (issue 14). V8 checks its own version and flags but only the source's
 * length, so the cache file is named by the source's SHA-256: a rebuilt bundle never meets an
 * old cache. An ASCII source (esbuild escapes non-ASCII in code; comments may keep it) is read
 * as latin1, straight into a one-byte string.
 */
export function loadCompiledBundle(entry: string): CompiledBundle {
  const source = readFileSync(entry);
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 32);
  const cacheFile = join(dirname(entry), `${basename(entry)}.${digest}.v8cache`);
  let cachedData: Buffer | undefined;
  try { cachedData = readFileSync(cacheFile); } catch { /* no cache yet */ }
  const text = source.toString(isAscii(source) ? 'latin1' : 'utf8');
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
  const script = new vm.Script(wrapper, {
    filename: entry,
    ...(cachedData ? { cachedData } : {}),
    // The bundle's own import() calls (none are left for bundled code) resolve as the main context's.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache: CodeCacheState = !cachedData ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const module = { exports: {} as Record<string, unknown> };
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  fn.call(module.exports, module.exports, createRequire(entry), module, entry, dirname(entry));
  return {
    exports: module.exports,
    cache,
    cacheFile,
    saveCache() {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
        renameSync(tmp, cacheFile);
      } catch {
        try { unlinkSync(tmp); } catch { /* never written */ }
        return false;
      }
      for (const f of readdirSync(dirname(entry))) {
        if (!f.startsWith(`${basename(entry)}.`) || join(dirname(entry), f) === cacheFile) continue;
        // Older sources' caches, and temporary files of writers that were killed mid-write.
        const writer = /\.(\d+)\.tmp$/.exec(f);
        if (f.endsWith('.v8cache') || (writer && !alive(Number(writer[1])))) {
          try { unlinkSync(join(dirname(entry), f)); } catch { /* another process's */ }
        }
      }
      return true;
    },
  };
}

/** How long after loading the bundle its code cache is written: the hub has started by then. */
const SAVE_CACHE_AFTER_MS = 5000;

/**
 * `highrate up` from the bundle when it is fresh (a restarted hub answers sooner: one file with a
 * code cache instead of ≈ 840 ES modules), else from dist/src. HIGHRATE_UP_BUNDLE=0 forces dist/src.
 * Without an accepted cache, one is written a few seconds after the start.
 */
export async function loadUp(dir = bundleDir, saveCacheAfterMs = SAVE_CACHE_AFTER_MS): Promise<Up> {
  const entry = process.env.HIGHRATE_UP_BUNDLE === '0' ? null : freshUpBundle(dir);
  if (!entry) return (await import('./up.js')).up;
  const bundle = loadCompiledBundle(entry);
  if (bundle.cache !== 'accepted') setTimeout(() => bundle.saveCache(), saveCacheAfterMs).unref();
  return bundle.exports.up as Up;
}
