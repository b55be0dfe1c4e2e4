/**
 * Recording from the microphone in the page: Chromium's fake capture device (a beep) stands in for a
 * microphone; the page records with MediaRecorder, sends the recording to the server and shows the result.
 * Skipped (with a note) where no Chromium is installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAS_CHROMIUM } from '../browser/chromium.js';
import { servePage, type ServedPage } from './served-page.js';

if (!HAS_CHROMIUM) console.warn(`recording test skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!HAS_CHROMIUM)('recording from the microphone', () => {
  let served: ServedPage;
  beforeAll(async () => {
    served = await servePage({
      chromiumArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
    });
  }, 120_000);
  afterAll(() => served?.close());

  it('records, stops, and shows the server result of the recording', async () => {
    const { page, errors } = await served.open();
    await page.click('#record-button');
    await page.waitForFunction(() => document.getElementById('record-button')!.textContent!.includes('Stop'));
    await page.waitForTimeout(2000);
    await page.click('#record-button');
    await page.waitForFunction(
      () => document.body.dataset.state === 'done' || document.body.dataset.state === 'error',
      undefined,
      { timeout: 60_000 },
    );
    const shown = await page.evaluate(() => ({
      state: document.body.dataset.state,
      status: document.getElementById('status')!.textContent,
      meta: document.getElementById('result-meta')!.textContent,
      bars: document.querySelectorAll('#score-bars li').length,
    }));
    expect(shown).toMatchObject({ state: 'done', status: '', bars: 9 });
    expect(shown.meta).toMatch(/^recording\.(webm|ogg|m4a) · \d+\.\d\d s · server/);
    expect(errors).toEqual([]);
  });
});
