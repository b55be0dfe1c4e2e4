import { defineConfig } from 'tsup';
import { WEB_ASSET_LOADERS, WEB_ENTRIES } from './src/web/build.js';

export default defineConfig([
  {
    // The library: `index` is the isomorphic build (any runtime), `browser` adds Web Audio decoding and GPU
    // backends first, `node` adds file paths, ffmpeg and tfjs-node.
    entry: { index: 'src/index.ts', browser: 'src/browser.ts', node: 'src/node.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    shims: true,
    // csv-stringify's isomorphic build (results/csv.ts) is ESM only: bundled, the CommonJS build needs no require(esm).
    noExternal: ['csv-stringify'],
  },
  {
    // The CLI, and the script of `serve`'s inference thread, which the CLI finds beside itself (src/cli/serve.ts).
    entry: { cli: 'src/cli/main.ts', 'inference-worker': 'src/cli/inference-worker.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
  },
  {
    // The web page's script for `emotion2vec serve` (dist/web/app.js, app.css, the page model's worker
    // model-worker.js and the shared and codec chunks): everything bundled, nothing loaded from a CDN. Same options
    // as src/web/build.ts, which tests and clones use.
    entry: { ...WEB_ENTRIES },
    outDir: 'dist/web',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    splitting: true,
    minify: true,
    // Everything bundled but the APE decoder that audio-decode names and npm does not publish.
    noExternal: [/^(?!@audio\/decode-ape$)/],
    external: ['@audio/decode-ape'],
    // The example recording and the Chinese font subset, copied beside the script.
    loader: { ...WEB_ASSET_LOADERS },
  },
]);
