/**
 * The page as `emotion2vec serve` serves it, for the Chromium tests in this folder: the tiny model on wasm behind
 * the real server on 127.0.0.1, the page script built as `npm run build` builds it, optionally the page's own
 * model, and one headless Chromium (test/browser/chromium.ts).
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { createServer } from '../../src/server/app.js';
import { preparePageModel, type PageModel } from '../../src/server/page-model.js';
import { buildWebApp } from '../../src/web/build.js';
import { launchChromium } from '../browser/chromium.js';
import { fixturePath } from '../support/fixtures.js';

export interface ServedPage {
  /** The server's model (tiny, wasm). */
  readonly model: Emotion2Vec;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly browser: Browser;
  /**
   * A new tab (in `context`, else the browser's default) on `/`, once the page says it is ready; page errors go to
   * `errors`.
   */
  open(context?: BrowserContext): Promise<{ page: Page; errors: string[] }>;
  /** Closes Chromium and the server, frees the models and removes the built page. */
  close(): Promise<void>;
}

export async function servePage(
  options: { withPageModel?: boolean; chromiumArgs?: readonly string[] } = {},
): Promise<ServedPage> {
  const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
  let pageModel: PageModel | undefined;
  let webRoot = '';
  let app: FastifyInstance | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await pageModel?.dispose();
    model.dispose();
    if (webRoot) rmSync(webRoot, { recursive: true, force: true });
  };
  try {
    if (options.withPageModel) pageModel = await preparePageModel(fixturePath('tiny'));
    webRoot = mkdtempSync(join(tmpdir(), 'e2v-web-'));
    await buildWebApp(webRoot);
    app = await createServer({
      model,
      modelId: 'emotion2vec tiny (test fixture)',
      webRoot,
      ...(pageModel ? { pageModel } : {}),
    });
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium(options.chromiumArgs);
    const opened = browser;
    return {
      model,
      origin,
      browser: opened,
      async open(context) {
        const page = await (context ?? opened).newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => document.body.dataset.state === 'ready');
        return { page, errors };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Puts `files` in the page's file picker and waits until the page has read the file (Start is then enabled). */
export async function loadFile(page: Page, files: Parameters<Page['setInputFiles']>[1]): Promise<void> {
  await page.evaluate(() => (document.body.dataset.state = 'ready'));
  await page.setInputFiles('#file-input', files);
  await page.waitForFunction(() => document.body.dataset.state === 'loaded');
}

/** Presses Start and waits for the run to end; resolves to the page's state then ('done' or 'error'). */
export async function startRun(page: Page, timeout = 300_000): Promise<string> {
  await page.click('#start-button');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, {
    timeout,
  });
  return page.evaluate(() => document.body.dataset.state!);
}

/** Presses "Load example audio" (it loads and runs the bundled recording) and waits for the run to end. */
export async function runExample(page: Page, timeout = 300_000): Promise<string> {
  await page.evaluate(() => (document.body.dataset.state = 'ready'));
  await page.click('#example-button');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, {
    timeout,
  });
  return page.evaluate(() => document.body.dataset.state!);
}
