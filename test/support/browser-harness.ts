/**
 * Headless Chromium for browser tests: bundles a page script with esbuild (through the library's browser entry
 * point), serves it with the repository and any extra folders from 127.0.0.1 on a free port, and runs the
 * page's `scenarios` by name. Set CHROMIUM_PATH for another Chromium; `HAS_CHROMIUM` says whether one is there.
 */
import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import sirv from 'sirv';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Chromium's flags for the tests: headless, software WebGL2 (--disable-gpu), no network of its own. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

/**
 * Added to CHROMIUM_FLAGS for WebGPU: Debian's Chromium then offers a software adapter (SwiftShader on Vulkan) in
 * headless mode, on pages from https or http://127.0.0.1 (a secure context). It proves correctness, not GPU speed.
 */
export const WEBGPU_FLAGS: readonly string[] = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** The page's `scenarios` object: async functions taking and returning plain JSON. */
type ScenarioMap = Record<string, (...args: never[]) => Promise<unknown>>;

export interface BrowserHarness<S extends ScenarioMap> {
  /** Runs one scenario in the page. */
  run<K extends keyof S & string>(name: K, ...args: Parameters<S[K]>): Promise<Awaited<ReturnType<S[K]>>>;
  /** Uncaught errors the page raised. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/**
 * Starts Chromium on a page running `entry` (a .ts file that sets `globalThis.scenarios`). `folders` maps URL
 * prefixes ('/head/') to local folders; everything else is served from the repository root. `chromiumFlags`
 * replaces CHROMIUM_FLAGS (e.g. without --disable-gpu, for a benchmark on a real GPU). `crossOriginIsolated` sends
 * the COOP/COEP headers that make the page cross-origin isolated (SharedArrayBuffer: tfjs' threaded wasm build).
 */
export async function startBrowserHarness<S extends ScenarioMap>(
  entry: string,
  folders: Record<string, string> = {},
  chromiumFlags: readonly string[] = CHROMIUM_FLAGS,
  crossOriginIsolated = false,
): Promise<BrowserHarness<S>> {
  const bundleDir = mkdtempSync(join(tmpdir(), 'e2v-page-'));
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      splitting: true, // audio-decode loads each codec with import(): one chunk per codec
      platform: 'browser',
      target: 'es2022',
      outdir: bundleDir,
      // audio-decode names an APE decoder that is not published; bundlers must leave that import alone.
      external: ['@audio/decode-ape'],
      logLevel: 'error',
    });
    const pageName = `${entry.split('/').pop()!.replace(/\.ts$/, '')}.js`;
    writeFileSync(
      join(bundleDir, 'page.html'),
      `<!doctype html><meta charset="utf-8"><script type="module" src="/bundle/${pageName}"></script>`,
    );
    const mounts = [['/bundle/', bundleDir], ...Object.entries(folders)].map(([prefix, dir]) => ({
      prefix: prefix!,
      serve: sirv(dir!, { dev: true }),
    }));
    const repo = sirv(REPO, { dev: true });
    server = createServer((req, res) => {
      if (crossOriginIsolated) {
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      }
      const notFound = () => void res.writeHead(404).end();
      const mount = mounts.find(({ prefix }) => req.url?.startsWith(prefix));
      if (!mount) return repo(req, res, notFound);
      req.url = req.url!.slice(mount.prefix.length - 1);
      return mount.serve(req, res, notFound);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...chromiumFlags] });
    const page: Page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${origin}/bundle/page.html`);
    await page.waitForFunction(() => 'scenarios' in globalThis);
    const openedServer = server;
    const openedBrowser = browser;
    return {
      pageErrors,
      run: async (name, ...args) =>
        (await page.evaluate(
          ([scenario, scenarioArgs]) =>
            (globalThis as unknown as { scenarios: Record<string, (...a: unknown[]) => unknown> }).scenarios[scenario]!(
              ...scenarioArgs,
            ),
          [name, args] as [string, unknown[]],
        )) as never,
      close: async () => {
        await openedBrowser.close();
        await new Promise((resolve) => openedServer.close(resolve));
        rmSync(bundleDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await browser?.close();
    server?.close();
    rmSync(bundleDir, { recursive: true, force: true });
    throw error;
  }
}
