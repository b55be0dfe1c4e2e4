import { defineConfig } from 'tsup';

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
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
  },
]);
