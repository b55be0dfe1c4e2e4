/**
 * Recording from the microphone in the page: Chromium's fake capture device (a beep) stands in for a
 * microphone; the page records with MediaRecorder, sends the recording to the server and shows the result.
 * Skipped (with a note) where no Chromium is installed.
 */
import '../../src/node.js';
import type { FastifyInstance } from 'fastify';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { createServer } from '../../src/server/app.js';
import { buildWebApp } from '../../src/web/build.js';
import { fixturePath } from '../support/fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`recording test skipped: no Chromium at ${CHROMIUM}`);

let model: Emotion2Vec;
let webRoot = '';
let app: FastifyInstance;
let browser: Browser;

describe.skipIf(!HAS_CHROMIUM)('recording from the microphone', () => {
  beforeAll(async () => {
    model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    webRoot = mkdtempSync(join(tmpdir(), 'e2v-web-'));
    await buildWebApp(webRoot);
    app = await createServer({ model, modelId: 'tiny', webRoot });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    model?.dispose();
    if (webRoot) rmSync(webRoot, { recursive: true, force: true });
  });

  it('records, stops, and shows the server result of the recording', async () => {
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    await page.click('#record-button');
    await page.waitForFunction(() => document.getElementById('record-button')!.textContent!.includes('Stop'));
    await page.waitForTimeout(2000);
    await page.click('#record-button');
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', undefined, { timeout: 60_000 });
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
