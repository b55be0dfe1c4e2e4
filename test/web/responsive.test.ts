/**
 * The page stays responsive while its own model runs (headless Chromium, the tiny model): the page's model lives in a
 * Web Worker, so a timer on the page keeps ticking through the model's load and a 60 s prediction ("in this page", on
 * the wasm backend chosen in the page's backend menu), and the result equals the library's for the same file. The
 * check can fail: with the model on the page's main thread, the timer stalls for seconds at a time.
 * Skipped (with a note) where no Chromium is installed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, encodeFloatWav } from '../../src/audio/wav.js';
import { CHROMIUM, HAS_CHROMIUM } from '../browser/chromium.js';
import { fixturePath } from '../support/fixtures.js';
import { loadFile, servePage, startRun, type ServedPage } from './served-page.js';

if (!HAS_CHROMIUM) console.warn(`page responsiveness test skipped: no Chromium at ${CHROMIUM}`);

/** The longest the page's timer may stall: far below a prediction's time, far above a loaded machine's jitter. */
const LONGEST_GAP_MS = 250;

/** test/fixtures/long/phrases.wav (three phrases between pauses) repeated to 60 s, as a WAV file. */
function sixtySecondWav(): Uint8Array {
  const phrases = decodeWav(new Uint8Array(readFileSync(fixturePath('long', 'phrases.wav')))).channels[0]!;
  const long = new Float32Array(60 * 16_000);
  for (let at = 0; at < long.length; at += phrases.length) long.set(phrases.subarray(0, long.length - at), at);
  return encodeFloatWav(long, 16_000);
}

describe.skipIf(!HAS_CHROMIUM)('the page while its own model runs', () => {
  let served: ServedPage;
  beforeAll(async () => {
    served = await servePage({ withPageModel: true });
  }, 120_000);
  afterAll(() => served?.close());

  it('keeps its timer ticking through the load and a 60 s prediction in the page, and gives the library result', async () => {
    const wav = sixtySecondWav();
    const expected = await served.model.predict(wav.slice(), { timeline: true });
    const { page, errors } = await served.open();
    await page.check('input[name="mode"][value="page"]');
    await page.selectOption('#backend-select', 'wasm');
    await loadFile(page, { name: 'sixty.wav', mimeType: 'audio/wav', buffer: Buffer.from(wav) });
    expect(await page.textContent('#file-facts')).toMatch(/ · 60\.00 s$/);

    // A 10 ms timer on the page, from before Start until the result is shown.
    await page.evaluate(() => {
      const ticks: number[] = [performance.now()];
      (window as unknown as { ticks: number[] }).ticks = ticks;
      (window as unknown as { timer: number }).timer = window.setInterval(() => ticks.push(performance.now()), 10);
    });
    expect(await startRun(page)).toBe('done');
    const { gaps, count, ms } = await page.evaluate(() => {
      const { ticks, timer } = window as unknown as { ticks: number[]; timer: number };
      clearInterval(timer);
      ticks.push(performance.now());
      const between = ticks.slice(1).map((t, i) => t - ticks[i]!);
      return { gaps: between.sort((a, b) => b - a).slice(0, 3), count: ticks.length, ms: ticks.at(-1)! - ticks[0]! };
    });
    const log = await page.$$eval('#log li', (items) => items.map((item) => item.textContent!));
    console.info(
      `page timer through a ${(ms / 1000).toFixed(1)} s in-page run (load and 60 s of audio): ${count} ticks, ` +
        `longest gaps ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms\n  ${log.join('\n  ')}`,
    );
    // The run finished on the backend chosen, in the page's worker, and took long enough to freeze a page.
    expect(await page.textContent('#result-meta')).toContain('this page (wasm)');
    expect(await page.getAttribute('#page-backend', 'data-backend')).toBe('wasm');
    expect(log.find((line) => line.includes('分析 analysis'))).toMatch(/ s on wasm$/);
    expect(ms).toBeGreaterThan(1000);
    expect(gaps[0]).toBeLessThan(LONGEST_GAP_MS);

    const bars = await page.$$eval('#score-bars li', (items) =>
      items.map((li) => ({
        label: (li as HTMLElement).dataset.label!,
        score: Number((li as HTMLElement).dataset.score),
      })),
    );
    expect(bars.map((bar) => bar.label)).toEqual(expected.labels);
    const diff = Math.max(...bars.map((bar, i) => Math.abs(bar.score - expected.scores[i]!)));
    console.info(`in-page (worker, wasm) vs the library (Node, wasm): scores max |diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
