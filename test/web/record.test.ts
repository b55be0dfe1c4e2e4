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
      chromiumArgs: [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  }, 120_000);
  afterAll(() => served?.close());

  it('records, stops, and shows the server result of the recording', async () => {
    // The microphone stream the page records is also measured here, so the test stops once 1.5 s of audio has
    // flowed (an event from the capture path), not after a fixed wait that a loaded machine may not honour.
    const context = await served.browser.newContext();
    await context.addInitScript(() => {
      const state = window as unknown as { capturedSeconds: number };
      state.capturedSeconds = 0;
      const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (constraints) => {
        const stream = await getUserMedia(constraints);
        const audio = new AudioContext();
        const meter = audio.createScriptProcessor(4096, 1, 1);
        meter.onaudioprocess = (event) => (state.capturedSeconds += event.inputBuffer.duration);
        audio.createMediaStreamSource(stream).connect(meter);
        meter.connect(audio.destination);
        return stream;
      };
    });
    const { page, errors } = await served.open(context);
    await page.click('#record-button');
    await page.waitForFunction(() => document.getElementById('record-button')!.textContent!.includes('Stop'));
    await page.waitForFunction(
      () => (window as unknown as { capturedSeconds: number }).capturedSeconds >= 1.5,
      undefined,
      {
        timeout: 30_000,
      },
    );
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
    await context.close();
  });
});
