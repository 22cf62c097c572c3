#!/usr/bin/env node
/**
 * Bundles `highrate up` (dist/src/cli/up.js, tsc's output) into one CommonJS file,
 * dist/src/up-bundle/up.cjs (part of `npm run build`). Why: a restarted hub spent most of its
 * start in Node 20's ES module loader (≈ 840 modules: resolution, file reads, one compile each),
 * and only a script (not an ES module) can use V8's code cache on Node 20: src/cli/up-bundle.ts
 * runs the file through vm.Script with the cache it writes beside it (docs/benchmarks.md). The
 * bundle sits at the same depth as dist/src/<dir>/, so the import.meta.url-relative paths
 * (package.json, the proxy's main.js, src/*\/python) still hold. The Kubernetes client stays
 * outside (required only when configured). inputs.json lists the dist files it was built from:
 * src/cli/up-bundle.ts uses the bundle only while none of them is newer (a later `tsc` alone
 * makes it stale, and `highrate up` then loads dist/src).
 */
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

// --outdir: another directory beside dist/src/up-bundle (the test bundles into its own).
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'dist/src/up-bundle';
if (!/^dist\/src\/[\w.-]+$/.test(outdir)) throw new Error(`--outdir must be dist/src/<name> (the bundle's paths are relative to that depth): ${outdir}`);
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: ['dist/src/cli/up.js'],
  outfile: `${outdir}/up.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  // Native or optional modules, and the Kubernetes client (0.6 s, required only when configured).
  external: ['better-sqlite3', 'pg-native', '@kubernetes/client-node'],
  // The ES modules' import.meta.url: the bundle's own URL (it sits at dist/src/<dir>/ as they did).
  define: { 'import.meta.url': '__highrateImportMetaUrl' },
  banner: { js: "var __highrateImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
const inputs = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('dist/')).sort();
writeFileSync(`${outdir}/inputs.json`, JSON.stringify({ entry: 'up.cjs', inputs }, null, 1) + '\n');
process.stdout.write(`bundled highrate up: ${outdir}/up.cjs from ${Object.keys(result.metafile.inputs).length} modules\n`);
