/**
 * Bundles the page's script (src/web/app.ts), its stylesheet and its model worker (src/web/model-worker.ts: the
 * library's browser entry, tfjs WebGPU/WebGL/wasm backends and the audio decoders) for the browser. `npm run build`
 * does it through tsup (dist/web/); tests and `serve` run from a clone (no dist/) call {@link buildWebApp}, which
 * needs the esbuild dev dependency.
 */
import { fileURLToPath } from 'node:url';

/**
 * Files the page ships beside its script: the example recording and the Chinese font subset, copied into the bundle's
 * folder under hashed names (the script and the stylesheet get their paths). tsup.config.ts uses them too.
 */
export const WEB_ASSET_LOADERS = { '.ogg': 'file', '.woff2': 'file' } as const;

/**
 * The page's entry points: its script, and the module worker its in-page model runs in (app.js creates it by its
 * URL beside itself, model-worker.js: esbuild does not follow `new Worker(new URL(...))`). tsup.config.ts uses them too.
 */
export const WEB_ENTRIES = {
  app: fileURLToPath(new URL('./app.ts', import.meta.url)),
  'model-worker': fileURLToPath(new URL('./model-worker.ts', import.meta.url)),
} as const;

/** Writes app.js, model-worker.js, app.css, the shared and codec chunks and the page's files into `outdir`. */
export async function buildWebApp(outdir: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: WEB_ENTRIES,
    bundle: true,
    format: 'esm',
    // audio-decode loads each codec with import(): one chunk per codec, fetched when needed; the page and its worker
    // share the library's chunks.
    splitting: true,
    platform: 'browser',
    target: 'es2022',
    outdir,
    minify: true,
    // audio-decode names an APE decoder that is not published; bundlers must leave that import alone.
    external: ['@audio/decode-ape'],
    loader: WEB_ASSET_LOADERS,
    logLevel: 'error',
  });
}
