import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

/**
 * `highrate up` from the bundle when it is fresh (a restarted hub answers sooner: one file instead
 * of ≈ 840 ES modules), else from dist/src. HIGHRATE_UP_BUNDLE=0 forces dist/src.
 */
export async function loadUp(): Promise<Up> {
  const entry = process.env.HIGHRATE_UP_BUNDLE === '0' ? null : freshUpBundle();
  if (entry) return ((await import(pathToFileURL(entry).href)) as { up: Up }).up;
  return (await import('./up.js')).up;
}
