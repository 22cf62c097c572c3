import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const uiRoot = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/ui', import.meta.url));

/**
 * Builds the portal into dist/ui/. The hub serves dist/ui/index.html for every portal page
 * and the hashed assets under /hub/static/, hence `base`.
 */
export default defineConfig({
  root: uiRoot,
  base: '/hub/static/',
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    // The hub's CSP has no 'unsafe-inline' and fonts/scripts must come from 'self':
    // never turn an asset into a data: URI, keep every style in a bundled .css file.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    // Every browser the portal targets supports <link rel="modulepreload">; skipping the
    // polyfill keeps the entry chunk free of code that is never needed.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
