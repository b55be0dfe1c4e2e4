/**
 * The web page in headless Chromium (Debian's chromium, driven by playwright-core), served by the real server
 * on 127.0.0.1: upload a file, see the result from the server, then from the model run in the page itself
 * (WebGL in software here), the two equal within 1e-4; download result.json and embedding.npy; a second visit
 * loads the page's model from the Cache API without a network request for it, and in frame mode draws the emotion
 * curve from the page's frame scores (frame_scores.csv equal to the library's within 1e-4). Saves the screenshot
 * of the example recording in frame mode to test-output/webui.png, and to docs/webui.png with
 * UPDATE_DOCS_SCREENSHOT=1 (the page brings its own faces and Chinese font: no system fonts needed).
 *
 * Skipped (with a note) where no Chromium is installed; set CHROMIUM_PATH for another build.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/io/npy.js';
import type { EmotionPrediction } from '../../src/model/emotion2vec.js';
import { labelNames } from '../../src/results/record.js';
import { emojiFor } from '../../src/web/emoji.js';
import { CHROMIUM, HAS_CHROMIUM } from '../browser/chromium.js';
import { fixturePath } from '../support/fixtures.js';
import { loadFile, runExample, servePage, startRun, type ServedPage } from './served-page.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
if (!HAS_CHROMIUM)
  console.warn(`web page tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
// 1.5 s: WebGL runs in software in headless Chromium, where every new page compiles its shaders again.
const AUDIO = fixturePath('audio', 'chirp16k.wav');

let served: ServedPage;
let context: BrowserContext;
let expected: EmotionPrediction;
const pageErrors: string[] = [];

/** What the page shows: the top line, and every bar's label and exact score (data-score). */
async function shownResult(page: Page) {
  return page.evaluate(() => ({
    top: document.getElementById('top-name')!.textContent,
    emoji: document.getElementById('top-face')!.textContent,
    face: document.querySelectorAll('#top-face svg').length,
    meta: document.getElementById('result-meta')!.textContent,
    warnings: Array.from(document.querySelectorAll<HTMLElement>('#warnings li')).map((li) => li.dataset.code),
    bars: Array.from(document.querySelectorAll<HTMLElement>('#score-bars li')).map((li) => ({
      label: li.dataset.label!,
      score: Number(li.dataset.score),
    })),
  }));
}

/** Runs AUDIO in `mode` with the given options, and checks that it went well. */
async function analyse(
  page: Page,
  mode: 'server' | 'page',
  options: { granularity?: 'utterance' | 'frame'; embedding?: boolean } = {},
): Promise<void> {
  await page.check(`input[name="mode"][value="${mode}"]`);
  await page.check(`input[name="granularity"][value="${options.granularity ?? 'utterance'}"]`);
  await page.setChecked('#embedding-switch', options.embedding ?? true);
  await loadFile(page, AUDIO);
  expect(await startRun(page)).toBe('done');
  expect(await page.textContent('#status')).toBe('');
  expect(await page.evaluate(() => document.body.dataset.mode)).toBe(mode);
}

/** The rows of a downloaded CSV, as numbers after the header (empty cells as NaN). */
function csvRows(text: string): number[][] {
  return text
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').map((cell) => (cell === '' ? NaN : Number(cell))));
}

async function openPage(): Promise<Page> {
  const { page, errors } = await served.open(context);
  pageErrors.push(...errors);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

describe.skipIf(!HAS_CHROMIUM)('the web page in Chromium', () => {
  beforeAll(async () => {
    served = await servePage({ withPageModel: true });
    expected = await served.model.predict(AUDIO, { embedding: true });
    context = await served.browser.newContext({ viewport: { width: 1180, height: 760 }, acceptDownloads: true });
  }, 120_000);

  afterAll(() => served?.close());

  it(
    'shows the server result, then the in-page result (WebGL) equal within 1e-4; downloads; screenshot; a second visit uses the Cache API',
    { timeout: 600_000 },
    async () => {
      const page = await openPage();
      // The server's COOP/COEP headers: SharedArrayBuffer is there, so in-page wasm can run tfjs' threaded build.
      expect(await page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer])).toEqual([true, 'function']);
      await analyse(page, 'server');
      const fromServer = await shownResult(page);
      expect(fromServer.bars.map((bar) => bar.label)).toEqual(expected.labels);
      expect(fromServer.bars.map((bar) => bar.score)).toEqual(expected.scores);
      const top = labelNames(expected.top!.label);
      const english = top.en.charAt(0).toUpperCase() + top.en.slice(1);
      expect(fromServer.top).toBe(`${top.zh ? `${top.zh} ` : ''}(${english})`);
      expect(fromServer.emoji).toBe(emojiFor(top.en));
      expect(fromServer.face).toBe(1);
      expect(fromServer.warnings).toEqual(expected.quality.warnings.map((w) => w.code));

      const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
      const record = JSON.parse(readFileSync((await jsonDownload.path())!, 'utf8'));
      expect(jsonDownload.suggestedFilename()).toBe('chirp16k.result.json');
      expect(record.scores.map((s: { score: number }) => s.score)).toEqual(expected.scores);
      const [npyDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-npy')]);
      const npy = decodeNpy(new Uint8Array(readFileSync((await npyDownload.path())!)));
      expect(npy.shape).toEqual(expected.embedding!.shape);
      expect(Array.from(npy.data as Float32Array)).toEqual(Array.from(expected.embedding!.data));

      await analyse(page, 'page');
      const inPage = await shownResult(page);
      expect(inPage.meta).toContain('this page (webgl)');
      expect(inPage.bars.map((bar) => bar.label)).toEqual(expected.labels);
      const diff = Math.max(...inPage.bars.map((bar, i) => Math.abs(bar.score - fromServer.bars[i]!.score)));
      console.info(`web page: in-page (webgl) vs server (wasm) scores max |diff| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(1e-4);
      expect(inPage.top).toBe(fromServer.top);
      const [pageNpy] = await Promise.all([page.waitForEvent('download'), page.click('#download-npy')]);
      const pageEmbedding = decodeNpy(new Uint8Array(readFileSync((await pageNpy.path())!)));
      const embeddingDiff = Math.max(
        ...Array.from(pageEmbedding.data as Float32Array, (v, i) => Math.abs(v - expected.embedding!.data[i]!)),
      );
      expect(embeddingDiff).toBeLessThanOrEqual(1e-4);

      await page.close();

      // A second visit: the page's model comes from the Cache API, with no request for /model/. In frame mode the
      // page draws the emotion curve from its own frame scores and offers them as frame_scores.csv.
      const again = await openPage();
      const modelRequests: string[] = [];
      again.on('request', (request) => {
        if (new URL(request.url()).pathname.startsWith('/model/')) modelRequests.push(request.url());
      });
      await analyse(again, 'page', { granularity: 'frame' });
      expect(modelRequests).toEqual([]);
      expect((await shownResult(again)).bars).toEqual(inPage.bars);
      expect(await again.evaluate(() => document.getElementById('curve-panel')!.dataset.source)).toBe('frames');
      const [framesCsv] = await Promise.all([again.waitForEvent('download'), again.click('#download-frames')]);
      expect(framesCsv.suggestedFilename()).toBe('chirp16k.frame_scores.csv');
      const rows = csvRows(readFileSync((await framesCsv.path())!, 'utf8'));
      const library = (await served.model.predict(AUDIO, { frameScores: true })).frameScores!;
      expect(rows).toHaveLength(library.shape[0]);
      const frameDiff = Math.max(
        ...rows.flatMap((row, t) => row.slice(2).map((v, l) => Math.abs(v - library.data[t * library.shape[1] + l]!))),
      );
      console.info(`web page: in-page frame scores vs the library's max |diff| ${frameDiff.toExponential(2)}`);
      expect(frameDiff).toBeLessThanOrEqual(1e-4);

      // The example recording in frame mode, for the screenshot.
      expect(await runExample(again)).toBe('done');
      expect(await again.textContent('#file-name')).toBe('example.ogg');
      const screenshot = await again.screenshot({ fullPage: true });
      mkdirSync(join(REPO, 'test-output'), { recursive: true });
      writeFileSync(join(REPO, 'test-output/webui.png'), screenshot);
      // The committed copy changes only on request.
      if (process.env.UPDATE_DOCS_SCREENSHOT === '1') writeFileSync(join(REPO, 'docs/webui.png'), screenshot);
      await again.close();
      expect(pageErrors).toEqual([]);
    },
  );

  it('shows a bad upload as an error and keeps working', async () => {
    const page = await openPage();
    await loadFile(page, {
      name: 'picture.png',
      mimeType: 'image/png',
      buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
    });
    expect(await startRun(page)).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^AUDIO_UNSUPPORTED_FORMAT: /);
    await analyse(page, 'server');
    await page.close();
  });
});
