/**
 * Bundles the page's script (src/web/app.ts with the library's browser entry, tfjs WebGL/wasm backends and
 * the audio decoders) and stylesheet for the browser. `npm run build` does it through tsup (dist/web/); tests
 * and `serve` run from a clone (no dist/) call {@link buildWebApp}, which needs the esbuild dev dependency.
 */
import { fileURLToPath } from 'node:url';

/**
 * Files the page ships beside its script: the example recording and the Chinese font subset, copied into the bundle's
 * folder under hashed names (the script and the stylesheet get their paths). tsup.config.ts uses them too.
 */
export const WEB_ASSET_LOADERS = { '.ogg': 'file', '.woff2': 'file' } as const;

/** The entry point of the page's script. */
export const WEB_ENTRY = fileURLToPath(new URL('./app.ts', import.meta.url));

/** Writes app.js, app.css, the codec chunks and the page's files (example, font) into `outdir`. */
export async function buildWebApp(outdir: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: { app: WEB_ENTRY },
    bundle: true,
    format: 'esm',
    splitting: true, // audio-decode loads each codec with import(): one chunk per codec, fetched when needed
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
